using System.Diagnostics;
using System.Net;
using VtapCollector.Capture.Live;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests.Live;

/// <summary>
/// The AF_PACKET source on real kernel traffic: each test builds its own pair of network namespaces
/// joined by a veth pair, opens the source inside the capture namespace and sends from the other
/// (UDP sockets, or raw frames for the filter cases). Runs as root; every loop is bounded in calls
/// and time, and the namespaces are deleted however the test ends.
/// </summary>
public sealed class AfPacketSourceTests
{
    private static AfPacketSourceOptions Options(VethPair pair, int? fanoutGroup = null, AfPacketFanoutMode mode = AfPacketFanoutMode.Hash, IList<ushort>? ports = null, int blockSize = 64 * 1024, int blockCount = 16, bool promiscuous = false, bool gre = false) =>
        new()
        {
            Interface = pair.CaptureInterface,
            BlockSizeBytes = blockSize,
            BlockCount = blockCount,
            BlockTimeoutMilliseconds = 5,
            FanoutGroup = fanoutGroup,
            FanoutMode = mode,
            Ports = ports ?? [4789, 8472, 6081],
            Promiscuous = promiscuous,
            Gre = gre,
        };

    private static LiveTest.Receive Receiver(AfPacketSource source) =>
        (ref RecordingHandler handler, int timeout) => source.ReceiveBatch(ref handler, timeout);

