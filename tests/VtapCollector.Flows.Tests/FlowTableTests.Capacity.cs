using VtapCollector.Decoding;
using static VtapCollector.Flows.Tests.Packets;

namespace VtapCollector.Flows.Tests;

/// <summary>Bounds of the table: eviction, flushing, index integrity, memory and allocation.</summary>
public partial class FlowTableTests
{
    private static DecodedPacket Numbered(int i, uint vni = Vni) =>
        Udp($"10.1.{i >> 8}.{i & 255}", (ushort)(1024 + i), "10.2.0.1", 53, vni: vni);

    // ---- eviction ----

    [Fact]
    public void Update_SeventeenthFlowInTableOf16_EvictsOneOfTheLeastRecentlySeen()
    {
        var table = NewTable(new FlowTableOptions { Capacity = 16 });
        for (var i = 0; i < 16; i++)
        {
            table.Update(Numbered(i), At(i));
        }

        Assert.Empty(_writer.Records);
        table.Update(Numbered(16), At(16));

        Assert.Equal(16, table.Count);
        Assert.Equal(1, table.Evictions);
        var evicted = Assert.Single(_writer.Records);
        Assert.Equal((FlowRecordType.End, EndReason.Evicted), (evicted.Type, evicted.EndReason));
        Assert.Equal(1UL, evicted.PacketsSrcToDst);

        // The victim is the stalest of EvictionSample flows, so at most Capacity - EvictionSample
        // flows can be staler than it: it is among the 9 least recently seen of the 16.
        var rank = (int)((evicted.LastSeenNanos - At(0)) / NanosPerSecond);
        Assert.InRange(rank, 0, 16 - FlowTable.EvictionSample);

        table.FlushAll(EndReason.EndOfInput);
        var remaining = _writer.Records.Skip(1).ToList();
        Assert.Equal(16, remaining.Count);
        Assert.Contains(remaining, r => r.SourcePort == 1024 + 16);
        Assert.DoesNotContain(remaining, r => r.SourcePort == evicted.SourcePort);
    }

    [Fact]
    public void Update_ManyFlowsBeyondCapacity_CountStaysAtCapacityAndEveryPacketIsReported()
    {
        var table = NewTable(new FlowTableOptions { Capacity = 16 });
        for (var i = 0; i < 200; i++)
        {
            table.Update(Numbered(i), At(i));
            Assert.True(table.Count <= 16);
        }

        Assert.Equal(16, table.Count);
        Assert.Equal(16, table.PeakCount);
        Assert.Equal(200 - 16, table.Evictions);
        Assert.Equal(200, table.FlowsCreated);
        Assert.All(_writer.Records, r => Assert.Equal(EndReason.Evicted, r.EndReason));

        // The flow created last is in the table.
        table.FlushAll(EndReason.EndOfInput);
        Assert.Contains(_writer.Records, r => r.EndReason == EndReason.EndOfInput && r.SourcePort == 1024 + 199);
        Assert.Equal(200UL, _writer.Records.Aggregate(0UL, (sum, r) => sum + r.PacketsSrcToDst));
    }

    // ---- flush ----

    [Fact]
    public void FlushAll_EndOfInput_EndsEveryFlowAndEmptiesTheTable()
    {
        var table = NewTable();
        for (var i = 0; i < 10; i++)
        {
            table.Update(Numbered(i), At(i));
        }

        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(10, _writer.Records.Count);
        Assert.All(_writer.Records, r => Assert.Equal((FlowRecordType.End, EndReason.EndOfInput), (r.Type, r.EndReason)));
        Assert.Equal(10, _writer.Records.Select(r => r.SourcePort).Distinct().Count());
        Assert.Equal(0, table.Count);
        Assert.Equal(10, table.PeakCount);
        Assert.Equal(10L, table.EndRecords);

        table.FlushAll(EndReason.EndOfInput);
        Assert.Equal(10, _writer.Records.Count);
    }

