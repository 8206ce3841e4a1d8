using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using VtapCollector.Tests.Oracle;
using VtapCollector.Tests.Run;
using Xunit.Abstractions;

namespace VtapCollector.Tests.KernelMirror;

/// <summary>
/// End to end with a real Linux kernel mirror: in namespaces the test creates, a workload pair
/// exchanges HTTP, UDP, ICMP, a refused TCP connection and IPv6; tc mirrors the server's workload
/// interface into a kernel VXLAN device aimed at <c>vtap-collector run</c> in a collector
/// namespace. The daemon's records must be the flows tshark computes from tcpdump's capture of
/// that same interface: the same flows, the same packets and bytes in each direction.
/// </summary>
[Collection(DaemonTests.Name)]
public sealed class KernelMirrorTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan QuietWait = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The daemon listens on the collector's underlay address and admits only the mirror's source
    /// address and VNI, so every record also proves the allow-list lets the real mirror in.
    /// Metrics stay on the collector namespace's loopback (scraped with curl inside it): nothing
    /// but the mirror's datagrams crosses the underlay. With <paramref name="source"/> xdp the
    /// daemon reads the underlay interface through AF_XDP (native XDP on the veth) instead of a
    /// UDP socket.
    /// </summary>
    private static string Config(string source) => $$"""
        {
          "Sources": {{(source == "xdp"
              ? """{ "Udp": { "Enabled": false }, "Xdp": { "Enabled": true, "Interface": "ul-k", "AttachMode": "Native", "RingSize": 1024 } }"""
              : $$"""{ "Udp": { "Listen": [ "{{MirrorLab.CollectorAddress}}:4789" ], "Sockets": 1, "ReceiveBufferBytes": 8388608 } }""")}},
          "AllowList": { "SourceCidrs": [ "{{MirrorLab.MirrorSource}}/32" ], "Vnis": [ {{MirrorLab.Vni}} ] },
          "Pipeline": { "Workers": 2 },
          "Flows": { "Capacity": 65536 },
          "Sinks": { "Stdout": { "Enabled": true } },
          "Metrics": { "Listen": "127.0.0.1:{metrics}" }
        }
        """;

    [Theory]
    [InlineData("udp")]
    [InlineData("xdp")]
    public void Kernel_mirrored_workload_gives_the_flows_tcpdump_saw_on_the_mirrored_interface(string source)
    {
        var lab = MirrorLab.Create();
        try
        {
            using var daemon = DaemonProcess.Start(Config(source), commandPrefix: lab.InNamespace(lab.Collector));

            // ip netns exec execs the daemon: the process the test signals is the daemon itself, in the collector namespace.
            Assert.Equal(lab.Collector, MirrorLab.NamespaceOf(daemon.ProcessId));
            Assert.Contains(ExternalTools.CollectorDll, File.ReadAllText($"/proc/{daemon.ProcessId}/cmdline"), StringComparison.Ordinal);

            lab.StartWorkloadCapture();
            lab.StartServers();
            lab.ConnectWorkload();
            lab.RunTraffic();
            WaitUntilQuiet(lab, daemon, source);
            var lost = lab.StopWorkloadCapture();
            Assert.True(lost == 0, $"tcpdump lost {lost} packets on wl-s (its kernel ring overflowed): the ground truth is incomplete");
            var (frames, frameBytes) = lab.CapturedFrames();
            var metrics = daemon.Get("/metrics").Body;

            var exit = daemon.Terminate(Wait);
            Assert.True(exit == 0, $"exit code {exit}\n{daemon.Logs}");
            Assert.Contains("Stopped: every record was handed to the sinks", daemon.Logs, StringComparison.Ordinal);
            if (source == "xdp")
            {
                Assert.Contains("xdp on ul-k (1 queue, native XDP, copy mode)", daemon.Logs, StringComparison.Ordinal);

                // The daemon's exit took its XDP program off the interface.
                Assert.DoesNotContain("xdp", lab.LinkShow(lab.Collector, "ul-k"), StringComparison.Ordinal);
            }

            var truth = GroundTruth(lab);
            Assert.Equal(frames, truth.Frames);
            AssertTrafficHappened(truth);

            var run = daemon.ParseRecords();
            output.WriteLine(
                $"tcpdump on wl-s: {truth.Frames} frames ({frameBytes} B), {truth.FramesWithInnerIp} IP packets ({truth.Packets.Sum(packet => packet.IpBytes)} IP bytes) in {truth.Flows.Count} flows; " +
                $"daemon: {run.Lines.Count} records, {run.FlowsById.Count} flows, {run.TotalPackets} packets");
            foreach (var flow in truth.Flows.Values.OrderByDescending(flow => flow.Packets.Count))
            {
                output.WriteLine($"  {flow.Key}: {flow.Describe()}");
            }

            Assert.All(run.FlowsById.Values, flow => Assert.Equal("end", flow.LastRecord.GetProperty("type").GetString()));
            FlowComparison.AssertSameFlows(truth, WithVniCheckedAndRemoved(daemon), "kernel mirror of wl-s (tcpdump on wl-s vs the daemon)");

            // Every mirrored frame reached the daemon as one datagram, unchanged (VXLAN adds 8 bytes
            // of header to the inner Ethernet frame; the AF_XDP source counts the whole outer
            // frame: Ethernet 14, IPv4 20, UDP 8 and VXLAN 8), and none was refused or lost on the way.
            Assert.Equal(frames, Sample(metrics, $"vtap_received_packets_total{{source=\"{source}\"}}"));
            Assert.Equal(frameBytes + ((source == "xdp" ? 50 : 8) * frames), Sample(metrics, $"vtap_received_bytes_total{{source=\"{source}\"}}"));
            // A capture source learns the mirror source from the decoded outer header, so it counts
            // only frames that decode (the ARP ones are rejected, below); a socket counts every datagram.
            Assert.Equal(source == "xdp" ? truth.FramesWithInnerIp : frames, Sample(metrics, $"vtap_tunnel_source_packets_total{{tunnel_source=\"{MirrorLab.MirrorSource}\"}}"));
            Assert.Equal(0, Sample(metrics, $"vtap_kernel_drops_total{{source=\"{source}\"}}"));
            Assert.Equal(0, Sample(metrics, "vtap_rejected_packets_total{reason=\"source_not_allowed\"}"));
            Assert.Equal(0, Sample(metrics, "vtap_rejected_packets_total{reason=\"vni_not_allowed\"}"));
            Assert.Equal(0, Sample(metrics, "vtap_dispatch_dropped_packets_total"));
            Assert.Equal(truth.FramesWithInnerIp, Sample(metrics, $"vtap_vni_packets_total{{vni=\"{MirrorLab.Vni}\"}}"));
            Assert.Equal(truth.Packets.Sum(packet => packet.IpBytes), Sample(metrics, $"vtap_vni_bytes_total{{vni=\"{MirrorLab.Vni}\"}}"));

            // ARP is the only non-IP traffic on the link: counted, and in no flow.
            Assert.Equal(truth.Frames - truth.FramesWithInnerIp, Sample(metrics, "vtap_rejected_packets_total{reason=\"arp\"}"));
        }
        finally
        {
            lab.Dispose();
        }

        // Torn down: deleting the namespaces took their interfaces, the VXLAN device and the filters with them.
        Assert.DoesNotContain(MirrorLab.ExistingNamespaces(), name => lab.Namespaces.Contains(name));
    }

    /// <summary>
    /// A collector on AF_XDP killed outright (SIGKILL: no clean-up code runs) leaves no XDP program
    /// on the interface: the program hangs on a bpf link the kernel closes with the process. The
    /// next start attaches afresh and receives the mirror's datagrams.
    /// </summary>
    [Fact]
    public void Killed_AF_XDP_collector_leaves_no_program_and_a_restart_receives_again()
    {
        const int SigKill = 9;
        var lab = MirrorLab.Create();
        try
        {
            using (var crashed = DaemonProcess.Start(Config("xdp"), commandPrefix: lab.InNamespace(lab.Collector)))
            {
                Assert.Contains("name xdp_vtap", lab.LinkShow(lab.Collector, "ul-k"), StringComparison.Ordinal);
                crashed.Signal(SigKill);
                crashed.WaitForExit(Wait);
            }

            Assert.True(
                DaemonProcess.WaitFor(() => !lab.LinkShow(lab.Collector, "ul-k").Contains("xdp", StringComparison.Ordinal), Wait),
                lab.LinkShow(lab.Collector, "ul-k"));

            using var restarted = DaemonProcess.Start(Config("xdp"), commandPrefix: lab.InNamespace(lab.Collector));
            Assert.Contains("name xdp_vtap", lab.LinkShow(lab.Collector, "ul-k"), StringComparison.Ordinal);
            var datagrams = RunCommandTests.TunnelDatagrams(ExternalTools.BundledSample).Datagrams;
            var send = ExternalTools.Run(
                lab.InNamespace(lab.Server)[0],
                [.. lab.InNamespace(lab.Server).Skip(1), ExternalTools.DotnetHost, ExternalTools.CollectorDll, "send", ExternalTools.BundledSample, "--to", $"{MirrorLab.CollectorAddress}:4789", "--quiet"],
                Wait);
            Assert.True(send.ExitCode == 0, send.StandardError);
            Assert.True(
                DaemonProcess.WaitFor(() => restarted.Metric("vtap_received_packets_total{source=\"xdp\"}") == datagrams, Wait),
                restarted.Get("/metrics").Body);
            Assert.Equal(0, restarted.Terminate(Wait));
        }
        finally
        {
            lab.Dispose();
        }
    }

    /// <summary>
    /// Waits until the traffic is over: the capture and the daemon have counted the same frames,
    /// the daemon's dispatch queues are empty, and nothing changed for two seconds (longer than
    /// the one-second neighbour probe delay the lab sets, so no probe can come after the capture
    /// stops). Bounded; on a timeout the comparison that follows says what differs.
    /// </summary>
    private static void WaitUntilQuiet(MirrorLab lab, DaemonProcess daemon, string source)
    {
        var unchanged = Stopwatch.StartNew();
        var (lastFrames, lastReceived) = (-1L, -1.0);
        DaemonProcess.WaitFor(() =>
        {
            var frames = lab.CapturedFrames().Frames;
            var received = daemon.Metric($"vtap_received_packets_total{{source=\"{source}\"}}") ?? -1;
            var settled = frames == lastFrames && received == lastReceived && received == frames &&
                daemon.Metric("vtap_queue_depth{queue=\"dispatch\"}") == 0;
            (lastFrames, lastReceived) = (frames, received);
            if (!settled)
            {
                unchanged.Restart();
                return false;
            }

            return unchanged.Elapsed >= TimeSpan.FromSeconds(2);
        }, QuietWait);
    }

    /// <summary>tshark's flows of the workload capture (plain Ethernet, so VNI 0 in the oracle's keys).</summary>
    private static TsharkOracle GroundTruth(MirrorLab lab)
    {
        var scratch = Path.Combine(lab.Directory, "tshark");
        Directory.CreateDirectory(scratch);
        return TsharkOracle.FromRows(TsharkOracle.RunTshark(lab.CapturePath, scratch));
    }

    /// <summary>
    /// The ground truth holds every kind of traffic the workload was meant to make, so an equal
    /// comparison cannot come from a capture that missed some of it.
    /// </summary>
    private static void AssertTrafficHappened(TsharkOracle truth)
    {
        var flows = truth.Flows.Values.ToList();
        var summary = string.Join('\n', flows.Select(flow => $"{flow.Key}: {flow.Describe()}"));
        var client4 = Endpoint.Canonical(MirrorLab.ClientV4);
        var client6 = Endpoint.Canonical(MirrorLab.ClientV6);
        var server6 = Endpoint.Canonical(MirrorLab.ServerV6);

        bool Has(int protocol, string client, int serverPort, Func<OracleFlow, bool> enough) => flows.Any(flow =>
            flow.Key.Protocol == protocol &&
            (flow.Key.Low.Address == client || flow.Key.High.Address == client) &&
            (flow.Key.Low.Port == serverPort || flow.Key.High.Port == serverPort) &&
            enough(flow));
        static bool BothWays(OracleFlow flow) => flow.Sent(flow.Key.Low, flow.Key.High).Packets > 0 && flow.Sent(flow.Key.High, flow.Key.Low).Packets > 0;

        Assert.True(Has(6, client4, MirrorLab.HttpPort, flow => flow.Packets.Count >= 600 && flow.Packets.Sum(p => p.IpBytes) > MirrorLab.DownloadBytes), "no 1 MB HTTP download in the capture:\n" + summary);
        Assert.True(Has(6, client4, MirrorLab.ClosedPort, flow => flow.Packets.Count == 2 && flow.Packets[1].TcpFlags is { } flags && (flags & 0x04) != 0), "no refused (SYN, RST) connection in the capture:\n" + summary);
        Assert.True(Has(17, client4, MirrorLab.UdpPort, flow => flow.Packets.Count == 4 && BothWays(flow)), "no UDP query and answer in the capture:\n" + summary);
        Assert.True(Has(1, client4, 0, flow => flow.Packets.Count == 6 && BothWays(flow)), "no ICMP echo in the capture:\n" + summary);
        Assert.True(Has(58, client6, 129, flow => flow.Packets.Count == 4 && (flow.Key.Low.Address == server6 || flow.Key.High.Address == server6)), "no ICMPv6 echo in the capture:\n" + summary);
        Assert.True(Has(17, client6, MirrorLab.UdpPort, flow => flow.Packets.Count == 2 && BothWays(flow)), "no UDP over IPv6 in the capture:\n" + summary);
        Assert.True(Has(6, client6, MirrorLab.HttpPort, BothWays), "no HTTP over IPv6 in the capture:\n" + summary);
    }

    /// <summary>
    /// The daemon's records as the flow comparison reads them, after checking that every record
    /// carries the VNI the kernel's VXLAN device put on the mirrored frames. The ground truth is
    /// the workload interface itself, where frames have no tunnel (VNI 0 in the oracle), so the VNI
    /// is set to 0 here and the comparison keeps all its other checks unchanged.
    /// </summary>
    private static CollectorRun WithVniCheckedAndRemoved(DaemonProcess daemon)
    {
        var lines = new List<string>();
        foreach (var line in daemon.Records)
        {
            var record = JsonNode.Parse(line)!.AsObject();
            Assert.True(record["vni"]!.GetValue<uint>() == MirrorLab.Vni, $"a record with another VNI than {MirrorLab.Vni}: {line}");
            record["vni"] = 0;
            lines.Add(record.ToJsonString());
        }

        return CollectorRun.Parse(new ToolResult(0, string.Join('\n', lines) + "\n", daemon.Logs));
    }

    /// <summary>The value of one series in a scraped metrics page; a missing series fails with the page.</summary>
    private static double Sample(string metrics, string series)
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail($"no series {series} in the metrics:\n{metrics}");
        return double.NaN;
    }
}
