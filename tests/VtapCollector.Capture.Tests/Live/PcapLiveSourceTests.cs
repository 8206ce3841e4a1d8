using System.Diagnostics;
using System.Net;
using VtapCollector.Capture.Live;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests.Live;

/// <summary>
/// The libpcap source on real kernel traffic, in a veth pair between two network namespaces of its
/// own (see <see cref="AfPacketSourceTests"/> for the set-up), plus its error sentences.
/// </summary>
public sealed class PcapLiveSourceTests
{
    private static PcapLiveSourceOptions Options(string device, string filter = PcapLiveSourceOptions.DefaultFilter, int bufferSize = 4 * 1024 * 1024, int snapLength = 65535) =>
        new()
        {
            Interface = device,
            Filter = filter,
            BufferSizeBytes = bufferSize,
            SnapLength = snapLength,
            TimeoutMilliseconds = 5,
        };

    private static LiveTest.Receive Receiver(PcapLiveSource source) =>
        (ref RecordingHandler handler, int timeout) => source.ReceiveBatch(ref handler, timeout);

    [Fact]
    public void Every_datagram_the_default_filter_matches_arrives_exactly_once_with_its_bytes_and_nanosecond_time()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new PcapLiveSource(Options(pair.CaptureInterface)));
        var sent = LiveTraffic.Mixed(240);

        var before = LiveTest.NowNanos();
        pair.SendUdp(sent);
        var after = LiveTest.NowNanos();
        var expected = sent.Count(LiveTraffic.IsTunnel);
        var received = LiveTest.Drain(Receiver(source), expected);

        LiveTraffic.AssertExactlyTheTunnelDatagrams(sent, received, before, after);
        Assert.Equal(LinkType.Ethernet, source.LinkType);
        Assert.True(source.TimestampsInNanoseconds);
        Assert.Null(source.ActivationWarning);
        Assert.Equal(expected, source.Packets);
        Assert.Equal(received.Sum(packet => (long)packet.Data.Length), source.Bytes);
        Assert.Equal(0, source.TruncatedPackets);

        // Nanosecond stamps: not all of them can be whole microseconds.
        Assert.Contains(received, packet => packet.TimestampNanos % 1000 != 0);
        source.RefreshKernelStatistics();
        Assert.Equal(expected, source.KernelPackets);
        Assert.Equal(0, source.KernelDrops);
    }

    [Fact]
    public void A_custom_filter_decides_what_arrives()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new PcapLiveSource(Options(pair.CaptureInterface, filter: $"ip6 and udp dst port {LiveTraffic.NonTunnelPort}")));
        var sent = LiveTraffic.Mixed(80);

        pair.SendUdp(sent);
        var expected = sent.Where(datagram => datagram.Destination.Port == LiveTraffic.NonTunnelPort && !datagram.IsIpv4).ToList();
        var received = LiveTest.Drain(Receiver(source), expected.Count);

        Assert.Equal(expected.Count, received.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            LiveTest.AssertFrameCarries(expected[i], received[i]);
        }
    }

    [Fact]
    public void A_snap_length_shorter_than_the_frame_delivers_it_cut_with_its_original_length()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new PcapLiveSource(Options(pair.CaptureInterface, snapLength: 100)));
        var datagram = new Datagram(1, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(1, 500));

        pair.SendUdp([datagram]);
        var received = LiveTest.Drain(Receiver(source), 1);

        var packet = Assert.Single(received);
        Assert.Equal(100, packet.Data.Length);
        Assert.Equal(datagram.FrameLength, packet.OriginalLength);
        Assert.Equal(1, source.TruncatedPackets);
    }

    [Fact]
    public void Receiving_allocates_nothing_per_packet()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new PcapLiveSource(Options(pair.CaptureInterface)));
        var counter = new PacketCounter();
        var handler = new CountingHandler(counter);
        var datagrams = Enumerable.Range(0, 320).Select(i => new Datagram(i, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(i, 200))).ToList();

        // A first round runs every path once (delivery, the wait, the statistics), so that
        // compiling and binding native entry points happen before the measurement.
        pair.SendUdp(datagrams.Take(20));
        for (var calls = 0; counter.Count < 20 && calls < 1_000; calls++)
        {
            source.ReceiveBatch(ref handler, 50);
        }

        Assert.Equal(0, source.ReceiveBatch(ref handler, 1));
        source.RefreshKernelStatistics();

        pair.SendUdp(datagrams.Skip(20));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var calls = 0; counter.Count < datagrams.Count && calls < 1_000; calls++)
        {
            source.ReceiveBatch(ref handler, 50);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(datagrams.Count, counter.Count);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void With_no_traffic_a_receive_returns_zero_after_its_timeout()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new PcapLiveSource(Options(pair.CaptureInterface)));
        var handler = new RecordingHandler(new PacketLog());

        var clock = Stopwatch.StartNew();
        var delivered = source.ReceiveBatch(ref handler, 300);
        clock.Stop();

        Assert.Equal(0, delivered);
        Assert.InRange(clock.ElapsedMilliseconds, 250, 3000);
        Assert.Equal(0, source.ReceiveBatch(ref handler, 0));
    }

    [Fact]
    public void An_interface_going_down_does_not_fail_the_capture_and_it_resumes_when_back_up()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new PcapLiveSource(Options(pair.CaptureInterface)));
        var handler = new RecordingHandler(new PacketLog());

        IpCommand.Run($"-n {pair.CaptureNamespace} link set {pair.CaptureInterface} down");
        var clock = Stopwatch.StartNew();
        for (var calls = 0; calls < 3; calls++)
        {
            Assert.Equal(0, source.ReceiveBatch(ref handler, 100));
        }

        // Waits that time out, not a spin on a pending socket error.
        Assert.InRange(clock.ElapsedMilliseconds, 200, 5000);

        IpCommand.Run($"-n {pair.CaptureNamespace} link set {pair.CaptureInterface} up");
        var sent = Enumerable.Range(0, 10).Select(i => new Datagram(i, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(i, 100))).ToList();
        pair.SendUdp(sent);
        var received = LiveTest.Drain(Receiver(source), sent.Count);

        Assert.Equal(Enumerable.Range(0, 10), received.Select(packet => LiveTraffic.IndexOf(packet.Data)));
    }

    [Fact]
    public void Receiving_after_dispose_throws_and_disposing_twice_is_harmless()
    {
        using var pair = VethPair.Create();
        var source = pair.InCapture(() => new PcapLiveSource(Options(pair.CaptureInterface)));
        var handler = new RecordingHandler(new PacketLog());

        source.Dispose();
        source.Dispose();

        Assert.Throws<ObjectDisposedException>(() => source.ReceiveBatch(ref handler, 0));
    }

    [Fact]
    public void An_invalid_filter_fails_with_a_sentence_quoting_it()
    {
        using var pair = VethPair.Create();

        var error = Assert.Throws<LiveCaptureException>(() => pair.InCapture(() => new PcapLiveSource(Options(pair.CaptureInterface, filter: "udp and dst port banana"))));

        Assert.StartsWith("The capture filter 'udp and dst port banana' is invalid: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("banana", error.Message[50..], StringComparison.Ordinal);
        Assert.EndsWith(".", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_interface_fails_with_a_sentence_naming_it()
    {
        var name = $"vtapno{Environment.ProcessId % 10000}y";

        var error = Assert.Throws<LiveCaptureException>(() => new PcapLiveSource(Options(name)));

        Assert.Equal($"Interface '{name}' does not exist.", error.Message);
        Assert.Equal(-5, error.PcapStatus);
    }

    [Fact]
    public void Without_CAP_NET_RAW_opening_fails_with_a_sentence_naming_the_capability()
    {
        LiveTest.RequireRoot();

        var error = Assert.Throws<LiveCaptureException>(() => Netns.Run(null, () => new PcapLiveSource(Options("lo")), dropNetRaw: true));

        Assert.Equal("Capturing on interface 'lo' with libpcap needs the CAP_NET_RAW capability: run as root or grant it (systemd: AmbientCapabilities=CAP_NET_RAW).", error.Message);
        Assert.Equal(-8, error.PcapStatus);
    }

    [Fact]
    public void Validate_names_the_first_invalid_setting_and_accepts_the_defaults()
    {
        Assert.Null(new PcapLiveSourceOptions { Interface = "any" }.Validate());
        Assert.Equal("udp and (dst port 4789 or dst port 8472 or dst port 6081)", new PcapLiveSourceOptions().Filter);
        Assert.Equal("Interface must name the network interface to capture on.", new PcapLiveSourceOptions().Validate());
        Assert.Equal("Filter must be set (an empty string captures everything).", new PcapLiveSourceOptions { Interface = "eth1", Filter = null! }.Validate());
        Assert.Equal("SnapLength must be between 64 and 262144 (was 10).", new PcapLiveSourceOptions { Interface = "eth1", SnapLength = 10 }.Validate());
        Assert.Equal("BufferSizeBytes must be between 64 KiB and 1 GiB (was 1000).", new PcapLiveSourceOptions { Interface = "eth1", BufferSizeBytes = 1000 }.Validate());
        Assert.Equal("TimeoutMilliseconds must be between 1 and 10000 (was 0).", new PcapLiveSourceOptions { Interface = "eth1", TimeoutMilliseconds = 0 }.Validate());
        Assert.Equal("BatchSize must be between 1 and 65536 (was 0).", new PcapLiveSourceOptions { Interface = "eth1", BatchSize = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new PcapLiveSource(new PcapLiveSourceOptions { Interface = "eth1", SnapLength = 0 }));
    }
}
