using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VtapCollector.Capture.Live;
using VtapCollector.Capture.Live.Xdp;

namespace VtapCollector.Capture.Tests.Live;

/// <summary>
/// The AF_XDP source on real kernel traffic: each test builds its own pair of network namespaces
/// joined by a veth pair (veth runs native XDP), opens the source inside the capture namespace and
/// sends from the other. Runs as root; every loop is bounded in calls and time, and the namespaces
/// are deleted however the test ends (which also removes any program left on the interface).
/// </summary>
public sealed class XdpSourceTests
{
    private static XdpSourceOptions Options(VethPair pair, XdpAttachMode mode = XdpAttachMode.Native, int ringSize = 256) =>
        new()
        {
            Interface = pair.CaptureInterface,
            RingSize = ringSize,
            AttachMode = mode,
        };

    private static LiveTest.Receive Receiver(XdpSource source) =>
        (ref RecordingHandler handler, int timeout) => source.ReceiveBatch(ref handler, timeout);

    private static LiveTest.Receive Receiver(AfPacketSource source) =>
        (ref RecordingHandler handler, int timeout) => source.ReceiveBatch(ref handler, timeout);

    private static Sockets Open(VethPair pair, XdpAttachMode mode = XdpAttachMode.Native, int ringSize = 256) =>
        new(pair.InCapture(() => XdpSource.Open(Options(pair, mode, ringSize))));

    [Fact]
    public void Every_tunnel_datagram_arrives_exactly_once_with_its_bytes_and_others_go_to_the_kernel()
    {
        using var pair = VethPair.Create();
        using var sockets = Open(pair);
        var source = Assert.Single(sockets.All);
        Assert.Equal(XdpAttachMode.Native, source.AttachMode);
        Assert.False(source.ZeroCopy);
        var sent = LiveTraffic.Mixed(240);

        var before = LiveTest.NowNanos();
        pair.SendUdp(sent);
        var after = LiveTest.NowNanos();
        var received = LiveTest.Drain(Receiver(source), sent.Count(LiveTraffic.IsTunnel));

        // The batch is stamped when it is read, which comes after the sending.
        LiveTraffic.AssertExactlyTheTunnelDatagrams(sent, received, before, after + 5_000_000_000L);
        source.RefreshKernelStatistics();
        Assert.Equal(0, source.KernelDrops);
        Assert.Equal(received.Count, source.Packets);
        Assert.Equal(received.Sum(packet => (long)packet.Data.Length), source.Bytes);
    }

    [Fact]
    public void Frames_equal_those_the_AF_PACKET_source_captures_for_the_same_frames_one_for_one()
    {
        using var pair = VethPair.Create();
        var matrix = InjectedFrames.FilterMatrix();
        var accepted = matrix.Count(frame => frame.Accepted);

        // XDP runs before the packet taps: a redirected frame never reaches an AF_PACKET socket,
        // so the same frames are sent twice, once to each source.
        List<RecordedPacket> fromAfPacket;
        using (var ring = pair.InCapture(() => new AfPacketSource(new AfPacketSourceOptions { Interface = pair.CaptureInterface, BlockSizeBytes = 64 * 1024, BlockCount = 16, BlockTimeoutMilliseconds = 5 })))
        {
            pair.Inject(matrix.Select(frame => frame.Bytes));
            fromAfPacket = LiveTest.Drain(Receiver(ring), accepted);
        }

        List<RecordedPacket> fromXdp;
        using (var sockets = Open(pair))
        {
            pair.Inject(matrix.Select(frame => frame.Bytes));
            fromXdp = LiveTest.Drain(Receiver(sockets.All[0]), accepted);
        }

        Assert.Equal(matrix.Where(frame => frame.Accepted).Select(frame => frame.Bytes), fromXdp.Select(packet => packet.Data));
        Assert.Equal(fromAfPacket.Count, fromXdp.Count);
        for (var i = 0; i < fromXdp.Count; i++)
        {
            Assert.Equal(fromAfPacket[i].Data, fromXdp[i].Data);
            Assert.Equal(fromAfPacket[i].OriginalLength, fromXdp[i].OriginalLength);
            Assert.Equal(fromAfPacket[i].LinkType, fromXdp[i].LinkType);
        }
    }

