using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.RegularExpressions;
using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Networks;
using VtapCollector.Engine.Sources;
using VtapCollector.Engine.Workers;
using VtapCollector.Export.Metrics;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Tests.Networks;

/// <summary>Records classified by the engine, and the per-network metrics against the records' own counters.</summary>
public partial class NetworkMetricsTests
{
    /// <summary>The bundled sample: a real kernel VXLAN mirror of 10.99.0.1 and 10.99.0.2 (IPv4 and IPv6).</summary>
    private static readonly string Sample = Path.Combine(RepositoryRoot(), "src", "VtapCollector", "Samples", "sample-vxlan.pcap");

    private static readonly NetworkDefinition[] SampleNetworks =
    [
        new("vm1", ["10.99.0.1/32"], [], true),
        new("lab", ["10.99.0.0/24", "fe80::/10"], [], true),
        new("multicast", ["ff00::/8", "224.0.0.0/4"], [], false),
    ];

    private static readonly NetworkDefinition[] SyntheticNetworks =
    [
        new("clients", ["10.1.0.0/24"], [], true),
        new("clients-vni101", ["10.1.0.0/24"], [101], false),
        new("servers", ["10.2.0.0/16"], [], true),
        new("server1", ["10.2.0.1"], [], false),
    ];

    public static TheoryData<string, int> Captures => new()
    {
        { "sample", 1 },
        { "synthetic", 1 },
        { "synthetic", 3 },
    };

    [Theory]
    [MemberData(nameof(Captures))]
    public void Replay_KnownCapture_MetricsEqualTheRecordsCountersExactly(string capture, int workers)
    {
        var (bytes, definitions) = capture == "sample" ? (File.ReadAllBytes(Sample), SampleNetworks) : (SyntheticMirror.Capture(flows: 300, packetsPerFlow: 30, seed: 3), SyntheticNetworks);
        var map = NetworkMap.TryCreate(definitions, out var error) ?? throw new InvalidOperationException(error);
        var (records, engine) = Replay(bytes, workers, map);
        using (engine)
        {
            var expectedPackets = new Dictionary<(string, string), long>();
            var expectedBytes = new Dictionary<(string, string), long>();
            var expectedFlows = new Dictionary<(string, string), long>();
            var expectedDirectionBytes = new Dictionary<string, long>();
            foreach (var record in records)
            {
                // The oracle classifies on its own: a linear scan of System.Net.IPNetwork, longest first.
                var source = Oracle(definitions, record.Source, record.Vni);
                var destination = Oracle(definitions, record.Destination, record.Vni);
                Assert.Equal(source?.Name, record.SourceNetwork?.Name);
                Assert.Equal(destination?.Name, record.DestinationNetwork?.Name);
                Assert.Equal(TrafficDirections.Of(source?.Local == true, destination?.Local == true), record.Direction);

                var src = source?.Name ?? "other";
                var dst = destination?.Name ?? "other";
                Add(expectedPackets, (src, dst), (long)record.PacketsSrcToDst);
                Add(expectedBytes, (src, dst), (long)record.BytesSrcToDst);
                Add(expectedPackets, (dst, src), (long)record.PacketsDstToSrc);
                Add(expectedBytes, (dst, src), (long)record.BytesDstToSrc);
                Add(expectedFlows, (src, dst), record.Sequence == 0 ? 1 : 0);
                Add(expectedDirectionBytes, System.Text.Encoding.ASCII.GetString(TrafficDirections.Label(record.Direction)), (long)(record.BytesSrcToDst + record.BytesDstToSrc));
            }

            var metrics = new MetricSet();
            new NetworkMetrics(engine).CollectMetrics(metrics);
            var text = metrics.Render();
            Assert.Equal(Positive(expectedPackets), Matrix(text, "vtap_network_packets_total"));
            Assert.Equal(Positive(expectedBytes), Matrix(text, "vtap_network_bytes_total"));
            Assert.Equal(Positive(expectedFlows), Matrix(text, "vtap_network_flows_total"));
            foreach (var direction in new[] { "inbound", "outbound", "internal", "external" })
            {
                Assert.Equal(expectedDirectionBytes.GetValueOrDefault(direction), Series(text, $"vtap_direction_bytes_total{{direction=\"{direction}\"}}"));
            }

            // Every cell was exercised: more than one pair, and counters from more than one record per flow where the capture has updates.
            Assert.True(expectedBytes.Count(c => c.Value > 0) >= 3, string.Join(", ", expectedBytes.Keys));
            Assert.Equal(expectedFlows.Values.Sum(), records.Count(r => r.Sequence == 0));
            if (capture == "synthetic")
            {
                Assert.Contains(records, r => r.Type == FlowRecordType.Update);
            }
        }
    }

    [Fact]
    public void Replay_NoNetworks_RecordsStayUnclassifiedAndNoNetworkSeries()
    {
        var (records, engine) = Replay(File.ReadAllBytes(Sample), 1, NetworkMap.Empty);
        using (engine)
        {
            Assert.NotEmpty(records);
            Assert.All(records, r => Assert.True(r.SourceNetwork is null && r.DestinationNetwork is null && r.Direction == TrafficDirection.Unknown));
            var metrics = new MetricSet();
            new NetworkMetrics(engine).CollectMetrics(metrics);
            Assert.DoesNotMatch(@"(?m)^vtap_(network|direction)_\w+\{", metrics.Render());
        }
    }

