using System.Globalization;
using VtapCollector.Tests.Oracle;
using VtapCollector.Tests.Run;
using Xunit.Abstractions;

namespace VtapCollector.Tests.KernelMirror;

/// <summary>
/// End to end through the kernel's raw GRE socket: <c>vtap-collector run</c> in a collector
/// namespace takes ERSPAN II, ERSPAN III and Ethernet bridged over GRE with its GRE source
/// (<c>Sources:Gre</c>) and the VXLAN of the same mirror with its UDP source, while the frames of
/// the generated ERSPAN/GRE capture (seed 3 of tests/tools/gen_oracle_capture.py, see
/// <see cref="OracleCaptures"/>) are sent unchanged from a peer namespace onto the link. Its records
/// must be the flows tshark reads from that capture, flow by flow, packets and bytes each way.
/// </summary>
/// <remarks>
/// The kernel lab of <see cref="KernelMirrorTests"/> with erspan and gretap devices needs a kernel
/// built with ip_gre (CONFIG_NET_IPGRE), which the test machine's kernel is not: the mirrored
/// frames come from the capture instead, the receiving half (raw socket, kernel timestamps,
/// engine, sinks) is the kernel's and the daemon's own.
/// </remarks>
[Collection(DaemonTests.Name)]
public sealed class GreSourceTests(OracleCaptures captures, ITestOutputHelper output) : IClassFixture<OracleCaptures>
{
    /// <summary>The generator's collector address and MAC (tests/tools/gen_oracle_capture.py COLLECTOR, COLLECTOR_MAC).</summary>
    private const string CollectorAddress = "172.16.255.254";
    private const string CollectorMac = "02:00:00:ff:ff:fe";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// With <paramref name="source"/> gre: the GRE source beside a UDP socket. With xdp: the AF_XDP
    /// source alone on the collector's interface, its XDP program taking both the VXLAN datagrams
    /// and the GRE packets (Decoder:Gre is on by default).
    /// </summary>
    private static string Config(string source) => $$"""
        {
          "Sources": {{(source == "xdp"
              ? """{ "Udp": { "Enabled": false }, "Xdp": { "Enabled": true, "Interface": "gk", "AttachMode": "Native", "RingSize": 4096 } }"""
              : $$"""
                {
                  "Udp": { "Listen": [ "{{CollectorAddress}}:4789" ], "Sockets": 1, "ReceiveBufferBytes": 16777216 },
                  "Gre": { "Enabled": true, "Listen": [ "{{CollectorAddress}}" ], "ReceiveBufferBytes": 16777216 }
                }
                """)}},
          "Pipeline": { "Workers": 2 },
          "Flows": { "Capacity": 65536 },
          "Sinks": { "Stdout": { "Enabled": true } },
          "Metrics": { "Listen": "127.0.0.1:{metrics}" }
        }
        """;

    /// <summary>Sends every frame of a pcap file (Ethernet link type) unchanged out of one interface, in order.</summary>
    private const string SendScript = """
        import socket, struct, sys
        path, interface = sys.argv[1], sys.argv[2]
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind((interface, 0))
        sent = 0
        with open(path, "rb") as capture:
            magic, _, _, _, _, _, link = struct.unpack("<IHHiIII", capture.read(24))
            assert magic == 0xA1B2C3D4 and link == 1, "a little-endian microsecond Ethernet pcap"
            while True:
                header = capture.read(16)
                if len(header) < 16:
                    break
                _, _, captured, _ = struct.unpack("<IIII", header)
                sock.send(capture.read(captured))
                sent += 1
        print(sent)
        """;

