using System.Buffers.Binary;
using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.PacketCapture;
using VtapCollector.Engine.Workers;

namespace VtapCollector.Engine.Tests.PacketCapture;

/// <summary>Sessions on the packet path and in the writer: what the ingress offers, drops, limits and a full disk.</summary>
public class CaptureSessionTests
{
    private static readonly byte[] Payload = new byte[200];

    /// <summary>VXLAN header (I flag, VNI 100), inner Ethernet, IPv4 10.10.10.1 -> 10.20.0.1, UDP 40000 -> 53 with 4 payload bytes.</summary>
    private static byte[] VxlanPayload()
    {
        var payload = new byte[8 + 14 + 20 + 8 + 4];
        payload[0] = 0x08;                                                     // VXLAN I flag (RFC 7348 section 5)
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), 100u << 8);   // VNI 100
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(8 + 12), 0x0800); // inner EtherType IPv4
        var ip = payload.AsSpan(8 + 14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 32);                    // IP + UDP + 4
        ip[8] = 64;
        ip[9] = 17;
        ip[12] = 10; ip[13] = 10; ip[14] = 10; ip[15] = 1;
        ip[16] = 10; ip[17] = 20; ip[18] = 0; ip[19] = 1;
        var udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 53);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], 12);
        udp[8..].Fill(0xAB);
        return payload;
    }

    private static ReceivedDatagram From(string source) =>
        new(IpAddress.Parse(source), 4, 50000, 4789, 1_000, true, false) { Destination = IpAddress.Parse("192.0.2.9"), DestinationIpVersion = 4 };

    private static PacketIngress Ingress(CaptureSessions sessions) =>
        new(new PacketDecoder(), new AllowListHolder(AllowList.Open), [new SpscQueue<QueuedPacket>(64)], OverflowPolicy.DropNewest,
            new ReceiverCounters("udp", 4, 4), new LabelIndex<uint>(4), new LabelIndex<IpAddress>(4), new StopSignal(), EngineClock.Wall, captures: sessions);

    private static CaptureSessions Sessions(string folder, int max = 4) => new(folder, max, new DecoderOptions());

    [Fact]
    public void OnTunnelPayload_MatchingSession_KeepsTheInnerFrameWithItsVniAndTunnelSource()
    {
        using var folder = new TempFolder();
        var sessions = Sessions(folder.Path);
        var session = sessions.TryStart(new CaptureSpec { Name = "inner", Filter = CaptureFilterParser.TryParse("proto=udp,rport=53", out _)! }, out _, out _)!;
        var ingress = Ingress(sessions);
        var payload = VxlanPayload();

        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), payload);

        Assert.True(session.Queue.TryPeek(out var frame, out var data));
        Assert.Equal(payload.AsSpan(8).ToArray(), data.ToArray());
        Assert.Equal(LinkType.Ethernet, frame.LinkType);
        Assert.Equal(100u, frame.Vni);
        Assert.Equal(IpAddress.Parse("192.0.2.1"), frame.TunnelSource);
        Assert.Equal(1_000, frame.TimestampNanos);
    }

    /// <summary>
    /// A receiver marks a batch before its receive call waits; a session started during that wait (from
    /// the API or a reload) must get the packets that end it, not only those of the next batch.
    /// </summary>
    [Fact]
    public void OnTunnelPayload_SessionStartedWhileTheReceiverWaited_KeepsTheBatchThatEndedTheWait()
    {
        using var folder = new TempFolder();
        var sessions = Sessions(folder.Path);
        var ingress = Ingress(sessions);

        ingress.BeginBatch();
        var session = sessions.TryStart(new CaptureSpec { Name = "late", Filter = CaptureFilterParser.TryParse("proto=udp", out _)! }, out _, out _)!;
        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload());
        ingress.Flush();

        Assert.True(session.Queue.TryPeek(out _, out _));
        session.Queue.Release();

        // Stopped during the next wait: the batch after it offers it nothing.
        ingress.BeginBatch();
        sessions.Stop(session.Name, "the test stopped it");
        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload());
        Assert.False(session.Queue.TryPeek(out _, out _));
    }

    [Fact]
    public void OnTunnelPayload_OuterSession_KeepsAnIpUdpPacketTheDecoderReadsBackAsTheSameTunnel()
    {
        using var folder = new TempFolder();
        var sessions = Sessions(folder.Path);
        var session = sessions.TryStart(new CaptureSpec { Name = "outer", Outer = true }, out _, out _)!;
        var ingress = Ingress(sessions);

        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload());

        Assert.True(session.Queue.TryPeek(out var frame, out var data));
        Assert.Equal(LinkType.Raw, frame.LinkType);
        Assert.Equal(DecodeStatus.Ok, new PacketDecoder().Decode(LinkType.Raw, data, out var decoded));
        Assert.Equal(IpAddress.Parse("192.0.2.1"), decoded.TunnelSource);
        Assert.Equal(IpAddress.Parse("192.0.2.9"), decoded.TunnelDestination);
        Assert.Equal(100u, decoded.Vni);
        Assert.Equal((ushort)53, decoded.DestinationPort);
    }

    [Fact]
    public void OnTunnelPayload_NoSessionMatches_OffersNothing()
    {
        using var folder = new TempFolder();
        var sessions = Sessions(folder.Path);
        var session = sessions.TryStart(new CaptureSpec { Name = "tcp", Filter = CaptureFilterParser.TryParse("proto=tcp", out _)! }, out _, out _)!;
        var ingress = Ingress(sessions);

        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload());

        Assert.False(session.Queue.TryPeek(out _, out _));
        Assert.Equal(0, session.Dropped);
    }

    [Fact]
    public void Enqueue_QueueFull_CountsEveryDroppedPacketForItsSession()
    {
        using var folder = new TempFolder();
        var session = Sessions(folder.Path).TryStart(new CaptureSpec { Name = "small", SnapLength = 256, QueueBytes = 4096 }, out _, out _)!;

        for (var i = 0; i < 40; i++)
        {
            session.Enqueue(default, Payload, CaptureFiles.Frame(i));
        }

        Assert.Equal(16, session.Queue.Capacity);
        Assert.Equal(40 - 16, session.Dropped);
    }

    [Fact]
    public void Writer_PacketLimit_CompletesTheSessionWithExactlyThatManyPackets()
    {
        using var folder = new TempFolder();
        var sessions = Sessions(folder.Path);
        var session = sessions.TryStart(new CaptureSpec { Name = "five", MaxPackets = 5 }, out _, out _)!;
        using var writer = new CaptureWriter(sessions);
        for (var i = 0; i < 10; i++)
        {
            session.Enqueue(default, Payload, CaptureFiles.Frame(i));
        }

        for (var pass = 0; pass < 10; pass++)
        {
            writer.DrainOnce();
        }

        writer.CloseAll();
        Assert.Equal(CaptureState.Completed, session.State);
        Assert.Empty(sessions.Active);
        Assert.Equal(5, session.Packets);
        var file = Assert.Single(CaptureFileSet.ListFiles(session.Directory, "five"));
        Assert.Equal(5, CaptureFiles.Read(Path.Combine(session.Directory, file.Name)).Packets);
    }

    [Fact]
    public void Writer_AsleepWithNothingQueued_IsRungAwakeByTheNextPacketAndByTheStop()
    {
        using var folder = new TempFolder();
        var sessions = Sessions(folder.Path);
        var session = sessions.TryStart(new CaptureSpec { Name = "quiet" }, out _, out _)!;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var writer = new CaptureWriter(sessions) { LongSleep = TimeSpan.FromSeconds(60) };
        writer.Start();

        // Nothing queued for longer than the writer lingers: it is in its minute-long sleep now.
        Thread.Sleep(500);
        session.Enqueue(default, Payload, CaptureFiles.Frame(0));
        sessions.Doorbell.Ring();
        SpinWait.SpinUntil(() => session.Packets == 1, TimeSpan.FromSeconds(20));
        Assert.Equal(1, session.Packets);

        Thread.Sleep(500);
        writer.Dispose();
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"the writer slept through the packet or the stop: {stopwatch.Elapsed}");
        Assert.Null(writer.Failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ingress_KeptPacketWhileTheWriterSleepsLong_RingsItAtTheFlush(bool singleProducer)
    {
        using var folder = new TempFolder();
        var sessions = new CaptureSessions(folder.Path, 4, new DecoderOptions()) { SingleProducer = singleProducer };
        var session = sessions.TryStart(new CaptureSpec { Name = "rung" }, out _, out _)!;
        var ingress = Ingress(sessions);
        var writer = new CaptureWriter(sessions) { LongSleep = TimeSpan.FromSeconds(60) };
        writer.Start();

        // Nothing queued for longer than the writer lingers: it is in its minute-long sleep now.
        Thread.Sleep(500);
        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload());
        ingress.Flush();
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        SpinWait.SpinUntil(() => session.Packets == 1, TimeSpan.FromSeconds(20));

        Assert.Equal(1, session.Packets);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"the kept packet waited for the writer's sleep: {stopwatch.Elapsed}");
        writer.Dispose();
        Assert.Null(writer.Failure);
    }

    [Fact]
    public void Writer_DiskFull_PausesTheSessionCountsItsPacketsAndResumesWhenThereIsRoom()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "full.pcapng");
        File.CreateSymbolicLink(path, "/dev/full");
        var sessions = Sessions(folder.Path);
        var session = sessions.TryStart(new CaptureSpec { Name = "full", SingleFile = path }, out _, out _)!;
        using var writer = new CaptureWriter(sessions) { RetryInterval = TimeSpan.Zero };
        var changes = new List<string>();
        writer.StateChanged += (_, sentence) => changes.Add(sentence);
        for (var i = 0; i < 3; i++)
        {
            session.Enqueue(default, Payload, CaptureFiles.Frame(i));
        }

        writer.DrainOnce();

        Assert.Equal(CaptureState.Paused, session.State);
        Assert.Equal("the disk is full", session.Reason);
        Assert.Equal(3, session.Dropped);
        Assert.Contains(changes, c => c.Contains("paused", StringComparison.Ordinal));

        // The temporary folder's disk has room: the next pass resumes the session.
        writer.DrainOnce();

        Assert.Equal(CaptureState.Running, session.State);
        Assert.Contains(changes, c => c.Contains("resumed", StringComparison.Ordinal));
    }

    [Fact]
    public void TryStart_BeyondMaxSessions_IsRefusedAsTooMany()
    {
        using var folder = new TempFolder();
        var sessions = Sessions(folder.Path, max: 1);
        Assert.NotNull(sessions.TryStart(new CaptureSpec { Name = "one" }, out _, out _));

        Assert.Null(sessions.TryStart(new CaptureSpec { Name = "two" }, out var refusal, out var error));
        Assert.Equal(CaptureRefusal.TooMany, refusal);
        Assert.Contains("Capture:MaxSessions", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Reconcile_ChangedConfiguredSession_StopsTheOldAndLeavesApiSessionsAlone()
    {
        using var folder = new TempFolder();
        var sessions = Sessions(folder.Path);
        var api = sessions.TryStart(new CaptureSpec { Name = "api" }, out _, out _)!;
        Assert.Empty(sessions.Reconcile([new CaptureSpec { Name = "conf", SnapLength = 128 }]));
        var first = sessions.Find("conf")!;

        sessions.Reconcile([new CaptureSpec { Name = "conf", SnapLength = 256 }]);

        Assert.Equal(CaptureState.Stopped, first.State);
        Assert.Equal(CaptureState.Running, api.State);
        Assert.DoesNotContain(first, sessions.Active);
    }
}
