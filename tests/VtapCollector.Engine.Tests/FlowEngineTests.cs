using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Sources;
using VtapCollector.Engine.Workers;
using VtapCollector.Export.Metrics;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Tests;

/// <summary>The engine in process: ingress, workers, exporter and the drain at the end, without a daemon around it.</summary>
public class FlowEngineTests
{
    private static readonly FlowTableOptions Flows = new()
    {
        Capacity = 100_000,
        ActiveTimeout = TimeSpan.FromSeconds(4),
        IdleTimeout = TimeSpan.FromSeconds(2),
        TcpIdleTimeout = TimeSpan.FromSeconds(2),
        TcpClosingTimeout = TimeSpan.FromSeconds(1),
    };

    private static readonly byte[] Capture = SyntheticMirror.Capture(flows: 600, packetsPerFlow: 40, seed: 7);

    /// <summary>Replays <paramref name="capture"/> through an engine on packet time, as the replay command does.</summary>
    private static (RecordingSink Sink, FlowEngine Engine) Replay(byte[] capture, int workers, int queueCapacity = 1024, DedupOptions? dedup = null, int exportThreads = 0)
    {
        var sink = new RecordingSink();
        var engine = new FlowEngine(new EngineSetup(
            new PipelineOptions { Workers = workers, ExportThreads = exportThreads, DispatchQueueCapacity = queueCapacity, RecordQueueCapacity = 1024, DispatchOverflow = OverflowPolicy.Block, RecordOverflow = OverflowPolicy.Block },
            Flows,
            new DecoderOptions(),
            AllowList.Open,
            [sink],
            EngineClock.Packet,
            Dedup: dedup));
        var ingress = engine.AddIngress("file");
        engine.Start();
        var error = CaptureFileSource.ReadAsync(new CaptureReader(new MemoryStream(capture)), ingress).GetAwaiter().GetResult();
        Assert.Equal(CaptureError.None, error);
        Assert.True(engine.Finish(EndReason.EndOfInput, Environment.TickCount64 + 60_000), "the engine did not finish within 60 s");
        Assert.Null(engine.Failure);
        return (sink, engine);
    }

    /// <summary>The same capture through one flow table on this thread, expiring once a second of packet time: the reference the engine must equal.</summary>
    private static List<string> ReferenceRecords(byte[] capture)
    {
        var records = new Collector();
        var table = new FlowTable(Flows, records);
        var handler = new ReferenceHandler(new PacketDecoder(), table);
        Assert.Equal(CaptureError.None, new CaptureReader(new MemoryStream(capture)).ReadAllAsync(handler).GetAwaiter().GetResult());
        table.FlushAll(EndReason.EndOfInput);
        return records.Lines;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Replay_AnyWorkerCount_GivesTheRecordsOfASingleTableExactly(int workers)
    {
        var expected = ReferenceRecords(Capture);
        var (sink, engine) = Replay(Capture, workers);
        using (engine)
        {
            var actual = sink.Records.Select(r => r.Encoded).ToList();

            // The capture has idle gaps and long flows: records of every kind and end reason are in play.
            Assert.Contains(sink.Records, r => r.Record.Type == FlowRecordType.Update);
            Assert.Contains(sink.Records, r => r.Record.EndReason == EndReason.IdleTimeout);
            Assert.Contains(sink.Records, r => r.Record.EndReason == EndReason.EndOfInput);
            Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
            Assert.Equal(workers, engine.Workers.Count);
        }
    }

    /// <summary>
    /// The copies come a nanosecond after the original here: a later one would move the replay's
    /// ticks of packet time (a tick goes out at the first packet past each second) and so where
    /// active and idle timeouts cut, which is not what this test is about; the next test moves them.
    /// </summary>
    [Theory]
    [InlineData(1, 0u)]
    [InlineData(3, 0u)]
    [InlineData(3, 1000u)]
    public void Replay_BothEndsTappedWithDedup_GivesTheRecordsOfOneTap(int workers, uint vniOffset)
    {
        var single = ReferenceRecords(Capture).Select(line => System.Text.Json.Nodes.JsonNode.Parse(line)!.ToJsonString()).ToList();
        var doubled = SyntheticMirror.Capture(flows: 600, packetsPerFlow: 40, seed: 7, secondTap: (vniOffset, 1));
        List<List<uint>> groups = vniOffset == 0 ? [] : [.. Enumerable.Range(100, 4).Select(vni => new List<uint> { (uint)vni, (uint)vni + vniOffset })];
        var (sink, engine) = Replay(doubled, workers, dedup: new DedupOptions { Enabled = true, WindowMicroseconds = 1000, VniGroups = groups });

        // The capture's client side is tapped at 192.0.2.1 and its server side at .2, the copies come
        // from .5 and .6: every record names at least two taps (three or more once both directions
        // were seen), and the copies it removed; without those fields it is the one-tap record.
        var removed = 0L;
        var lines = new List<string>();
        foreach (var line in sink.Records.Select(r => r.Encoded))
        {
            var record = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
            Assert.InRange(record["observation_point_count"]!.GetValue<int>(), 2, 3);
            removed += record["copies_removed_src_to_dst"]!.GetValue<long>() + record["copies_removed_dst_to_src"]!.GetValue<long>();
            foreach (var field in new[] { "observation_points", "observation_point_count", "copies_removed_src_to_dst", "copies_removed_dst_to_src" })
            {
                record.Remove(field);
            }

            lines.Add(record.ToJsonString());
        }

        var missing = single.Except(lines).ToList();
        var extra = lines.Except(single).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"{missing.Count} records differ, such as\n{missing.FirstOrDefault()}\n{extra.FirstOrDefault()}");
        Assert.Equal(single.Count, lines.Count);
        var duplicates = engine.Workers.Sum(w => w.Counters.Duplicates.Sum());
        Assert.Equal(600 * 40, duplicates);
        Assert.Equal(duplicates, removed);
        Assert.Equal(0, engine.Workers.Sum(w => w.Dedup!.LateCopies));
        engine.Dispose();
    }