    [Fact]
    public void Every_tunnel_datagram_arrives_exactly_once_with_its_bytes_and_kernel_time_and_others_are_filtered_out()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new AfPacketSource(Options(pair)));
        var sent = LiveTraffic.Mixed(240);

        var before = LiveTest.NowNanos();
        pair.SendUdp(sent);
        var after = LiveTest.NowNanos();
        var expected = sent.Count(LiveTraffic.IsTunnel);
        var received = LiveTest.Drain(Receiver(source), expected);

        LiveTraffic.AssertExactlyTheTunnelDatagrams(sent, received, before, after);
        Assert.Equal(expected, source.Packets);
        Assert.Equal(received.Sum(packet => (long)packet.Data.Length), source.Bytes);
        Assert.InRange(source.Blocks, 1, expected);
        Assert.Equal(0, source.TruncatedPackets);
        source.RefreshKernelStatistics();
        Assert.Equal(0, source.KernelDrops);

        // The kernel counts what passed the filter: the tunnel datagrams, not the 60 to port 9999.
        Assert.Equal(expected, source.KernelPackets);
    }

    [Fact]
    public void The_kernel_filter_passes_tunnel_udp_over_ipv4_and_ipv6_untagged_tagged_and_double_tagged_and_drops_the_rest()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new AfPacketSource(Options(pair)));
        var frames = InjectedFrames.FilterMatrix();

        pair.Inject(frames.Select(frame => frame.Bytes));
        var accepted = frames.Where(frame => frame.Accepted).ToList();
        var received = LiveTest.Drain(Receiver(source), accepted.Count);

        // Each received frame named by the injected frame it equals byte for byte: the kernel took
        // the outer VLAN tag out on receive and the source put it back.
        var names = received.Select(packet => frames.FirstOrDefault(frame => frame.Bytes.AsSpan().SequenceEqual(packet.Data))?.Name ?? $"unknown frame {packet}").ToList();
        Assert.Equal(accepted.Select(frame => frame.Name), names);
        Assert.All(received, packet => Assert.Equal(packet.Data.Length, packet.OriginalLength));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_kernel_filter_passes_gre_over_ipv4_and_ipv6_only_when_asked_to(bool gre)
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new AfPacketSource(Options(pair, gre: gre)));
        var frames = InjectedFrames.GreMatrix(gre);

        pair.Inject(frames.Select(frame => frame.Bytes));
        var accepted = frames.Where(frame => frame.Accepted).ToList();
        var received = LiveTest.Drain(Receiver(source), accepted.Count);

        var names = received.Select(packet => frames.FirstOrDefault(frame => frame.Bytes.AsSpan().SequenceEqual(packet.Data))?.Name ?? $"unknown frame {packet}").ToList();
        Assert.Equal(accepted.Select(frame => frame.Name), names);
    }

    [Fact]
    public void A_tagged_tunnel_frame_arrives_with_its_tag_restored_and_decodes_to_its_vni()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new AfPacketSource(Options(pair)));
        var inner = LiveTest.TunnelPayload(7, 64);
        var frame = InjectedFrames.Frame([(0x8100, (3 << 13) | 42)], 0x0800, InjectedFrames.V4(17, 0, [], Udp(40000, 4789, inner)));

        pair.Inject([frame]);
        var received = LiveTest.Drain(Receiver(source), 1);

        var packet = Assert.Single(received);
        Assert.Equal(frame, packet.Data);
        Assert.Equal(frame.Length, packet.OriginalLength);
        Assert.Equal([0x81, 0x00, 0x60, 0x2a], packet.Data[12..16]);
        Assert.Equal(DecodeStatus.Ok, new PacketDecoder().Decode(LinkType.Ethernet, packet.Data, out var decoded));
        Assert.Equal(0x10007u, decoded.Vni);
        Assert.Equal(IpAddress.Parse("10.77.0.1"), decoded.TunnelSource);
        Assert.Equal(20007, decoded.SourcePort);
    }

    [Theory]
    [InlineData(AfPacketFanoutMode.Hash)]
    [InlineData(AfPacketFanoutMode.LoadBalance)]
    [InlineData(AfPacketFanoutMode.Cpu)]
    public void Two_sources_in_one_fanout_group_together_see_every_datagram_once(AfPacketFanoutMode mode)
    {
        using var pair = VethPair.Create();
        using var first = pair.InCapture(() => new AfPacketSource(Options(pair, fanoutGroup: 4242, mode: mode)));
        using var second = pair.InCapture(() => new AfPacketSource(Options(pair, fanoutGroup: 4242, mode: mode)));

        // 40 flows (source ports), so a flow hash has something to spread.
        var sent = Enumerable.Range(0, 200)
            .Select(i => new Datagram(i, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(i, 100), SourcePort: 41000 + (i % 40)))
            .ToList();
        pair.SendUdp(sent);

        var seen = new PacketLog();
        var handler = new RecordingHandler(seen);
        var clock = Stopwatch.StartNew();
        for (var calls = 0; seen.Packets.Count < sent.Count && clock.Elapsed < TimeSpan.FromSeconds(5) && calls < 100_000; calls++)
        {
            first.ReceiveBatch(ref handler, 10);
            second.ReceiveBatch(ref handler, 10);
        }

        // Quiet period: a frame delivered to both sockets would show up now.
        for (var calls = 0; calls < 100 && first.ReceiveBatch(ref handler, 100) + second.ReceiveBatch(ref handler, 100) > 0; calls++)
        {
        }

        var indexes = seen.Packets.Select(packet => LiveTraffic.IndexOf(packet.Data)).Order().ToList();
        Assert.Equal(Enumerable.Range(0, sent.Count), indexes);
        Assert.Equal(sent.Count, first.Packets + second.Packets);
        if (mode != AfPacketFanoutMode.Cpu)
        {
            // One sending thread means one receiving CPU, so only the hash and round-robin modes must spread.
            Assert.True(first.Packets > 0 && second.Packets > 0, $"fanout {mode} did not spread: {first.Packets} and {second.Packets}");
        }
    }

    [Fact]
    public void A_source_joining_a_fanout_group_with_another_mode_fails_with_a_sentence()
    {
        using var pair = VethPair.Create();
        using var first = pair.InCapture(() => new AfPacketSource(Options(pair, fanoutGroup: 7, mode: AfPacketFanoutMode.Hash)));

        var error = Assert.Throws<LiveCaptureException>(() => pair.InCapture(() => new AfPacketSource(Options(pair, fanoutGroup: 7, mode: AfPacketFanoutMode.Cpu))));

        Assert.Equal($"Cannot join fanout group 7 on interface '{pair.CaptureInterface}': the group already exists with another mode or on another interface.", error.Message);
    }

    [Fact]
    public void A_filter_of_64_ports_is_accepted_by_the_kernel_and_matches_its_last_port()
    {
        using var pair = VethPair.Create();
        var ports = Enumerable.Range(5000, TunnelPortFilter.MaxPorts).Select(port => (ushort)port).ToList();
        using var source = pair.InCapture(() => new AfPacketSource(Options(pair, ports: ports)));
        var sent = new List<Datagram>
        {
            new(0, new IPEndPoint(VethPair.CaptureIpv4, 5063), LiveTest.TunnelPayload(0, 40)),
            new(1, new IPEndPoint(VethPair.CaptureIpv4, 4999), LiveTest.TunnelPayload(1, 40)),
            new(2, new IPEndPoint(VethPair.CaptureIpv6, 5000), LiveTest.TunnelPayload(2, 40)),
            new(3, new IPEndPoint(VethPair.CaptureIpv6, 4789), LiveTest.TunnelPayload(3, 40)),
        };

        pair.SendUdp(sent);
        var received = LiveTest.Drain(Receiver(source), 2);

        Assert.Equal([0, 2], received.Select(packet => LiveTraffic.IndexOf(packet.Data)));
    }

    [Fact]
    public void A_ring_nobody_reads_drops_in_the_kernel_and_counts_the_drops()
    {
        using var pair = VethPair.Create();

        // Two one-page blocks hold a handful of 1 KiB frames; the rest find the ring full.
        using var source = pair.InCapture(() => new AfPacketSource(Options(pair, blockSize: 4096, blockCount: 2)));
        var sent = Enumerable.Range(0, 300).Select(i => new Datagram(i, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(i, 1000))).ToList();

        pair.SendUdp(sent);
        var received = LiveTest.Drain(Receiver(source), sent.Count, TimeSpan.FromSeconds(1));
        source.RefreshKernelStatistics();

        Assert.InRange(received.Count, 1, 20);
        Assert.True(source.KernelDrops > 0, "no kernel drops counted");
        Assert.True(source.KernelFreezeCount > 0, "no ring freeze counted");
        Assert.Equal(source.KernelPackets, source.Packets + source.KernelDrops);
        Assert.InRange(source.KernelPackets, received.Count, sent.Count);

        // Statistics reset on read in the kernel but accumulate in the source.
        var drops = source.KernelDrops;
        source.RefreshKernelStatistics();
        Assert.Equal(drops, source.KernelDrops);
    }

    [Fact]
    public void Receiving_allocates_nothing_per_packet()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new AfPacketSource(Options(pair)));
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
        using var source = pair.InCapture(() => new AfPacketSource(Options(pair)));
        var handler = new RecordingHandler(new PacketLog());

        var clock = Stopwatch.StartNew();
        var delivered = source.ReceiveBatch(ref handler, 300);
        clock.Stop();

        Assert.Equal(0, delivered);
        Assert.InRange(clock.ElapsedMilliseconds, 250, 3000);
        Assert.Equal(0, source.ReceiveBatch(ref handler, 0));
    }

    [Fact]
    public void An_interface_going_down_is_counted_and_capture_resumes_when_it_is_back_up()
    {
        using var pair = VethPair.Create();
        using var source = pair.InCapture(() => new AfPacketSource(Options(pair)));
        var handler = new RecordingHandler(new PacketLog());

        IpCommand.Run($"-n {pair.CaptureNamespace} link set {pair.CaptureInterface} down");
        for (var calls = 0; source.InterfaceDownEvents == 0 && calls < 10; calls++)
        {
            Assert.Equal(0, source.ReceiveBatch(ref handler, 100));
        }

        Assert.Equal(1, source.InterfaceDownEvents);

        // The error is reported once: waiting again just times out.
        Assert.Equal(0, source.ReceiveBatch(ref handler, 100));
        Assert.Equal(1, source.InterfaceDownEvents);

        IpCommand.Run($"-n {pair.CaptureNamespace} link set {pair.CaptureInterface} up");
        var sent = Enumerable.Range(0, 10).Select(i => new Datagram(i, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(i, 100))).ToList();
        pair.SendUdp(sent);
        var received = LiveTest.Drain(Receiver(source), sent.Count);

        Assert.Equal(Enumerable.Range(0, 10), received.Select(packet => LiveTraffic.IndexOf(packet.Data)));
    }

    [Fact]
    public void Promiscuous_mode_is_on_while_the_source_is_open_and_off_after()
    {
        using var pair = VethPair.Create();
        string Promiscuity() => IpCommand.Run($"-n {pair.CaptureNamespace} -d link show dev {pair.CaptureInterface}");

        var source = pair.InCapture(() => new AfPacketSource(Options(pair, promiscuous: true)));
        Assert.Contains("promiscuity 1", Promiscuity(), StringComparison.Ordinal);
        source.Dispose();

        Assert.Contains("promiscuity 0", Promiscuity(), StringComparison.Ordinal);
    }

    [Fact]
    public void Receiving_after_dispose_throws_and_disposing_twice_is_harmless()
    {
        using var pair = VethPair.Create();
        var source = pair.InCapture(() => new AfPacketSource(Options(pair)));
        var handler = new RecordingHandler(new PacketLog());

        source.Dispose();
        source.Dispose();

        Assert.Throws<ObjectDisposedException>(() => source.ReceiveBatch(ref handler, 0));
        Assert.Throws<ObjectDisposedException>(source.RefreshKernelStatistics);
    }

    [Fact]
    public void A_missing_interface_fails_with_a_sentence_naming_it()
    {
        var name = $"vtapno{Environment.ProcessId % 10000}x";

        var error = Assert.Throws<LiveCaptureException>(() => new AfPacketSource(new AfPacketSourceOptions { Interface = name }));

        Assert.Equal($"Interface '{name}' does not exist.", error.Message);
    }

    [Fact]
    public void Without_CAP_NET_RAW_opening_fails_with_a_sentence_naming_the_capability()
    {
        LiveTest.RequireRoot();

        // capset(2) drops the capability from the one thread that opens; nothing else is affected.
        var error = Assert.Throws<LiveCaptureException>(() => Netns.Run(null, () => new AfPacketSource(new AfPacketSourceOptions { Interface = "lo" }), dropNetRaw: true));

        Assert.Equal("Capturing on interface 'lo' needs the CAP_NET_RAW capability for an AF_PACKET socket: run as root or grant it (systemd: AmbientCapabilities=CAP_NET_RAW).", error.Message);
        Assert.Equal(1, error.ErrorNumber);
    }

    [Theory]
    [InlineData("", "Interface must name the network interface to capture on.")]
    [InlineData("a-name-longer-than-15", "Interface 'a-name-longer-than-15' is not a valid interface name (1 to 15 characters, no '/', ':' or spaces).")]
    [InlineData("eth0:1", "Interface 'eth0:1' is not a valid interface name (1 to 15 characters, no '/', ':' or spaces).")]
    public void Validate_names_an_invalid_interface(string name, string message) =>
        Assert.Equal(message, new AfPacketSourceOptions { Interface = name }.Validate());

    [Fact]
    public void Validate_names_the_first_invalid_setting_and_accepts_the_defaults()
    {
        Assert.Null(new AfPacketSourceOptions { Interface = "eth1" }.Validate());
        Assert.Equal("Ports must list at least one UDP destination port.", new AfPacketSourceOptions { Interface = "eth1", Ports = [] }.Validate());
        Assert.Equal("Ports must not contain 0.", new AfPacketSourceOptions { Interface = "eth1", Ports = [4789, 0] }.Validate());
        Assert.Equal("Ports may list at most 64 ports (has 65).", new AfPacketSourceOptions { Interface = "eth1", Ports = Enumerable.Range(1, 65).Select(p => (ushort)p).ToList() }.Validate());
        Assert.Equal($"BlockSizeBytes must be a power of two from {Environment.SystemPageSize} (one page) to 256 MiB (was 100000).", new AfPacketSourceOptions { Interface = "eth1", BlockSizeBytes = 100_000 }.Validate());
        Assert.Equal("BlockCount must be at least 1 and BlockCount x BlockSizeBytes at most 2 GiB (was 4096 x 1048576).", new AfPacketSourceOptions { Interface = "eth1", BlockCount = 4096 }.Validate());
        Assert.Equal("FrameSizeBytes must be a multiple of 16 from 80 to BlockSizeBytes (was 1500).", new AfPacketSourceOptions { Interface = "eth1", FrameSizeBytes = 1500 }.Validate());
        Assert.Equal("BlockTimeoutMilliseconds must be between 0 and 10000 (was -1).", new AfPacketSourceOptions { Interface = "eth1", BlockTimeoutMilliseconds = -1 }.Validate());
        Assert.Equal("FanoutGroup must be between 0 and 65535 (was 65536).", new AfPacketSourceOptions { Interface = "eth1", FanoutGroup = 65536 }.Validate());
        Assert.Equal("FanoutMode must be Hash, LoadBalance, Cpu or QueueMapping (was 9).", new AfPacketSourceOptions { Interface = "eth1", FanoutMode = (AfPacketFanoutMode)9 }.Validate());
        Assert.Throws<ArgumentException>(() => new AfPacketSource(new AfPacketSourceOptions { Interface = "eth1", BlockCount = 0 }));
    }

    private static byte[] Udp(ushort source, ushort destination, byte[] payload)
    {
        var segment = new byte[8 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(segment, source);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), destination);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(4), (ushort)segment.Length);
        payload.CopyTo(segment, 8);
        return segment;
    }
}
