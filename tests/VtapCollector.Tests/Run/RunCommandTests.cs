using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Run;

/// <summary>
/// <c>vtap-collector run</c> as a real daemon on loopback, fed by <c>vtap-collector send</c>: the
/// records must be tshark's flows (packets and bytes per direction) of the capture that was sent,
/// SIGTERM must end every flow as a record and exit 0, the metrics must count exactly what was sent,
/// the allow-list must keep other sources and VNIs out (and a reload must change it), and wrong
/// configuration must stop the start with one sentence.
/// </summary>
[Collection(DaemonTests.Name)]
public class RunCommandTests(OracleCaptures captures) : IClassFixture<OracleCaptures>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    internal static string Config(string extraSections = "", string allowList = "", int workers = 2, int sockets = 2) => $$"""
        {
          "Sources": { "Udp": { "Listen": [ "127.0.0.1:{udp}" ], "Sockets": {{sockets}}, "ReceiveBufferBytes": 8388608 } },
          "AllowList": { {{allowList}} },
          "Pipeline": { "Workers": {{workers}} },
          "Flows": { "Capacity": 65536 },
          "Sinks": { "Stdout": { "Enabled": true } {{extraSections}} },
          "Metrics": { "Listen": "127.0.0.1:{metrics}" }
        }
        """;

    [Fact]
    public void Sample_sent_over_udp_gives_tsharks_flows_and_sigterm_ends_them_all()
    {
        var capture = captures.Sample;
        using var daemon = DaemonProcess.Start(Config());

        SendAndWait(daemon, capture.Path, TunnelDatagrams(capture.Path).Datagrams);
        var exit = daemon.Terminate(Wait);

        Assert.True(exit == 0, $"exit code {exit}\n{daemon.Logs}");
        var run = daemon.ParseRecords();
        FlowComparison.AssertSameFlows(capture.Oracle, run, capture.Name + " (live, over UDP)");
        Assert.All(run.FlowsById.Values, flow => Assert.Equal("end", flow.LastRecord.GetProperty("type").GetString()));
        Assert.Contains(run.FlowsById.Values, flow => flow.LastRecord.GetProperty("end_reason").GetString() == "shutdown");
        Assert.Contains("Stopped: every record was handed to the sinks", daemon.Logs);
    }

    [Fact]
    public void Hundreds_of_flows_are_all_emitted_at_sigterm_none_lost()
    {
        var capture = captures.Vxlan;
        using var daemon = DaemonProcess.Start(Config(workers: 2, sockets: 2));

        SendAndWait(daemon, capture.Path, TunnelDatagrams(capture.Path).Datagrams);
        var exit = daemon.Terminate(Wait);

        Assert.True(exit == 0, $"exit code {exit}\n{daemon.Logs}");
        var run = daemon.ParseRecords();
        Assert.True(capture.Oracle.Flows.Count >= 100, $"the generated capture has only {capture.Oracle.Flows.Count} flows");
        FlowComparison.AssertSameFlows(capture.Oracle, run, capture.Name + " (live, over UDP)");
    }

    [Fact]
    public void Metrics_count_exactly_what_was_sent_and_pass_promtool()
    {
        var capture = captures.Sample;
        var (datagrams, payloadBytes) = TunnelDatagrams(capture.Path);
        var vni = capture.Oracle.Flows.Keys.Select(key => key.Vni).Distinct().Single();
        var flows = capture.Oracle.Flows.Count;

        // One-second timeouts: every flow ends on its own soon after the traffic, so the record
        // counters can be checked while the daemon still runs.
        using var daemon = DaemonProcess.Start(Config().Replace(
            "\"Capacity\": 65536", "\"Capacity\": 65536, \"ActiveTimeoutSeconds\": 1, \"IdleTimeoutSeconds\": 1, \"TcpIdleTimeoutSeconds\": 1, \"TcpClosingTimeoutSeconds\": 0", StringComparison.Ordinal));
        SendAndWait(daemon, capture.Path, datagrams);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Metric("vtap_flows_created_total") == flows && daemon.Metric("vtap_flows_active") == 0, Wait), daemon.Get("/metrics").Body);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Records.Count == daemon.Metric("vtap_records_total{sink=\"stdout\",type=\"end\"}") + daemon.Metric("vtap_records_total{sink=\"stdout\",type=\"update\"}"), Wait));
        var text = daemon.Get("/metrics").Body;

        Assert.Equal(datagrams, daemon.Metric("vtap_received_packets_total{source=\"udp\"}"));
        Assert.Equal(payloadBytes, daemon.Metric("vtap_received_bytes_total{source=\"udp\"}"));
        Assert.Equal(0, daemon.Metric("vtap_kernel_drops_total{source=\"udp\"}"));
        Assert.Equal(0, daemon.Metric("vtap_dispatch_dropped_packets_total"));
        Assert.Equal(0, daemon.Metric("vtap_record_queue_dropped_total"));
        Assert.Equal(0, daemon.Metric("vtap_sink_records_dropped_total{sink=\"stdout\"}"));
        Assert.Equal(2, daemon.Metric("vtap_workers"));
        Assert.Equal(65536, daemon.Metric("vtap_flow_table_capacity"));
        Assert.Equal(flows, daemon.Metric("vtap_records_total{sink=\"stdout\",type=\"end\"}"));
        Assert.Equal(capture.Oracle.FramesWithInnerIp, daemon.Metric($"vtap_vni_packets_total{{vni=\"{vni}\"}}"));
        Assert.Equal(capture.Oracle.Packets.Sum(p => (double)p.IpBytes), daemon.Metric($"vtap_vni_bytes_total{{vni=\"{vni}\"}}"));
        Assert.Equal(datagrams, daemon.Metric("vtap_tunnel_source_packets_total{tunnel_source=\"127.0.0.1\"}"));
        Assert.Equal(datagrams - capture.Oracle.FramesWithInnerIp, daemon.Metric("vtap_rejected_packets_total{reason=\"arp\"}"));
        Assert.Equal(0, daemon.Metric("vtap_rejected_packets_total{reason=\"source_not_allowed\"}"));
        Assert.Equal(1, daemon.Metric("vtap_sink_healthy{sink=\"stdout\"}"));
        Assert.Contains("vtap_build_info{version=\"", text);
        Assert.Equal(HttpStatusCode.OK, daemon.Get("/readyz").Status);
        Assert.Equal(HttpStatusCode.OK, daemon.Get("/healthz").Status);

        var promtool = Promtool.CheckMetrics(text);
        Assert.True(promtool.ExitCode == 0, $"promtool check metrics failed:\n{promtool.StandardOutput}{promtool.StandardError}\n--- scraped ---\n{text}");
        Assert.Equal(0, daemon.Terminate(Wait));
        FlowComparison.AssertSameFlows(capture.Oracle, daemon.ParseRecords(), capture.Name + " (live, idle timeouts)");
    }

    [Fact]
    public void Source_allow_list_drops_other_senders_and_a_sighup_reload_admits_them()
    {
        var capture = captures.Sample;
        var datagrams = TunnelDatagrams(capture.Path).Datagrams;
        using var daemon = DaemonProcess.Start(Config(allowList: "\"SourceCidrs\": [ \"192.0.2.0/24\" ]"));

        SendOnce(daemon, capture.Path);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Metric("vtap_rejected_packets_total{reason=\"source_not_allowed\"}") == datagrams, Wait), daemon.Get("/metrics").Body);
        Assert.Equal(0, daemon.Metric("vtap_flows_created_total"));

        File.WriteAllText(daemon.ConfigPath, File.ReadAllText(daemon.ConfigPath).Replace("192.0.2.0/24", "127.0.0.0/8", StringComparison.Ordinal));
        daemon.Signal(DaemonProcess.SigHup);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Metric("vtap_config_reloads_total{result=\"success\"}") >= 1, Wait), daemon.Logs);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Logs.Contains("Configuration reloaded: allow-list now 127.0.0.0/8; any VNI; networks now none.", StringComparison.Ordinal), Wait), daemon.Logs);

        SendAndWait(daemon, capture.Path, 2 * datagrams);
        Assert.Equal(0, daemon.Terminate(Wait));
        FlowComparison.AssertSameFlows(capture.Oracle, daemon.ParseRecords(), capture.Name + " (after the reload)");
        Assert.False(daemon.HasExited && daemon.Logs.Contains("Unhandled", StringComparison.Ordinal), daemon.Logs);
    }

    [Fact]
    public void Vni_allow_list_drops_other_vnis_and_counts_them()
    {
        var capture = captures.Sample;
        using var daemon = DaemonProcess.Start(Config(allowList: "\"Vnis\": [ 999 ]"));

        SendAndWait(daemon, capture.Path, TunnelDatagrams(capture.Path).Datagrams);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Metric("vtap_rejected_packets_total{reason=\"vni_not_allowed\"}") == capture.Oracle.FramesWithInnerIp, Wait), daemon.Get("/metrics").Body);

        Assert.Equal(0, daemon.Terminate(Wait));
        Assert.Empty(daemon.Records);
    }

    [Fact]
    public void Bad_reload_keeps_the_previous_allow_list_and_counts_a_failure()
    {
        using var daemon = DaemonProcess.Start(Config(allowList: "\"SourceCidrs\": [ \"127.0.0.0/8\" ]"));

        File.WriteAllText(daemon.ConfigPath, File.ReadAllText(daemon.ConfigPath).Replace("127.0.0.0/8", "127.0.0.0/99", StringComparison.Ordinal));
        daemon.Signal(DaemonProcess.SigHup);

        Assert.True(DaemonProcess.WaitFor(() => daemon.Metric("vtap_config_reloads_total{result=\"failure\"}") >= 1, Wait), daemon.Logs);
        Assert.Contains("Configuration reload rejected, the previous settings stay in force: AllowList:SourceCidrs entry '127.0.0.0/99' is not a CIDR", daemon.Logs);
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    public static TheoryData<string, string> BadConfigurations => new()
    {
        { "\"AllowList\": { \"SourceCidrs\": [ \"10.0.0.0/33\" ] }", "AllowList:SourceCidrs entry '10.0.0.0/33' is not a CIDR (examples: 10.1.0.0/16, 10.1.2.3, fd00::/8)." },
        { "\"AllowList\": { \"Vnis\": [ 16777216 ] }", "AllowList:Vnis entry 16777216 is not a VNI (VNIs are 24-bit: 0 to 16777215)." },
        { "\"Sources\": { \"Udp\": { \"Listen\": [ \"0.0.0.0\" ] } }", "Sources:Udp:Listen entry '0.0.0.0' is not ADDRESS:PORT (examples: 0.0.0.0:4789, [::]:4789)." },
        { "\"Sources\": { \"Udp\": { \"Listen\": [ \"1.2.3:4789\" ] } }", "Sources:Udp:Listen entry '1.2.3:4789' is not ADDRESS:PORT (examples: 0.0.0.0:4789, [::]:4789)." },
        { "\"Sources\": { \"Udp\": { \"Lisen\": [ \"0.0.0.0:4789\" ] } }", "Unknown configuration key 'Sources:Udp:Lisen'; the keys under Sources:Udp are Enabled, Listen, Sockets, ReceiveBufferBytes, BatchSize, MaxDatagramBytes." },
        { "\"Sources\": { \"Dpdk\": { \"Enabled\": true } }", "Unknown configuration key 'Sources:Dpdk'; the keys under Sources are Udp, AfPacket, Pcap, Gre, Xdp." },
        { "\"Sorces\": { \"Udp\": 1 }", "Unknown configuration section 'Sorces'; the sections are Sources, AllowList, Networks, Decoder, Flows, Pipeline, Sinks, Metrics, Dedup, Capture, Logging." },
        { "\"Kafka\": { \"Enabled\": true }", "Unknown configuration section 'Kafka'; the sections are Sources, AllowList, Networks, Decoder, Flows, Pipeline, Sinks, Metrics, Dedup, Capture, Logging." },
        { "\"Pipeline\": { \"DispatchOverflow\": \"Sometimes\" }", "Pipeline:DispatchOverflow 'Sometimes' is not one of Block, DropNewest." },
        { "\"Pipeline\": { \"Workers\": \"many\" }", "Pipeline:Workers 'many' is not a whole number." },
        { "\"Pipeline\": { \"DispatchQueueCapacity\": 1000 }", "Pipeline:DispatchQueueCapacity must be a power of two between 64 and 16777216 (was 1000)." },
        { "\"Sinks\": { \"Stdout\": { \"Format\": \"xml\" } }", "Sinks:Stdout:Format 'xml' is not a record format; use one of: vtap, ecs, ocsf, azure-flowtuple." },
        { "\"Sinks\": { \"Ipfix\": { \"Enabled\": true } }", "Sinks:Ipfix:Collectors needs at least one collector, udp://HOST:PORT or tcp://HOST:PORT." },
        { "\"Sinks\": { \"Ipfix\": { \"Enabled\": true, \"Collectors\": [ \"udp://1.2.3:4739\" ] } }", "Sinks:Ipfix:Collectors: 'udp://1.2.3:4739' has a host that is neither an IPv4 address in four parts, an IPv6 address in brackets nor a host name." },
        { "\"Sinks\": { \"Ipfix\": { \"Enabled\": true, \"Collectors\": [ \"udp://127.0.0.1:4739\" ], \"MaxMessageBytes\": 100 } }", "Sinks:Ipfix:MaxMessageBytes must be from" },
        { "\"Metrics\": { \"Listen\": \"localhost\" }", "Metrics:Listen 'localhost' is not ADDRESS:PORT (example: 127.0.0.1:9464)." },
        { "\"Sources\": { \"AfPacket\": { \"Enabled\": true } }", "Sources:AfPacket:Interface must name the network interface to capture on (for example eth1)." },
        { "\"Sources\": { \"Gre\": { \"Enabled\": true, \"Listen\": [ \"10.1.2\" ] } }", "Sources:Gre:Listen entry '10.1.2' is not an IP address (examples: 0.0.0.0, ::, 10.1.2.3)." },
        { "\"Sources\": { \"Gre\": { \"Enabled\": true, \"BatchSize\": 0 } }", "Sources:Gre:BatchSize must be between 1 and 1024 (was 0)." },
        { "\"Sources\": { \"Gre\": { \"Enabled\": true } }, \"Decoder\": { \"Gre\": false }", "Sources:Gre:Enabled needs Decoder:Gre; set Decoder:Gre to true or disable the GRE source." },
        { "\"Dedup\": { \"Enabled\": true, \"WindowMicroseconds\": 0 }", "Dedup:WindowMicroseconds must be between 1 and 1000000 (was 0)." },
        { "\"Dedup\": { \"TableEntries\": 1000 }", "Dedup:TableEntries must be a power of two between 4 and 67108864 (was 1000)." },
        { "\"Dedup\": { \"VniGroups\": [ [ 4242, 4243 ], [ 4243, 7 ] ] }", "Dedup:VniGroups: VNI 4243 is in more than one group (or twice in one); a VNI belongs to one group." },
        { "\"Dedup\": { \"VniGroups\": [ 4242, 4243 ] }", "Dedup:VniGroups:0 is a list: write it as a JSON array, or as Dedup:VniGroups:0:0, Dedup:VniGroups:0:1, ... ." },
        { "\"Sources\": { \"Xdp\": { \"Enabled\": true } }", "Sources:Xdp:Interface must name the network interface to receive on (for example eth1)." },
        { "\"Sources\": { \"Xdp\": { \"Enabled\": true, \"Interface\": \"eth1\", \"RingSize\": 1000 } }", "Sources:Xdp: RingSize must be a power of two from 64 to 32768 (was 1000)." },
        { "\"Sources\": { \"Xdp\": { \"AttachMode\": \"Fast\" } }", "Sources:Xdp:AttachMode 'Fast' is not one of Auto, Native, Generic." },
    };

    [Theory]
    [MemberData(nameof(BadConfigurations))]
    public void Invalid_configuration_exits_1_with_one_sentence_naming_the_key(string section, string expected)
    {
        // Everything else valid: a sink is enabled unless the case is about sinks.
        var sinks = section.StartsWith("\"Sinks\"", StringComparison.Ordinal) ? "" : "\"Sinks\": { \"Stdout\": { \"Enabled\": true } }, ";
        var result = ExternalTools.Run(
            ExternalTools.DotnetHost,
            [ExternalTools.CollectorDll, "run", "--config", WriteConfig($"{{ {sinks}{section} }}")],
            Wait,
            environment: new Dictionary<string, string> { ["VTAP_SYSTEM_CONFIG"] = "/nonexistent/vtap-collector.json" });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.StandardError, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
        Assert.DoesNotContain("VtapCollector.", result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// A burst sent the moment <c>/readyz</c> answers, into one worker, is carried like the steady state:
    /// the packet path was compiled by the warm-up before the sources started. (Without the warm-up, 5 of
    /// 30 such runs on the 2-core test machine dropped 2 070 to 3 616 of 20 000 datagrams.)
    /// </summary>
    [Fact]
    public void First_burst_after_ready_is_carried_without_drops()
    {
        var capture = captures.Sample;
        var perLoop = TunnelDatagrams(capture.Path).Datagrams;
        var loops = (20_000 / perLoop) + 1;
        using var daemon = DaemonProcess.Start(Config(workers: 1));
        Assert.True(DaemonProcess.WaitFor(() => daemon.Logs.Contains("warmed up with synthetic traffic", StringComparison.Ordinal), Wait), daemon.Logs);

        var send = ExternalTools.RunCollector(["send", capture.Path, "--to", $"127.0.0.1:{daemon.UdpPort}", "--loop", $"{loops}", "--quiet"]);
        Assert.True(send.ExitCode == 0, send.StandardError);
        Assert.True(
            DaemonProcess.WaitFor(() => daemon.Metric("vtap_received_packets_total{source=\"udp\"}") >= (long)perLoop * loops && daemon.Metric("vtap_queue_depth{queue=\"dispatch\"}") == 0, Wait),
            daemon.Get("/metrics").Body);
        Assert.Equal(0, daemon.Metric("vtap_dispatch_dropped_packets_total"));
        Assert.Equal(0, daemon.Metric("vtap_kernel_drops_total{source=\"udp\"}"));
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    [Fact]
    public void No_sink_configured_writes_the_records_to_stdout()
    {
        var capture = captures.Sample;
        using var daemon = DaemonProcess.Start(Config().Replace("\"Stdout\": { \"Enabled\": true }", "", StringComparison.Ordinal));

        SendAndWait(daemon, capture.Path, TunnelDatagrams(capture.Path).Datagrams);
        Assert.Equal(0, daemon.Terminate(Wait));
        FlowComparison.AssertSameFlows(capture.Oracle, daemon.ParseRecords(), capture.Name + " (no sink configured: stdout)");
    }

    [Fact]
    public void Udp_port_in_use_exits_1_naming_the_port()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;

        using var daemon = DaemonProcess.Start(Config().Replace("{udp}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), waitUntilListening: false);
        var exit = daemon.WaitForExit(Wait);

        Assert.Equal(1, exit);
        Assert.Equal(
            $"vtap-collector: UDP port {port} on 127.0.0.1 is already in use by another process (or by a socket that did not set SO_REUSEPORT); stop it or choose another port.",
            daemon.Logs.Trim());
    }

    [Fact]
    public void Metrics_port_in_use_exits_1_naming_metrics_listen()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        using var daemon = DaemonProcess.Start(Config().Replace("{metrics}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), waitUntilListening: false);
        var exit = daemon.WaitForExit(Wait);

        Assert.Equal(1, exit);
        Assert.Contains($"Cannot serve metrics on 127.0.0.1:{port}: the address is already in use; set Metrics:Listen", daemon.Logs);
    }

    [Fact]
    public void Command_line_setting_overrides_the_file()
    {
        var metricsPort = DaemonProcess.FreeTcpPort();
        using var daemon = DaemonProcess.Start(Config(), extraArguments: [$"--Metrics:Listen=127.0.0.1:{metricsPort}"], waitUntilListening: false);

        Assert.True(DaemonProcess.WaitFor(() => daemon.Logs.Contains($"metrics on http://127.0.0.1:{metricsPort}/metrics", StringComparison.Ordinal), Wait), daemon.Logs);
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    [Fact]
    public void Environment_variable_overrides_the_file()
    {
        using var daemon = DaemonProcess.Start(Config(), environment: new Dictionary<string, string> { ["VTAP__PIPELINE__WORKERS"] = "3" });

        Assert.Equal(3, daemon.Metric("vtap_workers"));
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    [Fact]
    public void Open_allow_list_is_warned_about_at_start()
    {
        using var daemon = DaemonProcess.Start(Config());

        Assert.Contains("No allow-list is set: any host that can reach", daemon.Logs);
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    [Theory]
    [InlineData("AfPacket", "af_packet", ", \"Rings\": 2")]
    [InlineData("Pcap", "pcap", "")]
    public void Capture_source_on_loopback_gives_tsharks_flows(string section, string label, string extra)
    {
        // Two AF_PACKET rings form a fanout group: on lo every frame also passes as outgoing, and
        // each must still be counted once.
        // The capture sources see every frame on the interface: a tunnel port of this test's own
        // keeps other traffic on lo out of it (the kernel filter passes only UDP to that port).
        var capture = captures.Sample;
        var port = DaemonProcess.FreeUdpPort();
        using var daemon = DaemonProcess.Start($$"""
            {
              "Sources": { "Udp": { "Enabled": false }, "{{section}}": { "Enabled": true, "Interface": "lo"{{extra}} } },
              "Decoder": { "VxlanPorts": [ {{port}} ] },
              "Pipeline": { "Workers": 2 },
              "Flows": { "Capacity": 65536 },
              "Sinks": { "Stdout": { "Enabled": true } },
              "Metrics": { "Listen": "127.0.0.1:{metrics}" }
            }
            """);

        SendAndWait(daemon, capture.Path, TunnelDatagrams(capture.Path).Datagrams, port, label);
        Assert.Equal(0, daemon.Metric($"vtap_kernel_drops_total{{source=\"{label}\"}}"));
        Assert.Equal(0, daemon.Terminate(Wait));

        FlowComparison.AssertSameFlows(capture.Oracle, daemon.ParseRecords(), $"{capture.Name} (live, {label} on lo)");
        Assert.All(daemon.ParseRecords().FlowsById.Values, flow => Assert.Equal("127.0.0.1", flow.LastRecord.GetProperty("tunnel_dst").GetString()));
    }

    [Theory]
    [InlineData("AfPacket")]
    [InlineData("Pcap")]
    [InlineData("Xdp")]
    public void Capture_source_on_a_missing_interface_exits_1_naming_it(string section)
    {
        var result = ExternalTools.Run(
            ExternalTools.DotnetHost,
            [ExternalTools.CollectorDll, "run", "--config", WriteConfig($$"""{ "Sources": { "Udp": { "Enabled": false }, "{{section}}": { "Enabled": true, "Interface": "vtapnope0" } }, "Sinks": { "Stdout": { "Enabled": true } }, "Metrics": { "Listen": "127.0.0.1:0" } }""")],
            Wait,
            environment: new Dictionary<string, string> { ["VTAP_SYSTEM_CONFIG"] = "/nonexistent/vtap-collector.json" });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Interface 'vtapnope0' does not exist", result.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AfPacket", "Capturing on interface 'lo' needs the CAP_NET_RAW capability for an AF_PACKET socket: run as root or grant it (systemd: AmbientCapabilities=CAP_NET_RAW).")]
    [InlineData("Pcap", "CAP_NET_RAW")]
    [InlineData("Xdp", "Receiving on interface 'lo' through AF_XDP needs the CAP_NET_RAW capability: run as root or grant it (systemd: the af-xdp.conf drop-in).")]
    public void Capture_source_without_cap_net_raw_exits_1_naming_the_capability(string section, string expected)
    {
        // setpriv takes CAP_NET_RAW out of the bounding set, so even root runs the daemon without it.
        var result = ExternalTools.Run(
            "setpriv",
            ["--bounding-set", "-net_raw", ExternalTools.DotnetHost, ExternalTools.CollectorDll, "run", "--config",
                WriteConfig($$"""{ "Sources": { "Udp": { "Enabled": false }, "{{section}}": { "Enabled": true, "Interface": "lo" } }, "Sinks": { "Stdout": { "Enabled": true } }, "Metrics": { "Listen": "127.0.0.1:0" } }""")],
            Wait,
            environment: new Dictionary<string, string> { ["VTAP_SYSTEM_CONFIG"] = "/nonexistent/vtap-collector.json" });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.StandardError, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
        Assert.DoesNotContain("VtapCollector.", result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>Sends a capture once with <c>vtap-collector send</c> and waits until the daemon counted <paramref name="expectedTotal"/> packets in all from <paramref name="source"/>.</summary>
    internal static void SendAndWait(DaemonProcess daemon, string capture, long expectedTotal, int? port = null, string source = "udp")
    {
        SendOnce(daemon, capture, port);
        Assert.True(
            DaemonProcess.WaitFor(() => daemon.Metric($"vtap_received_packets_total{{source=\"{source}\"}}") >= expectedTotal && daemon.Metric("vtap_queue_depth{queue=\"dispatch\"}") == 0, Wait),
            $"the daemon did not count {expectedTotal} packets:\n{daemon.Get("/metrics").Body}");
    }

    internal static void SendOnce(DaemonProcess daemon, string capture, int? port = null)
    {
        var send = ExternalTools.RunCollector(["send", capture, "--to", $"127.0.0.1:{port ?? daemon.UdpPort}", "--quiet"]);
        Assert.True(send.ExitCode == 0, send.StandardError);
    }

    /// <summary>What <c>send</c> sends for a capture, by tshark: its VXLAN frames, and their outer UDP payload bytes.</summary>
    internal static (int Datagrams, double PayloadBytes) TunnelDatagrams(string capture)
    {
        var scratch = Directory.CreateTempSubdirectory("vtap-tshark-").FullName;
        try
        {
            var rows = TsharkOracle.RunTshark(capture, scratch, ["-Y", "vxlan"], ["udp.length"]);
            return (rows.Count, rows.Sum(row => double.Parse(row.Split(',')[0], CultureInfo.InvariantCulture) - 8));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static string WriteConfig(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"vtap-bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}

/// <summary>Daemon tests run one at a time: each starts a process with several threads, and this machine has two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DaemonTests
{
    public const string Name = "daemon";
}