    /// <summary>
    /// Deduplication turns packet signatures on in the decoder's options; every other option the user
    /// chose must survive that, here GRE decapsulation turned off (ERSPAN then counts as unsupported).
    /// </summary>
    [Fact]
    public async Task Replay_DedupWithGreOff_KeepsGreOff()
    {
        var root = System.Reflection.CustomAttributeExtensions.GetCustomAttributes<System.Reflection.AssemblyMetadataAttribute>(typeof(FlowEngineTests).Assembly).Single(a => a.Key == "RepositoryRoot").Value!;
        var capture = File.ReadAllBytes(Path.Combine(root, "tests", "data", "tcpdump", "erspan-type-i-1.pcap"));
        using var engine = new FlowEngine(new EngineSetup(
            new PipelineOptions { Workers = 1, DispatchOverflow = OverflowPolicy.Block, RecordOverflow = OverflowPolicy.Block },
            Flows,
            new DecoderOptions { Gre = false },
            AllowList.Open,
            [new RecordingSink()],
            EngineClock.Packet,
            Dedup: new DedupOptions { Enabled = true }));
        var ingress = engine.AddIngress("file");
        engine.Start();
        Assert.Equal(CaptureError.None, await CaptureFileSource.ReadAsync(new CaptureReader(new MemoryStream(capture)), ingress));
        Assert.True(engine.Finish(EndReason.EndOfInput, Environment.TickCount64 + 60_000));

        Assert.True(ingress.Counters.Rejected[(int)DecodeStatus.GreUnsupported] > 0);
        Assert.Equal(0, ingress.Counters.Rejected[(int)DecodeStatus.ErspanTruncated]);
    }

    [Fact]
    public void Replay_CopiesSkewedWithinTheWindow_AreAllRemoved()
    {
        var doubled = SyntheticMirror.Capture(flows: 600, packetsPerFlow: 40, seed: 7, secondTap: (0, 300_000));
        var (sink, engine) = Replay(doubled, 2, dedup: new DedupOptions { Enabled = true, WindowMicroseconds = 1000 });

        Assert.Equal(600 * 40, sink.Records.Sum(r => PacketsOf(r.Encoded)));
        Assert.Equal(600 * 40, engine.Workers.Sum(w => w.Counters.Duplicates.Sum()));
        Assert.Equal(0, engine.Workers.Sum(w => w.Dedup!.LateCopies));
        engine.Dispose();
    }