    [Theory]
    [InlineData("gre")]
    [InlineData("xdp")]
    public void Erspan_and_gre_mirrors_received_on_the_gre_source_give_the_flows_tshark_reads_from_the_frames(string source)
    {
        var capture = captures.Gre;
        var suffix = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 3));
        var (mirror, collector) = ($"vtg{suffix}m", $"vtg{suffix}k");
        var created = new List<string>();
        try
        {
            foreach (var name in new[] { mirror, collector })
            {
                Ip("netns", "add", name);
                created.Add(name);
                Ip("-n", name, "link", "set", "lo", "up");
            }

            // Jumbo MTU: the generated frames carry inner packets up to 1500 bytes plus their tunnel
            // headers. Native XDP on a veth takes frames of one page at most, so 3000 for AF_XDP.
            var mtu = source == "xdp" ? "3000" : "9000";
            Ip("link", "add", "gm", "netns", mirror, "mtu", mtu, "type", "veth", "peer", "name", "gk", "netns", collector, "address", CollectorMac, "mtu", mtu);
            Ip("-n", collector, "addr", "add", $"{CollectorAddress}/16", "dev", "gk");
            Ip("-n", mirror, "link", "set", "gm", "up");
            Ip("-n", collector, "link", "set", "gk", "up");

            using var daemon = DaemonProcess.Start(Config(source), commandPrefix: InNamespace(collector));
            var tshark = capture.TsharkRows.Count;
            var greFrames = capture.TsharkRows.Count(row => row.Contains(":gre:", StringComparison.Ordinal));

            var sent = ExternalTools.Run(InNamespace(mirror)[0], [.. InNamespace(mirror).Skip(1), ExternalTools.DebianPython, "-c", SendScript, capture.Path, "gm"], CommandTimeout);
            Assert.True(sent.ExitCode == 0, $"sending the capture failed: {sent.StandardError}");
            Assert.Equal(tshark.ToString(CultureInfo.InvariantCulture), sent.StandardOutput.Trim());

            DaemonProcess.WaitFor(
                () => (source == "xdp"
                        ? daemon.Metric("vtap_received_packets_total{source=\"xdp\"}")
                        : daemon.Metric("vtap_received_packets_total{source=\"gre\"}") + daemon.Metric("vtap_received_packets_total{source=\"udp\"}")) == tshark
                    && daemon.Metric("vtap_queue_depth{queue=\"dispatch\"}") == 0,
                Wait);
            var metrics = daemon.Get("/metrics").Body;
            var exit = daemon.Terminate(Wait);
            Assert.True(exit == 0, $"exit code {exit}\n{daemon.Logs}");

            var run = daemon.ParseRecords();
            output.WriteLine($"{capture.Description}: {tshark} frames ({greFrames} GRE), {capture.Oracle.Flows.Count} flows; daemon: {run.Lines.Count} records, {run.FlowsById.Count} flows");
            if (source == "xdp")
            {
                Assert.Contains($"vtap_received_packets_total{{source=\"xdp\"}} {tshark}\n", metrics, StringComparison.Ordinal);
                Assert.Contains("vtap_kernel_drops_total{source=\"xdp\"} 0\n", metrics, StringComparison.Ordinal);
            }
            else
            {
                Assert.Contains($"vtap_received_packets_total{{source=\"gre\"}} {greFrames}\n", metrics, StringComparison.Ordinal);
                Assert.Contains($"vtap_received_packets_total{{source=\"udp\"}} {tshark - greFrames}\n", metrics, StringComparison.Ordinal);
                Assert.Contains("vtap_kernel_drops_total{source=\"gre\"} 0\n", metrics, StringComparison.Ordinal);
            }

            Assert.Contains(run.FlowsById.Values, flow => flow.LastRecord.GetProperty("tunnel").GetString() == "erspan");
            Assert.Contains(run.FlowsById.Values, flow => flow.LastRecord.GetProperty("tunnel").GetString() == "gre");
            FlowComparison.AssertSameFlows(capture.Oracle, run, $"{capture.Description} sent to the {source} source");
        }
        finally
        {
            foreach (var name in created)
            {
                ExternalTools.Run(Tool("ip"), ["netns", "del", name], CommandTimeout);
            }
        }
    }

    private static IReadOnlyList<string> InNamespace(string name) => [Tool("ip"), "netns", "exec", name];

    private static void Ip(params string[] arguments)
    {
        var result = ExternalTools.Run(Tool("ip"), arguments, CommandTimeout);
        Assert.True(result.ExitCode == 0, $"ip {string.Join(' ', arguments)} failed (exit {result.ExitCode}): {result.StandardError.Trim()}");
    }

    private static string Tool(string name) =>
        new[] { "/usr/sbin", "/sbin" }.Select(folder => Path.Combine(folder, name)).FirstOrDefault(File.Exists) ??
        ExternalTools.FindOnPath(name) ??
        throw new InvalidOperationException($"{name} is not installed: install the Debian package 'iproute2'.");
}