    [Fact]
    public void SetNetworks_Reload_RecordsEmittedAfterCarryTheChangedNetwork()
    {
        var engine = new FlowEngine(new EngineSetup(new PipelineOptions { Workers = 1 }, new FlowTableOptions(), new DecoderOptions(), AllowList.Open, [], EngineClock.Packet,
            Networks: NetworkMap.TryCreate([new("spoke1", ["10.1.0.0/16"], [], true)], out _)));
        var worker = new FlowWorker(0, new FlowTableOptions { Capacity = 16 }, [], 16, OverflowPolicy.DropNewest, new StopSignal(), EngineClock.Packet, engine.Networks, new NetworkCounters(engine.NetworkLabels.Size));
        var record = new FlowRecord { IpVersion = 4, Source = IpAddress.Parse("10.1.0.5"), Destination = IpAddress.Parse("192.0.2.1"), PacketsSrcToDst = 3, BytesSrcToDst = 300 };

        worker.Write(record);
        engine.SetNetworks(NetworkMap.TryCreate([new("spoke1", ["10.1.0.0/24"], [], true), new("spoke1-dmz", ["10.1.0.0/28"], [], false)], out _)!);
        worker.Write(record with { Sequence = 1 });

        var first = worker.RecordLanes[0][0];
        var second = worker.RecordLanes[0][1];
        Assert.Equal(("spoke1", TrafficDirection.Outbound), (first.SourceNetwork?.Name, first.Direction));
        Assert.Equal(("spoke1-dmz", TrafficDirection.External), (second.SourceNetwork?.Name, second.Direction));

        // Labels are kept across the reload: spoke1 keeps its counters, spoke1-dmz is a new label.
        Assert.Equal(["other", "spoke1", "spoke1-dmz"], Enumerable.Range(0, engine.NetworkLabels.Count).Select(engine.NetworkLabels.NameAt));
        Assert.Equal(300, worker.NetworkCounters.Bytes[(1 * engine.NetworkLabels.Size) + 0]);
        Assert.Equal(300, worker.NetworkCounters.Bytes[(2 * engine.NetworkLabels.Size) + 0]);
    }

    [Fact]
    public void NetworkLabels_BeyondTheLimit_ShareOther()
    {
        var labels = new NetworkLabels(limit: 2);
        var map = NetworkMap.TryCreate([new("a", ["10.0.0.0/8"], [], true), new("b", ["11.0.0.0/8"], [], true), new("c", ["12.0.0.0/8"], [], true)], out _)!;
        Assert.Equal([1, 2, 0], labels.Resolve(map));
        Assert.Equal(3, labels.Count);
    }

    private static (List<FlowRecord> Records, FlowEngine Engine) Replay(byte[] capture, int workers, NetworkMap map)
    {
        var sink = new RecordingSink();
        var engine = new FlowEngine(new EngineSetup(
            new PipelineOptions { Workers = workers, DispatchQueueCapacity = 1024, RecordQueueCapacity = 1024, DispatchOverflow = OverflowPolicy.Block, RecordOverflow = OverflowPolicy.Block },
            new FlowTableOptions { Capacity = 10_000, ActiveTimeout = TimeSpan.FromSeconds(2), IdleTimeout = TimeSpan.FromSeconds(2), TcpIdleTimeout = TimeSpan.FromSeconds(2) },
            new DecoderOptions(),
            AllowList.Open,
            [sink],
            EngineClock.Packet,
            Networks: map));
        var ingress = engine.AddIngress("file");
        engine.Start();
        Assert.Equal(CaptureError.None, CaptureFileSource.ReadAsync(new CaptureReader(new MemoryStream(capture)), ingress).GetAwaiter().GetResult());
        Assert.True(engine.Finish(EndReason.EndOfInput, Environment.TickCount64 + 60_000), "the engine did not finish within 60 s");
        Assert.Null(engine.Failure);
        return ([.. sink.Records.Select(r => r.Record)], engine);
    }

    private static NetworkDefinition? Oracle(NetworkDefinition[] definitions, IpAddress address, uint vni)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.WriteBytes(bytes, 6);
        var ip = new IPAddress(bytes);
        var v4 = address.IsIPv4Mapped ? ip.MapToIPv4() : null;
        var best = (Definition: (NetworkDefinition?)null, Length: -1, Scoped: false);
        foreach (var definition in definitions)
        {
            if (definition.Vnis.Count > 0 && !definition.Vnis.Contains(vni))
            {
                continue;
            }

            foreach (var cidr in definition.Cidrs)
            {
                var network = IPNetwork.Parse(cidr.Contains('/', StringComparison.Ordinal) ? cidr : cidr + (cidr.Contains(':', StringComparison.Ordinal) ? "/128" : "/32"));
                var candidate = network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? v4 : ip;
                if (candidate is null || !network.Contains(candidate))
                {
                    continue;
                }

                var length = network.PrefixLength + (network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 96 : 0);
                var scoped = definition.Vnis.Count > 0;
                if (length > best.Length || (length == best.Length && scoped && !best.Scoped))
                {
                    best = (definition, length, scoped);
                }
            }
        }

        return best.Definition;
    }

    private static void Add<TKey>(Dictionary<TKey, long> cells, TKey key, long value)
        where TKey : notnull => cells[key] = cells.GetValueOrDefault(key) + value;

    private static Dictionary<(string, string), long> Positive(Dictionary<(string, string), long> cells) =>
        cells.Where(c => c.Value > 0).ToDictionary(c => c.Key, c => c.Value);

    private static Dictionary<(string, string), long> Matrix(string text, string name) =>
        MatrixLine().Matches(text).Where(m => m.Groups[1].Value == name)
            .ToDictionary(m => (m.Groups[2].Value, m.Groups[3].Value), m => long.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture));

    private static long Series(string text, string series)
    {
        var line = text.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return long.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("""(?m)^(vtap_network_\w+)\{src_network="([^"]*)",dst_network="([^"]*)"\} (\d+)$""")]
    private static partial Regex MatrixLine();

    private static string RepositoryRoot() =>
        typeof(NetworkMetricsTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
}