    [Fact]
    public void Replay_WindowShorterThanTheSkew_CountsBothCopiesAndReportsThemLate()
    {
        var doubled = SyntheticMirror.Capture(flows: 50, packetsPerFlow: 10, seed: 7, secondTap: (0, 300_000));
        var (sink, engine) = Replay(doubled, 1, dedup: new DedupOptions { Enabled = true, WindowMicroseconds = 100 });

        Assert.Equal(0, engine.Workers.Sum(w => w.Counters.Duplicates.Sum()));
        // About every copy: the synthetic TCP segments have no sequence numbers, so two segments of one
        // flow with the same length share a signature, which can make or hide a late copy.
        Assert.InRange(engine.Workers.Sum(w => w.Dedup!.LateCopies), 50 * 10 * 9 / 10, 2 * 50 * 10);
        Assert.Equal(2 * 50 * 10, sink.Records.Sum(r => PacketsOf(r.Encoded)));
        engine.Dispose();
    }

    private static long PacketsOf(string line)
    {
        var record = System.Text.Json.Nodes.JsonNode.Parse(line)!;
        return record["packets_src_to_dst"]!.GetValue<long>() + record["packets_dst_to_src"]!.GetValue<long>();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Replay_SeveralWorkers_KeepsEachFlowsRecordsInSequence(int exportThreads)
    {
        var (sink, engine) = Replay(Capture, workers: 3, queueCapacity: 64, exportThreads: exportThreads);
        using (engine)
        {
            Assert.Equal(exportThreads, engine.Exporter!.LaneCount);
            foreach (var flow in sink.Records.GroupBy(r => r.Record.FlowId))
            {
                Assert.Equal(Enumerable.Range(0, flow.Count()).Select(i => (uint)i), flow.Select(r => r.Record.Sequence));
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    public void Replay_AnyExportThreadCount_GivesTheSameRecordsAndNeverWritesASinkFromTwoThreadsAtOnce(int workers, int exportThreads)
    {
        var expected = ReferenceRecords(Capture);
        var (sink, engine) = Replay(Capture, workers, exportThreads: exportThreads);
        using (engine)
        {
            Assert.Equal(expected.Order(StringComparer.Ordinal), sink.Records.Select(r => r.Encoded).Order(StringComparer.Ordinal));
            Assert.Equal(0, sink.Overlaps);
            Assert.Equal(exportThreads, engine.Exporter!.LaneCount);
            Assert.All(engine.Workers, w => Assert.Equal(exportThreads, w.RecordLanes.Count));
        }
    }

    [Fact]
    public void Replay_SmallQueuesWithBlock_LosesNoPacketAndNoRecord()
    {
        var (sink, engine) = Replay(Capture, workers: 2, queueCapacity: 64);
        using (engine)
        {
            var ingress = engine.Ingresses[0].Counters;
            Assert.Equal(600 * 40, ingress.Packets);
            Assert.Equal(0, ingress.DispatchDropped);
            Assert.Equal(600L * 40, engine.Workers.Sum(w => w.Counters.Packets));
            Assert.Equal(0, engine.Workers.Sum(w => w.Counters.RecordQueueDropped));
            var packets = sink.Records.Sum(r => (long)(r.Record.PacketsSrcToDst + r.Record.PacketsDstToSrc));
            Assert.Equal(600L * 40, packets);
        }
    }

    [Fact]
    public async Task Finish_LiveEngine_EndsEveryActiveFlowAsShutdownAndFlushesTheSinks()
    {
        var sink = new RecordingSink();
        var engine = new FlowEngine(new EngineSetup(new PipelineOptions { Workers = 2 }, Flows, new DecoderOptions(), AllowList.Open, [sink], EngineClock.Wall));
        var ingress = engine.AddIngress("pcap");
        engine.Start();
        var capture = SyntheticMirror.Capture(flows: 50, packetsPerFlow: 4, seed: 3);
        var reader = new CaptureReader(new MemoryStream(capture));
        Assert.Equal(CaptureError.None, await reader.ReadAllAsync(new FrameHandler(ingress)));
        engine.Stopping.Stop();
        Assert.True(engine.Finish(EndReason.Shutdown, Environment.TickCount64 + 30_000));

        // Packet times are in 2023, far behind the wall clock: idle flows may end by timeout first; every other ends as shutdown.
        var ends = sink.Records.Where(r => r.Record.Type == FlowRecordType.End).ToList();
        Assert.Contains(ends, r => r.Record.EndReason == EndReason.Shutdown);
        Assert.Equal(engine.Workers.Sum(w => w.Table.FlowsCreated), ends.Count);
        Assert.Equal(0, engine.Workers.Sum(w => w.Table.Count));
        Assert.True(sink.Flushes > 0, "the exporter flushes the sinks at the end");
        engine.Dispose();
        Assert.True(sink.Disposed);
    }

    [Fact]
    public async Task Exporter_FailingSink_CountsItsDropsWhileTheOtherSinkGetsEveryRecord()
    {
        var failing = new RecordingSink("failing") { Refuse = true };
        var working = new RecordingSink("working");
        var engine = new FlowEngine(new EngineSetup(new PipelineOptions { Workers = 1, DispatchOverflow = OverflowPolicy.Block }, Flows, new DecoderOptions(), AllowList.Open, [failing, working], EngineClock.Packet));
        var ingress = engine.AddIngress("file");
        engine.Start();
        await CaptureFileSource.ReadAsync(new CaptureReader(new MemoryStream(Capture)), ingress);
        Assert.True(engine.Finish(EndReason.EndOfInput, Environment.TickCount64 + 60_000));

        var counters = engine.Exporter!.Sinks;
        Assert.Equal(working.Records.Count, counters[1].Updates + counters[1].Ends);
        Assert.Equal(working.Records.Count, counters[0].Dropped);
        Assert.Equal(0, counters[0].Updates + counters[0].Ends);

        var metrics = new MetricSet();
        new EngineMetrics(engine).CollectMetrics(metrics);
        var text = metrics.Render();
        Assert.Contains($"vtap_sink_records_dropped_total{{sink=\"failing\"}} {working.Records.Count}", text, StringComparison.Ordinal);
        Assert.Contains("vtap_sink_healthy{sink=\"failing\"} 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public void AddIngress_SecondSourceOnPacketTime_IsRefused()
    {
        using var engine = new FlowEngine(new EngineSetup(new PipelineOptions { Workers = 1 }, Flows, new DecoderOptions(), AllowList.Open, [], EngineClock.Packet));
        engine.AddIngress("file");
        Assert.Throws<InvalidOperationException>(() => engine.AddIngress("file"));
    }

    /// <summary>The pre-engine replay loop: decode, update one table, expire once per second of packet time.</summary>
    private readonly struct ReferenceHandler(PacketDecoder decoder, FlowTable table) : IPacketHandler
    {
        private readonly Clock _clock = new();

        public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data)
        {
            if (decoder.Decode(packet.LinkType, data, out var decoded) == DecodeStatus.Ok)
            {
                table.Update(decoded, packet.TimestampNanos);
            }

            if (packet.TimestampNanos > _clock.Now)
            {
                _clock.Now = packet.TimestampNanos;
                if (_clock.Now >= _clock.NextExpiry)
                {
                    table.Expire(_clock.Now);
                    _clock.NextExpiry = _clock.Now + PacketIngress.TickIntervalNanos;
                }
            }
        }

        private sealed class Clock
        {
            public long Now;
            public long NextExpiry;
        }
    }

    private sealed class Collector : IFlowRecordWriter
    {
        private readonly byte[] _buffer = new byte[2048];

        public List<string> Lines { get; } = [];

        public void Write(in FlowRecord record) =>
            Lines.Add(System.Text.Encoding.UTF8.GetString(_buffer, 0, Export.FlowRecordJsonEncoder.Encode(record, _buffer)));
    }
}