    [Fact]
    public void FlushAll_ThenNewPackets_StartFreshFlows()
    {
        var table = NewTable();
        table.Update(Numbered(1), At(0));
        table.FlushAll(EndReason.Shutdown);
        table.Update(Numbered(1), At(1));
        table.Update(Numbered(2), At(1));

        Assert.Equal(2, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        Assert.Equal(EndReason.Shutdown, _writer.Records[0].EndReason);
        Assert.Equal(3, _writer.Records.Count);
        Assert.All(_writer.Records.Skip(1), r => Assert.Equal((0U, 1UL), (r.Sequence, r.PacketsSrcToDst)));
        Assert.NotEqual(_writer.Records[0].FlowId, _writer.Records.Single(r => r.EndReason == EndReason.EndOfInput && r.SourcePort == 1025).FlowId);
    }

    // ---- index integrity: a randomized model test ----

    /// <summary>
    /// Random traffic over more tuples than the table holds at once, idle timeouts and evictions
    /// ending flows while the others keep going, checked against a dictionary. A flow the index
    /// loses after a backward shift would be created again: the table's count would exceed the
    /// model's, and a record's sequence, flow id or counters would disagree with the model.
    /// </summary>
    [Theory]
    [InlineData(1, 16, 24, 20_000)]
    [InlineData(2, 16, 60, 20_000)]
    [InlineData(3, 32, 100, 40_000)]
    [InlineData(4, 64, 200, 40_000)]
    [InlineData(5, 128, 400, 60_000)]
    public void Update_RandomTrafficWithIdleEndsAndEvictions_MatchesADictionaryModel(int seed, int capacity, int tuples, int steps)
    {
        var idle = TimeSpan.FromSeconds(10);
        var table = NewTable(new FlowTableOptions
        {
            Capacity = capacity,
            IdleTimeout = idle,
            TcpIdleTimeout = idle,
            ActiveTimeout = TimeSpan.FromSeconds(7),
        });
        var random = new Random(seed);
        var packets = new DecodedPacket[tuples];
        var replies = new DecodedPacket[tuples];
        for (var i = 0; i < tuples; i++)
        {
            var client = $"10.{i % 7}.{i >> 8}.{i & 255}";
            var server = $"10.200.0.{i % 5}";
            var port = (ushort)(2000 + i);
            var vni = (uint)(100 + (i % 3));
            (packets[i], replies[i]) = (i % 4) switch
            {
                0 => (Tcp(client, port, server, 443, PshAck, (uint)(40 + i), vni), Tcp(server, 443, client, port, Ack, 52, vni)),
                1 => (Icmp(client, server, 8, 0, (uint)(40 + i), vni), Icmp(server, client, 0, 0, (uint)(40 + i), vni)),
                _ => (Udp(client, port, server, 53, (uint)(40 + i), vni), Udp(server, 53, client, port, 300, vni)),
            };
        }

        var model = new Dictionary<int, ModelFlow>();
        var seen = 0;
        var now = At(0);
        var nextExpiry = now + NanosPerSecond;
        ulong totalPackets = 0, reportedPackets = 0;

        void Check(long time)
        {
            for (; seen < _writer.Records.Count; seen++)
            {
                var record = _writer.Records[seen];
                var tuple = TupleOf(record);
                Assert.True(model.TryGetValue(tuple, out var flow), $"a record for tuple {tuple}, which the model does not hold");
                flow!.FlowId ??= record.FlowId;
                Assert.Equal(flow.FlowId, record.FlowId);
                Assert.Equal(flow.NextSequence++, record.Sequence);
                Assert.Equal(packets[tuple].Source, record.Source);
                flow.Reported += record.PacketsSrcToDst + record.PacketsDstToSrc;
                flow.ReportedBytes += record.BytesSrcToDst + record.BytesDstToSrc;
                reportedPackets += record.PacketsSrcToDst + record.PacketsDstToSrc;
                if (record.Type == FlowRecordType.Update)
                {
                    Assert.True(record.PacketsSrcToDst + record.PacketsDstToSrc > 0, "update records are not sent for flows without packets");
                    continue;
                }

                Assert.Equal(flow.Packets, flow.Reported);
                Assert.Equal(flow.Bytes, flow.ReportedBytes);
                if (record.EndReason == EndReason.IdleTimeout)
                {
                    Assert.True(time - flow.LastSeen >= idle.Ticks * 100, "ended as idle before the idle timeout");
                }
                else
                {
                    Assert.Equal(EndReason.Evicted, record.EndReason);
                }

                model.Remove(tuple);
            }

            Assert.Equal(model.Count, table.Count);
        }

        for (var step = 0; step < steps; step++)
        {
            now += random.Next(0, 200) * (NanosPerSecond / 1000);
            if (now >= nextExpiry)
            {
                table.Expire(now);
                Check(now);
                Assert.DoesNotContain(model.Values, f => now - f.LastSeen >= idle.Ticks * 100);
                nextExpiry = now + NanosPerSecond;
            }

            // Mostly a hot set that drifts through the tuples (flows leaving it go idle), with
            // some cold packets from anywhere (they fill the table and force evictions).
            var hot = Math.Min(tuples, capacity * 3 / 4);
            var window = (int)((now - At(0)) / (3 * NanosPerSecond));
            var tuple = random.NextDouble() < capacity / 300.0 ? random.Next(tuples) : (window + random.Next(hot)) % tuples;
            var packet = random.Next(2) == 0 ? packets[tuple] : replies[tuple];
            if (!model.TryGetValue(tuple, out var flow))
            {
                // A new flow's initiator is its first sender: every flow opens from the client.
                packet = packets[tuple];
                flow = new ModelFlow();
                model.Add(tuple, flow);
            }

            Assert.Equal(DecodeStatus.Ok, table.Update(packet, now));
            flow.Packets++;
            flow.Bytes += packet.IpBytes;
            flow.LastSeen = now;
            totalPackets++;
            Check(now);
        }

        table.FlushAll(EndReason.EndOfInput);
        for (; seen < _writer.Records.Count; seen++)
        {
            var record = _writer.Records[seen];
            var flow = model[TupleOf(record)];
            Assert.Equal(EndReason.EndOfInput, record.EndReason);
            Assert.Equal(flow.NextSequence, record.Sequence);
            Assert.Equal(flow.Packets, flow.Reported + record.PacketsSrcToDst + record.PacketsDstToSrc);
            reportedPackets += record.PacketsSrcToDst + record.PacketsDstToSrc;
            model.Remove(TupleOf(record));
        }

        Assert.Empty(model);
        Assert.Equal(0, table.Count);
        Assert.Equal(totalPackets, reportedPackets);
        var idleEnds = _writer.Ends.Count(r => r.EndReason == EndReason.IdleTimeout);
        Assert.True(idleEnds > 50, $"the run ends many flows by idle timeout (seed {seed}: {idleEnds})");
        Assert.True(table.FlowsCreated > 5 * capacity, "the run churns through the table many times");

        // The source port, or for ICMP the low bits of the address, name the tuple.
        static int TupleOf(FlowRecord record) =>
            record.Protocol == IpProtocol.Icmp ? (int)(record.Source.IPv4 & 0xFFFF) : record.SourcePort - 2000;
    }

    private sealed class ModelFlow
    {
        public ulong? FlowId { get; set; }

        public uint NextSequence { get; set; }

        public ulong Packets { get; set; }

        public ulong Bytes { get; set; }

        public ulong Reported { get; set; }

        public ulong ReportedBytes { get; set; }

        public long LastSeen { get; set; }
    }

    // ---- memory and allocation ----

    [Fact]
    public void BytesPerFlow_IsReportedAndBounded()
    {
        var table = new FlowTable(new FlowTableOptions { Capacity = 1 << 16 }, _writer);
        Assert.InRange(table.BytesPerFlow, 64, 399);
        Assert.True(table.MemoryBytes >= table.BytesPerFlow * table.Capacity);
        Assert.Equal(table.MemoryBytes / table.Capacity, table.BytesPerFlow);
    }

    [Fact]
    public void Update_100000PacketsOfExistingFlows_AllocatesNothing()
    {
        var table = NewTable(new FlowTableOptions { Capacity = 4096 });
        var packets = new List<DecodedPacket>();
        for (var i = 0; i < 50; i++)
        {
            packets.Add(Tcp($"10.3.0.{i}", (ushort)(3000 + i), Server, ServerPort, PshAck, 1000));
            packets.Add(Tcp(Server, ServerPort, $"10.3.0.{i}", (ushort)(3000 + i), Ack, 52));
            packets.Add(Udp($"2001:db8::{i:x}", 53, "2001:db8::ffff", 5353, 200));
            packets.Add(Icmp($"10.4.0.{i}", Server, 8, 0));
            packets.Add(Icmp(Server, $"10.4.0.{i}", 0, 0));
        }

        var array = packets.ToArray();
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < array.Length; i++)
            {
                table.Update(array[i], At(round) + i);
            }
        }

