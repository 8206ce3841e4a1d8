using VtapCollector.Decoding;
using static VtapCollector.Flows.Tests.PacketFactory;

namespace VtapCollector.Flows.Tests;

public class FlowTableTests
{
    private const byte Syn = TcpFlagBits.Syn;
    private const byte SynAck = TcpFlagBits.Syn | TcpFlagBits.Ack;
    private const byte Ack = TcpFlagBits.Ack;
    private const byte FinAck = TcpFlagBits.Fin | TcpFlagBits.Ack;
    private const byte RstAck = TcpFlagBits.Rst | TcpFlagBits.Ack;

    private readonly RecordingWriter _writer = new();

    private FlowTable Table(int capacity = 1024, double activeSeconds = 60) =>
        new(new FlowTableOptions { Capacity = capacity, ActiveTimeout = TimeSpan.FromSeconds(activeSeconds) }, _writer);

    [Fact]
    public void Update_SynSynAckAckDataFinFinAck_OneFlowSfWithInitiatorAsSource()
    {
        var table = Table();
        table.Update(Tcp("10.0.0.2", 40000, "10.0.0.1", 443, Syn, 60), T0);
        table.Update(Tcp("10.0.0.1", 443, "10.0.0.2", 40000, SynAck, 60), T0 + 1000);
        table.Update(Tcp("10.0.0.2", 40000, "10.0.0.1", 443, Ack, 52), T0 + 2000);
        table.Update(Tcp("10.0.0.2", 40000, "10.0.0.1", 443, (byte)(Ack | TcpFlagBits.Psh), 552), T0 + 3000);
        table.Update(Tcp("10.0.0.1", 443, "10.0.0.2", 40000, FinAck, 52), T0 + 4000);
        table.Update(Tcp("10.0.0.2", 40000, "10.0.0.1", 443, FinAck, 52), T0 + 5000);
        table.Update(Tcp("10.0.0.1", 443, "10.0.0.2", 40000, Ack, 52), T0 + 6000);

        Assert.Equal(1, table.Count);
        table.Expire(T0 + (6 * Second));
        var record = Assert.Single(_writer.Records);
        Assert.Equal(FlowRecordType.End, record.Type);
        Assert.Equal(EndReason.Fin, record.EndReason);
        Assert.Equal(IpAddress.Parse("10.0.0.2"), record.Source);
        Assert.Equal(40000, record.SourcePort);
        Assert.Equal(443, record.DestinationPort);
        Assert.Equal(4ul, record.PacketsSrcToDst);
        Assert.Equal(60ul + 52 + 552 + 52, record.BytesSrcToDst);
        Assert.Equal(3ul, record.PacketsDstToSrc);
        Assert.Equal(60ul + 52 + 52, record.BytesDstToSrc);
        Assert.Equal(ConnState.SF, record.ConnState);
        Assert.Equal(T0, record.FirstSeenNanos);
        Assert.Equal(T0 + 6000, record.LastSeenNanos);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Update_SynAckSeenFirst_InitiatorIsItsReceiver()
    {
        var table = Table();
        table.Update(Tcp("10.0.0.1", 443, "10.0.0.2", 40000, SynAck), T0);
        table.Update(Tcp("10.0.0.2", 40000, "10.0.0.1", 443, Ack), T0 + 1);
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(IpAddress.Parse("10.0.0.2"), record.Source);
        Assert.Equal(1ul, record.PacketsSrcToDst);
        Assert.Equal(1ul, record.PacketsDstToSrc);
    }

    [Fact]
    public void Update_UdpWithoutSyn_InitiatorIsFirstSenderAndStateFollowsReplies()
    {
        var table = Table();
        table.Update(Udp("10.0.0.9", 53, "10.0.0.2", 5353), T0);
        table.Update(Udp("10.0.0.7", 5000, "10.0.0.8", 53), T0);
        table.Update(Udp("10.0.0.8", 53, "10.0.0.7", 5000), T0 + 1);
        table.FlushAll(EndReason.EndOfInput);

        var oneWay = _writer.Records.Single(r => r.Source == IpAddress.Parse("10.0.0.9"));
        var answered = _writer.Records.Single(r => r.Source == IpAddress.Parse("10.0.0.7"));
        Assert.Equal(ConnState.S0, oneWay.ConnState);
        Assert.Equal(ConnState.SF, answered.ConnState);
        Assert.Equal(EndReason.EndOfInput, answered.EndReason);
    }

    [Fact]
    public void Update_SameTupleInTwoVnis_TwoFlows()
    {
        var table = Table();
        table.Update(Udp("10.0.0.1", 1000, "10.0.0.2", 2000, vni: 100), T0);
        table.Update(Udp("10.0.0.1", 1000, "10.0.0.2", 2000, vni: 200), T0);
        table.Update(Udp("10.0.0.2", 2000, "10.0.0.1", 1000, vni: 200), T0);
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(2, _writer.Records.Count);
        Assert.Equal(1ul, _writer.Records.Single(r => r.Vni == 100).PacketsSrcToDst);
        Assert.Equal(1ul, _writer.Records.Single(r => r.Vni == 200).PacketsDstToSrc);
        Assert.NotEqual(_writer.Records[0].FlowId, _writer.Records[1].FlowId);
    }

    [Fact]
    public void Update_IcmpEchoRequestAndReply_OneFlowWithTypeAndCounterpart()
    {
        var table = Table();
        table.Update(Icmp("10.0.0.1", "10.0.0.2", 8, 0), T0);
        table.Update(Icmp("10.0.0.2", "10.0.0.1", 0, 0), T0 + 1);
        table.Update(Icmp("fd00::1", "fd00::2", 128, 0), T0 + 2);
        table.Update(Icmp("fd00::2", "fd00::1", 129, 0), T0 + 3);
        table.Update(Icmp("10.0.0.2", "10.0.0.1", 3, 3), T0 + 4);
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(3, _writer.Records.Count);
        var echo = _writer.Records.Single(r => r.Protocol == IpProtocol.Icmp && r.SourcePort == 8);
        Assert.Equal(0, echo.DestinationPort);
        Assert.Equal((1ul, 1ul), (echo.PacketsSrcToDst, echo.PacketsDstToSrc));
        var echo6 = _writer.Records.Single(r => r.Protocol == IpProtocol.Icmpv6);
        Assert.Equal((128, 129), (echo6.SourcePort, echo6.DestinationPort));
        var unreachable = _writer.Records.Single(r => r.SourcePort == 3);
        Assert.Equal(3, unreachable.DestinationPort);
        Assert.Equal(IpAddress.Parse("10.0.0.2"), unreachable.Source);
    }

    [Fact]
    public void Expire_ActiveTimeout_EmitsUpdateDeltasThatSumToTotals()
    {
        var table = Table(activeSeconds: 10);
        var totalBytes = 0ul;
        for (var second = 0; second < 35; second++)
        {
            table.Update(Udp("10.0.0.1", 1000, "10.0.0.2", 2000, ipBytes: (uint)(100 + second)), T0 + (second * Second));
            totalBytes += (ulong)(100 + second);
            table.Expire(T0 + (second * Second));
        }

        table.FlushAll(EndReason.EndOfInput);
        var records = _writer.Records;
        Assert.Equal(3, records.Count(r => r.Type == FlowRecordType.Update));
        Assert.Equal(FlowRecordType.End, records[^1].Type);
        Assert.Equal(35ul, records.Aggregate(0ul, (sum, r) => sum + r.PacketsSrcToDst));
        Assert.Equal(totalBytes, records.Aggregate(0ul, (sum, r) => sum + r.BytesSrcToDst));
        Assert.Equal(Enumerable.Range(0, records.Count).Select(i => (uint)i), records.Select(r => r.Sequence));
        Assert.Single(records.Select(r => r.FlowId).Distinct());
    }

    [Fact]
    public void Expire_IdleTimeouts_UdpAfter60sTcpAfter300s()
    {
        var table = Table();
        table.Update(Udp("10.0.0.1", 1000, "10.0.0.2", 2000), T0);
        table.Update(Tcp("10.0.0.1", 1001, "10.0.0.2", 22, Ack), T0);

        table.Expire(T0 + (59 * Second));
        Assert.Empty(_writer.Records);
        table.Expire(T0 + (60 * Second));
        var udp = Assert.Single(_writer.Records, r => r.Type == FlowRecordType.End);
        Assert.Equal((IpProtocol.Udp, EndReason.IdleTimeout), (udp.Protocol, udp.EndReason));

        // The TCP flow is still open at 60 s: it only got its active-timeout update record.
        Assert.Contains(_writer.Records, r => r.Protocol == IpProtocol.Tcp && r.Type == FlowRecordType.Update);
        table.Expire(T0 + (299 * Second));
        Assert.DoesNotContain(_writer.Records, r => r.Protocol == IpProtocol.Tcp && r.Type == FlowRecordType.End);
        table.Expire(T0 + (300 * Second));
        var tcp = Assert.Single(_writer.Records, r => r.Protocol == IpProtocol.Tcp && r.Type == FlowRecordType.End);
        Assert.Equal(EndReason.IdleTimeout, tcp.EndReason);
        Assert.Equal(0ul, tcp.PacketsSrcToDst);
    }

    [Fact]
    public void Update_RefusedConnection_RejEndedByRstAfterLinger()
    {
        var table = Table();
        table.Update(Tcp("10.0.0.1", 5000, "10.0.0.2", 8081, Syn), T0);
        table.Update(Tcp("10.0.0.2", 8081, "10.0.0.1", 5000, RstAck), T0 + 10);
        table.Expire(T0 + (4 * Second));
        Assert.Empty(_writer.Records);
        table.Expire(T0 + (5 * Second) + 10);
        var record = Assert.Single(_writer.Records);
        Assert.Equal((EndReason.Rst, ConnState.REJ), (record.EndReason, record.ConnState));
    }

    [Fact]
    public void Update_NewSynAfterClose_EndsOldFlowAndStartsNewOne()
    {
        var table = Table();
        table.Update(Tcp("10.0.0.1", 5000, "10.0.0.2", 80, Syn), T0);
        table.Update(Tcp("10.0.0.2", 80, "10.0.0.1", 5000, SynAck), T0 + 1);
        table.Update(Tcp("10.0.0.1", 5000, "10.0.0.2", 80, RstAck), T0 + 2);
        table.Update(Tcp("10.0.0.1", 5000, "10.0.0.2", 80, Syn), T0 + 3);
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(2, _writer.Records.Count);
        Assert.Equal((EndReason.Rst, ConnState.RSTO), (_writer.Records[0].EndReason, _writer.Records[0].ConnState));
        Assert.Equal((EndReason.EndOfInput, ConnState.S0), (_writer.Records[1].EndReason, _writer.Records[1].ConnState));
        Assert.NotEqual(_writer.Records[0].FlowId, _writer.Records[1].FlowId);
    }

    [Fact]
    public void Update_TableFull_EvictsLeastRecentlySeenOfTheSampleAndCountsIt()
    {
        var table = Table(capacity: 16);
        for (var i = 0; i < 16; i++)
        {
            table.Update(Udp("10.0.0.1", (ushort)(1000 + i), "10.0.0.2", 53), T0 + (i * Second));
        }

        table.Update(Udp("10.0.0.1", 2000, "10.0.0.2", 53), T0 + (20 * Second));

        Assert.Equal(16, table.Count);
        Assert.Equal(1, table.Evictions);
        var evicted = Assert.Single(_writer.Records);
        Assert.Equal(EndReason.Evicted, evicted.EndReason);
        Assert.True(evicted.LastSeenNanos <= T0 + (8 * Second), "the victim is the stalest of the eight sampled flows");
    }

    [Fact]
    public void Update_FragmentsOfOneDatagram_CountInTheFirstFragmentsFlow()
    {
        var table = Table();
        var first = Udp("10.0.0.1", 4000, "10.0.0.2", 5000, ipBytes: 1500);
        first.Flags = PacketFlags.Fragment;
        first.MoreFragments = true;
        first.FragmentId = 77;
        var later = Udp("10.0.0.1", 0, "10.0.0.2", 0, ipBytes: 520);
        later.Flags = PacketFlags.Fragment;
        later.FragmentOffset = 185;
        later.FragmentId = 77;
        var orphan = later;
        orphan.FragmentId = 78;

        Assert.Equal(DecodeStatus.Ok, table.Update(first, T0));
        Assert.Equal(DecodeStatus.Ok, table.Update(later, T0 + 1));
        Assert.Equal(DecodeStatus.FragmentWithoutFirst, table.Update(orphan, T0 + 2));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal((5000, 2ul, 2020ul), (record.DestinationPort, record.PacketsSrcToDst, record.BytesSrcToDst));
    }

    [Fact]
    public void UpdateBatch_SameResultsAsOneByOne()
    {
        var random = new Random(5);
        var packets = Enumerable.Range(0, 64).Select(_ => Udp($"10.0.{random.Next(4)}.{random.Next(4)}", (ushort)random.Next(1, 4), "10.1.0.1", 53)).ToArray();
        var times = Enumerable.Range(0, 64).Select(i => T0 + i).ToArray();
        var single = new RecordingWriter();
        var one = new FlowTable(new FlowTableOptions { Capacity = 64 }, single);
        foreach (var (packet, time) in packets.Zip(times))
        {
            one.Update(packet, time);
        }

        var batched = Table(capacity: 64);
        batched.UpdateBatch(packets, times, new DecodeStatus[64]);
        one.FlushAll(EndReason.EndOfInput);
        batched.FlushAll(EndReason.EndOfInput);

        Assert.Equal(single.Records, _writer.Records);
    }

    [Fact]
    public void Update_RandomTrafficWithRemovals_MatchesADictionaryModel()
    {
        // Many flows in a small table, ended by idle timeouts while others keep going: the index's
        // backward-shift deletion must keep every remaining flow findable with its own counters.
        var table = Table(capacity: 4096);
        var model = new Dictionary<(int Client, int Server), ulong>();
        var random = new Random(11);
        var now = T0;
        for (var step = 0; step < 60_000; step++)
        {
            now += Second / 100;
            var client = random.Next(3000);
            var server = random.Next(3);
            table.Update(Udp($"10.{client >> 8}.{client & 255}.1", 1000, $"10.200.0.{server}", 53), now);
            model[(client, server)] = model.GetValueOrDefault((client, server)) + 1;
            if (step % 1000 == 0)
            {
                table.Expire(now);
            }
        }

        table.FlushAll(EndReason.EndOfInput);
        var sums = _writer.Records
            .GroupBy(r => (Client: (int)((r.Source.IPv4 >> 8) & 0xFFFF), Server: (int)(r.Destination.IPv4 & 255)))
            .ToDictionary(g => g.Key, g => g.Aggregate(0ul, (sum, r) => sum + r.PacketsSrcToDst + r.PacketsDstToSrc));
        Assert.Equal(model.Count, sums.Count);
        foreach (var (key, packets) in model)
        {
            Assert.Equal(packets, sums[key]);
        }
    }

    [Fact]
    public void BytesPerFlow_IsBoundedAndReported()
    {
        var table = Table(capacity: 100_000);
        Assert.InRange(table.BytesPerFlow, 100, 256);
        Assert.True(table.MemoryBytes >= table.BytesPerFlow * table.Capacity);
    }
}
