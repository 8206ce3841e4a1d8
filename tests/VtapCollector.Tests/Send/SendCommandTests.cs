using System.Diagnostics;
using System.Net;
using VtapCollector.Capture;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Send;

/// <summary>
/// <c>vtap-collector send</c> run as a process against a <see cref="UdpTunnelReceiver"/> on
/// 127.0.0.1: every datagram must be the VXLAN payload (outer UDP payload) tshark extracts from the
/// capture, in order; --loop repeats; --pps paces (one lenient, one-sided check on the kernel
/// receive timestamps); a bad --to is a usage error. All traffic goes to 127.0.0.1.
/// </summary>
public class SendCommandTests
{
    private static string TcpdumpVxlan => Path.Combine(AppContext.BaseDirectory, "data", "tcpdump", "vxlan.pcap");

    private static string BundledSample => Path.Combine(FindRepositoryRoot(), "src", "VtapCollector", "Samples", "sample-vxlan.pcap");

    public static TheoryData<string> Captures => new() { "tcpdump/vxlan.pcap", "sample" };

    [Theory]
    [MemberData(nameof(Captures))]
    public void Every_tunnelled_frame_arrives_as_its_VXLAN_payload_in_order(string capture)
    {
        var path = capture == "sample" ? BundledSample : TcpdumpVxlan;
        var expected = TsharkTunnelPayloads(path);
        Assert.NotEmpty(expected);

        var (result, received) = SendAndReceive(path, expected.Count);

        Assert.True(result.ExitCode == 0, $"send exited with {result.ExitCode}: {result.StandardError}");
        Assert.Equal(expected.Count, received.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].AsSpan().SequenceEqual(received[i].Payload), $"datagram {i} differs from frame {i + 1}'s UDP payload");
            Assert.Equal(4, received[i].Meta.SourceIpVersion);
            Assert.True(received[i].Meta.KernelTimestamp);
        }

        Assert.Contains($"datagrams sent  {expected.Count,12:N0}", result.StandardError);
    }

    [Fact]
    public void Loop_3_sends_the_capture_three_times_in_order()
    {
        var expected = TsharkTunnelPayloads(TcpdumpVxlan);

        var (result, received) = SendAndReceive(TcpdumpVxlan, 3 * expected.Count, "--loop", "3");

        Assert.True(result.ExitCode == 0, $"send exited with {result.ExitCode}: {result.StandardError}");
        Assert.Equal(3 * expected.Count, received.Count);
        for (var i = 0; i < received.Count; i++)
        {
            Assert.Equal(expected[i % expected.Count], received[i].Payload);
        }

        Assert.Contains("(3 passes)", result.StandardError);
    }

    [Fact]
    public void Pps_paces_the_datagrams()
    {
        // The bundled sample holds 44 VXLAN frames: at 200/s, after a burst of 2, the other 42 need
        // 0.21 s. One-sided and lenient: the first and last kernel receive times are at least 0.15 s apart.
        var expected = TsharkTunnelPayloads(BundledSample);
        Assert.True(expected.Count >= 40, $"the sample has only {expected.Count} tunnelled frames");

        var (result, received) = SendAndReceive(BundledSample, expected.Count, "--pps", "200");

        Assert.True(result.ExitCode == 0, $"send exited with {result.ExitCode}: {result.StandardError}");
        Assert.Equal(expected.Count, received.Count);
        var spread = TimeSpan.FromTicks((received[^1].Meta.TimestampNanos - received[0].Meta.TimestampNanos) / 100);
        Assert.True(spread >= TimeSpan.FromSeconds(0.15), $"{received.Count} datagrams at --pps 200 arrived within {spread.TotalSeconds:F3} s");
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("127.0.0.1:port")]
    [InlineData(":4789")]
    [InlineData("::1:4789")]
    public void A_bad_destination_is_a_usage_error_in_one_sentence(string destination)
    {
        var result = ExternalTools.RunCollector(["send", TcpdumpVxlan, "--to", destination]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("vtap-collector: Option --to takes HOST:PORT", line);
        Assert.Contains($"'{destination}'", line);
        Assert.EndsWith(".", line);
        Assert.Empty(result.StandardOutput);
    }

    [Theory]
    [InlineData(new[] { "send", "--to", "127.0.0.1:4789" }, "send needs a capture file")]
    [InlineData(new[] { "send", "x.pcap" }, "send needs a destination")]
    [InlineData(new[] { "send", "x.pcap", "--to", "127.0.0.1:4789", "--pps", "0" }, "Option --pps takes a whole number")]
    [InlineData(new[] { "send", "x.pcap", "--to", "127.0.0.1:4789", "--loop", "many" }, "Option --loop takes a whole number")]
    [InlineData(new[] { "send", "x.pcap", "--to", "127.0.0.1:4789", "--rate", "5" }, "Unknown option '--rate' for send")]
    public void Other_mistakes_are_usage_errors_in_one_sentence(string[] arguments, string start)
    {
        var result = ExternalTools.RunCollector(arguments);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"vtap-collector: {start}", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void A_missing_capture_is_an_input_error()
    {
        var result = ExternalTools.RunCollector(["send", Path.Combine(AppContext.BaseDirectory, "no-such.pcap"), "--to", "127.0.0.1:9"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no such file", Assert.Single(result.ErrorLines));
    }

    /// <summary>
    /// Runs send to a fresh receiver on 127.0.0.1 and receives while it runs, until the process has
    /// ended and the socket stays quiet, or <paramref name="expected"/> datagrams came (bounded).
    /// </summary>
    private static (ToolResult Result, List<(ReceivedDatagram Meta, byte[] Payload)> Received) SendAndReceive(string capture, int expected, params string[] options)
    {
        using var receiver = new UdpTunnelReceiver(new UdpTunnelReceiverOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) });
        var target = $"127.0.0.1:{receiver.LocalEndPoint.Port}";
        var run = Task.Run(() => ExternalTools.RunCollector(["send", capture, "--to", target, .. options]));
        var received = new List<(ReceivedDatagram, byte[])>();
        var handler = new Collector(received);
        var clock = Stopwatch.StartNew();
        var finished = false;
        for (var calls = 0; calls < 100_000 && clock.Elapsed < TimeSpan.FromSeconds(90) && received.Count <= expected; calls++)
        {
            // Loopback delivers during the send, so once the process has ended everything it sent
            // is queued: after that, the first empty wait means the socket is drained.
            var ended = finished;
            finished = run.IsCompleted;
            if (receiver.ReceiveBatch(ref handler, 100) == 0 && ended)
            {
                break;
            }
        }

        return (run.GetAwaiter().GetResult(), received);
    }

    /// <summary>
    /// The outer UDP payload of every VXLAN/Geneve frame, extracted independently by tshark
    /// (<c>udp.payload</c>, first occurrence: the outer UDP header's).
    /// </summary>
    private static List<byte[]> TsharkTunnelPayloads(string capture)
    {
        var result = ExternalTools.Run(ExternalTools.Tshark, ["-n", "-r", capture, "-Y", "vxlan || geneve", "-T", "fields", "-E", "occurrence=f", "-e", "udp.payload"], TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"tshark failed ({result.ExitCode}): {result.StandardError}");
        return result.OutputLines.Select(Convert.FromHexString).ToList();
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VtapCollector.sln")))
            {
                return directory.FullName;
            }
        }

        // Built outside the repository (--artifacts-path): the test build records where it is.
        return ExternalTools.RepositoryRoot;
    }

    private readonly struct Collector(List<(ReceivedDatagram, byte[])> received) : IDatagramHandler
    {
        public void OnDatagram(in ReceivedDatagram meta, ReadOnlySpan<byte> payload) => received.Add((meta, payload.ToArray()));
    }
}