    [Fact]
    public void Receiving_allocates_nothing_per_frame()
    {
        using var pair = VethPair.Create();

        // The ring holds every datagram of a round: they are all sent before the reading starts.
        using var sockets = Open(pair, ringSize: 512);
        var source = sockets.All[0];
        var counter = new PacketCounter();
        var handler = new CountingHandler(counter);
        var datagrams = Enumerable.Range(0, 320).Select(i => new Datagram(i, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(i, 200))).ToList();

        // A first round runs every path once (delivery, the wait, the nap, the statistics), so
        // that compiling and binding native entry points happen before the measurement.
        pair.SendUdp(datagrams.Take(20));
        for (var calls = 0; counter.Count < 20 && calls < 1_000; calls++)
        {
            source.ReceiveBatch(ref handler, 50);
        }

        Assert.Equal(0, source.ReceiveBatch(ref handler, 1));
        source.RefreshKernelStatistics();

        // The least of three rounds: the runtime's one-time work (a tier-up) can land in one
        // round; an allocation per frame shows in every round.
        var allocated = long.MaxValue;
        for (var round = 0; round < 3 && allocated != 0; round++)
        {
            var expected = counter.Count + 300;
            pair.SendUdp(datagrams.Skip(20));
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var calls = 0; counter.Count < expected && calls < 1_000; calls++)
            {
                source.ReceiveBatch(ref handler, 50);
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(expected, counter.Count);
        }

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Frames_that_find_the_ring_full_are_counted_as_kernel_drops()
    {
        using var pair = VethPair.Create();
        using var sockets = Open(pair, ringSize: 64);
        var source = sockets.All[0];
        var datagrams = Enumerable.Range(0, 300).Select(i => new Datagram(i, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(i, 100))).ToList();

        // Nothing is read while they arrive: the 64-entry receive ring fills and the rest is dropped.
        pair.SendUdp(datagrams);
        var received = LiveTest.Drain(Receiver(source), datagrams.Count, TimeSpan.FromSeconds(2));
        source.RefreshKernelStatistics();

        Assert.Equal(64, received.Count);
        Assert.Equal(datagrams.Count - received.Count, source.KernelDrops);
        Assert.Equal(Enumerable.Range(0, 64), received.Select(packet => LiveTraffic.IndexOf(packet.Data)));
    }

    [Fact]
    public void Frames_equal_the_tunnel_frames_tshark_finds_in_a_capture_of_the_sending_side()
    {
        using var pair = VethPair.Create();
        using var sockets = Open(pair, ringSize: 1024);
        using var scratch = new TempFile(".pcap");
        using var filtered = new TempFile(".pcap");
        var matrix = InjectedFrames.FilterMatrix();
        var sent = LiveTraffic.Mixed(120);

        // dumpcap records every frame the sender puts on its end of the pair; tshark, not our
        // filter, then picks the tunnel frames (UDP to 4789, 8472 or 6081, under VLAN tags too;
        // fragments are not reassembled, so a first fragment counts and a later one does not).
        using (var capture = Background.Start("ip", $"netns exec {pair.SenderNamespace} dumpcap -q -i {pair.SenderInterface} -w {scratch.Path}"))
        {
            capture.WaitUntil(() => File.Exists(scratch.Path) && new FileInfo(scratch.Path).Length > 0, TimeSpan.FromSeconds(60));
            pair.Inject(matrix.Select(frame => frame.Bytes));
            pair.SendUdp(sent);
            var expectedCount = matrix.Count(frame => frame.Accepted) + sent.Count(LiveTraffic.IsTunnel);
            var received = LiveTest.Drain(Receiver(sockets.All[0]), expectedCount);
            capture.WaitUntil(() => Captures.ReadFile(scratch.Path).Packets.Count >= matrix.Count + sent.Count, TimeSpan.FromSeconds(30));
            capture.Interrupt();

            RunTool("tshark", $"-r {scratch.Path} -o ip.defragment:FALSE -Y \"(udp.dstport == 4789 || udp.dstport == 8472 || udp.dstport == 6081) && !icmp && !icmpv6\" -w {filtered.Path}");
            var oracle = Captures.ReadFile(filtered.Path).Packets;
            Assert.Equal(expectedCount, oracle.Count);
            Assert.Equal(oracle.Select(packet => packet.Data), received.Select(packet => packet.Data));
            Assert.Equal(oracle.Select(packet => packet.OriginalLength), received.Select(packet => packet.OriginalLength));
        }
    }

    [Fact]
    public void One_socket_per_receive_queue_and_together_they_get_every_tunnel_datagram_once()
    {
        using var pair = VethPair.Create(queues: 2);
        using var sockets = Open(pair);
        Assert.Equal([0, 1], sockets.All.Select(socket => socket.Queue));

        // Many outer source ports: the sender's transmit queue, and so the receive queue on the
        // other end, follows the flow hash.
        var sent = Enumerable.Range(0, 200).Select(i => new Datagram(i, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(i, 64), SourcePort: 41000 + i)).ToList();
        pair.SendUdp(sent);

        var received = sockets.All.SelectMany(socket => LiveTest.Drain(Receiver(socket), 1, TimeSpan.FromSeconds(2))).ToList();
        Assert.Equal(Enumerable.Range(0, 200), received.Select(packet => LiveTraffic.IndexOf(packet.Data)).Order());
    }

    [Fact]
    public void While_attached_ping_and_a_TCP_connection_to_the_capture_address_still_work()
    {
        using var pair = VethPair.Create();
        using var sockets = Open(pair);
        using var listener = pair.InCapture(() =>
        {
            var socket = new TcpListener(VethPair.CaptureIpv4, 0);
            socket.Start();
            return socket;
        });
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var ping = RunTool("ip", $"netns exec {pair.SenderNamespace} ping -c 3 -i 0.2 -W 5 {VethPair.CaptureIpv4}");
        Assert.Contains("3 received", ping, StringComparison.Ordinal);
        var ping6 = RunTool("ip", $"netns exec {pair.SenderNamespace} ping -6 -c 3 -i 0.2 -W 5 {VethPair.CaptureIpv6}");
        Assert.Contains("3 received", ping6, StringComparison.Ordinal);

        var echoed = Netns.Run(pair.SenderNamespace, () =>
        {
            using var client = new TcpClient(AddressFamily.InterNetwork);
            var accept = listener.AcceptTcpClientAsync();
            client.Connect(VethPair.CaptureIpv4, port);
            using var server = accept.Wait(TimeSpan.FromSeconds(15)) ? accept.Result : throw new TimeoutException("the TCP connection was not accepted within 15 s");
            client.GetStream().Write("hello"u8);
            var buffer = new byte[5];
            server.GetStream().ReadExactly(buffer);
            return buffer;
        });
        Assert.Equal("hello"u8.ToArray(), echoed);

        // The tunnel traffic still went to the socket meanwhile.
        pair.SendUdp([new Datagram(1, new IPEndPoint(VethPair.CaptureIpv4, 4789), LiveTest.TunnelPayload(1, 64))]);
        Assert.Single(LiveTest.Drain(Receiver(sockets.All[0]), 1));
    }

    [Fact]
    public void Closing_the_sockets_leaves_no_XDP_program_on_the_interface()
    {
        using var pair = VethPair.Create();
        var sockets = Open(pair);
        var attached = IpCommand.Run($"-n {pair.CaptureNamespace} link show dev {pair.CaptureInterface}");
        Assert.Contains("prog/xdp", attached, StringComparison.Ordinal);

        sockets.Dispose();

        var detached = IpCommand.Run($"-n {pair.CaptureNamespace} link show dev {pair.CaptureInterface}");
        Assert.DoesNotContain("xdp", detached, StringComparison.Ordinal);
        using var again = Open(pair);
        Assert.Single(again.All);
    }

    [Fact]
    public void A_second_collector_on_the_same_interface_fails_with_one_sentence()
    {
        using var pair = VethPair.Create();
        using var first = Open(pair);

        var error = Assert.Throws<LiveCaptureException>(() => Open(pair));

        Assert.Equal($"Queue 0 of interface '{pair.CaptureInterface}' is already read by another AF_XDP socket (another collector or XDP tool): stop it first.", error.Message);
    }

    [Fact]
    public void Another_tools_XDP_program_is_left_in_place_and_named_in_one_sentence()
    {
        using var pair = VethPair.Create();

        // xdp-filter (xdp-tools) keeps its state in a BPF file system, mounted here in the
        // command's own mount namespace (ip netns exec gives it one).
        RunTool("ip", $"netns exec {pair.CaptureNamespace} sh -c \"mount -t bpf bpf /sys/fs/bpf && xdp-filter load {pair.CaptureInterface} -m native\"");
        var foreign = IpCommand.Run($"-n {pair.CaptureNamespace} link show dev {pair.CaptureInterface}");
        Assert.Contains("name xdpfilt", foreign, StringComparison.Ordinal);

        var error = Assert.Throws<LiveCaptureException>(() => Open(pair, XdpAttachMode.Auto));

        Assert.Equal(
            $"Interface '{pair.CaptureInterface}' already has an XDP program attached (by another tool or collector): detach it (ip link set dev {pair.CaptureInterface} xdp off) or capture with Sources:AfPacket instead.",
            error.Message);
        Assert.Equal(foreign, IpCommand.Run($"-n {pair.CaptureNamespace} link show dev {pair.CaptureInterface}"));
    }

    [Fact]
    public void Generic_mode_delivers_the_tunnel_datagrams_too()
    {
        using var pair = VethPair.Create();
        using var sockets = Open(pair, XdpAttachMode.Generic);
        var source = Assert.Single(sockets.All);
        Assert.Equal(XdpAttachMode.Generic, source.AttachMode);
        var sent = LiveTraffic.Mixed(40);

        pair.SendUdp(sent);

        var received = LiveTest.Drain(Receiver(source), sent.Count(LiveTraffic.IsTunnel));
        LiveTraffic.AssertExactlyTheTunnelDatagrams(sent, received, 0, long.MaxValue / 2);
    }

    [Fact]
    public void An_interface_without_native_XDP_is_refused_in_Native_mode_and_served_by_generic_XDP_in_Auto()
    {
        using var pair = VethPair.Create();

        // The loopback device's driver has no XDP of its own.
        var error = Assert.Throws<LiveCaptureException>(() => pair.InCapture(() => XdpSource.Open(new XdpSourceOptions { Interface = "lo", RingSize = 64, AttachMode = XdpAttachMode.Native })));
        Assert.Equal("Interface 'lo' has no native XDP support in its driver: set Sources:Xdp:AttachMode to Generic (slower) or Auto.", error.Message);

        using var sockets = new Sockets(pair.InCapture(() => XdpSource.Open(new XdpSourceOptions { Interface = "lo", RingSize = 64, AttachMode = XdpAttachMode.Auto })));
        var source = Assert.Single(sockets.All);
        Assert.Equal(XdpAttachMode.Generic, source.AttachMode);
        Netns.Run(pair.CaptureNamespace, () =>
        {
            using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            sender.SendTo(LiveTest.TunnelPayload(5, 64), new IPEndPoint(IPAddress.Loopback, 4789));
            sender.SendTo(LiveTest.TunnelPayload(6, 64), new IPEndPoint(IPAddress.Loopback, 9999));
        });

        var received = Assert.Single(LiveTest.Drain(Receiver(source), 1));
        Assert.Equal(5, LiveTraffic.IndexOf(received.Data));
    }

    [Fact]
    public void An_interface_that_goes_away_fails_the_receive_with_one_sentence_instead_of_spinning()
    {
        using var pair = VethPair.Create();
        using var sockets = Open(pair);
        var source = sockets.All[0];
        var handler = new RecordingHandler(new PacketLog());

        IpCommand.Run($"-n {pair.CaptureNamespace} link delete {pair.CaptureInterface}");

        var error = Assert.Throws<LiveCaptureException>(() => source.ReceiveBatch(ref handler, 5_000));
        Assert.Equal($"Interface '{pair.CaptureInterface}' went away under the AF_XDP socket of queue 0; restart the collector once it is back.", error.Message);
    }

    [Fact]
    public void A_jumbo_MTU_is_refused_by_native_XDP_with_one_sentence_and_served_by_generic_XDP_in_Auto()
    {
        using var pair = VethPair.Create();

        // A veth's native XDP takes frames of one page: its peer's 9000-byte MTU is too large.
        IpCommand.Run($"-n {pair.SenderNamespace} link set dev {pair.SenderInterface} mtu 9000");
        IpCommand.Run($"-n {pair.CaptureNamespace} link set dev {pair.CaptureInterface} mtu 9000");

        var error = Assert.Throws<LiveCaptureException>(() => Open(pair, XdpAttachMode.Native));
        Assert.Equal(
            $"Interface '{pair.CaptureInterface}' has an MTU too large for its driver's native XDP (a frame must fit one page, about 3500 bytes): lower the MTU or set Sources:Xdp:AttachMode to Auto or Generic.",
            error.Message);
        using var sockets = Open(pair, XdpAttachMode.Auto);
        Assert.Equal(XdpAttachMode.Generic, sockets.All[0].AttachMode);
    }

    [Fact]
    public void A_missing_interface_fails_with_one_sentence()
    {
        using var pair = VethPair.Create();

        var error = Assert.Throws<LiveCaptureException>(() => pair.InCapture(() => XdpSource.Open(new XdpSourceOptions { Interface = "vtnothere0" })));

        Assert.Equal("Interface 'vtnothere0' does not exist.", error.Message);
    }

    [Fact]
    public void Without_CAP_NET_RAW_the_source_says_which_capability_is_missing()
    {
        using var pair = VethPair.Create();

        var error = Assert.Throws<LiveCaptureException>(() => Netns.Run(pair.CaptureNamespace, () => XdpSource.Open(Options(pair)), dropNetRaw: true));

        Assert.Equal(
            $"Receiving on interface '{pair.CaptureInterface}' through AF_XDP needs the CAP_NET_RAW capability: run as root or grant it (systemd: the af-xdp.conf drop-in).",
            error.Message);
    }

    [Fact]
    public void CAP_BPF_CAP_NET_ADMIN_and_CAP_NET_RAW_alone_open_the_source_as_the_systemd_drop_in_grants()
    {
        using var pair = VethPair.Create();

        // Root's other capabilities (CAP_SYS_ADMIN, CAP_PERFMON, CAP_IPC_LOCK) are gone from the
        // opening thread: the program must pass the verifier's checks for a program loaded without
        // them, and the small UMEM fits the default memlock limit.
        using var sockets = new Sockets(Netns.Run(pair.CaptureNamespace, () =>
        {
            TestNative.KeepOnlyOnThisThread(TestNative.CapBpf, TestNative.CapNetAdmin, TestNative.CapNetRaw);
            return XdpSource.Open(new XdpSourceOptions { Interface = pair.CaptureInterface, RingSize = 64, FrameSizeBytes = 2048, AttachMode = XdpAttachMode.Native });
        }));
        var sent = LiveTraffic.Mixed(16);

        pair.SendUdp(sent);

        var received = LiveTest.Drain(Receiver(sockets.All[0]), sent.Count(LiveTraffic.IsTunnel));
        LiveTraffic.AssertExactlyTheTunnelDatagrams(sent, received, 0, long.MaxValue / 2);
    }

    private static string RunTool(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new TimeoutException($"{file} {arguments} did not finish within 30 s.");
        }

        return output.Result + errors.Result;
    }