        var time = At(10);
        void Run()
        {
            for (var i = 0; i < 100_000; i++)
            {
                table.Update(array[i % array.Length], time + i);
            }
        }

        Run();
        Assert.Equal(0, Allocations.Least(Run));
        Assert.Equal(150, table.Count);
        Assert.Empty(_writer.Records);
    }

    [Fact]
    public void UpdateBatch_100000PacketsOfExistingFlows_AllocatesNothing()
    {
        var table = NewTable(new FlowTableOptions { Capacity = 4096 });
        var packets = Enumerable.Range(0, 64).Select(i => Numbered(i)).ToArray();
        var times = new long[64];
        var statuses = new DecodeStatus[64];
        void Run()
        {
            for (var batch = 0; batch < 100_000 / 64; batch++)
            {
                table.UpdateBatch(packets, times, statuses);
            }
        }

        Run();
        Assert.Equal(0, Allocations.Least(Run));
        Assert.Equal(64, table.Count);
    }

    // ---- flow id ----

    [Fact]
    public void FlowId_SameForEveryRecordOfAFlow()
    {
        var table = NewTable();
        Handshake(table);
        table.Expire(At(60));
        table.Update(FromClient(PshAck), At(61));
        table.Expire(At(120));
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(3, _writer.Records.Count);
        Assert.Single(_writer.Records.Select(r => r.FlowId).Distinct());
    }

    [Fact]
    public void FlowId_SameInputInTwoTables_GivesTheSameIds()
    {
        static List<ulong> Run()
        {
            var writer = new RecordingWriter();
            var table = new FlowTable(new FlowTableOptions { Capacity = 64 }, writer);
            for (var i = 0; i < 40; i++)
            {
                table.Update(Numbered(i), At(i * 0.5));
            }

            table.FlushAll(EndReason.EndOfInput);
            return writer.Records.OrderBy(r => r.SourcePort).Select(r => r.FlowId).ToList();
        }

        var first = Run();
        Assert.Equal(first, Run());
        Assert.Equal(40, first.Distinct().Count());
    }

    [Fact]
    public void FlowId_IsFixedAcrossProcesses()
    {
        // No per-process hash seed: a replay of the same capture gives the same ids. This pins one
        // value; a change to it changes every flow_id users may have stored.
        var table = NewTable();
        table.Update(Tcp("10.0.0.20", 40000, "10.0.0.10", 443, Syn), Origin);
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(0x9763CC458193F8C1UL, Assert.Single(_writer.Records).FlowId);
    }

    [Fact]
    public void FlowId_SameTupleAtAnotherTime_Differs()
    {
        var table = NewTable();
        table.Update(Numbered(1), At(0));
        table.Expire(At(100));
        table.Update(Numbered(1), At(200));
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(2, _writer.Records.Count);
        Assert.NotEqual(_writer.Records[0].FlowId, _writer.Records[1].FlowId);
    }
}