    /// <summary>A tool running beside the test (a capture), interrupted when done and killed if it is still there at disposal.</summary>
    private sealed class Background : IDisposable
    {
        private readonly Process _process;

        private Background(Process process) => _process = process;

        public static Background Start(string file, string arguments) =>
            new(Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!);

        /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds; throws after <paramref name="limit"/>.</summary>
        public void WaitUntil(Func<bool> condition, TimeSpan limit)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.Elapsed > limit || _process.HasExited)
                {
                    throw new TimeoutException($"{_process.StartInfo.FileName} {_process.StartInfo.Arguments}: the condition did not hold within {limit.TotalSeconds} s (exited: {_process.HasExited}).");
                }

                Thread.Sleep(50);
            }
        }

        /// <summary>SIGINT, so the capture closes its file properly, then waits for the exit.</summary>
        public void Interrupt()
        {
            _ = TestNative.Kill(_process.Id, 2);
            if (!_process.WaitForExit(30_000))
            {
                throw new TimeoutException($"{_process.StartInfo.FileName} did not exit within 30 s of SIGINT.");
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
        }
    }

    /// <summary>The sockets of one interface, disposed together (the last detaches the program).</summary>
    private sealed class Sockets(IReadOnlyList<XdpSource> all) : IDisposable
    {
        public IReadOnlyList<XdpSource> All { get; } = all;

        public void Dispose()
        {
            foreach (var source in All)
            {
                source.Dispose();
            }
        }
    }
}
