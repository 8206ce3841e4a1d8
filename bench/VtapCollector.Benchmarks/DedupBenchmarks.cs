using BenchmarkDotNet.Attributes;
using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Benchmarks;

/// <summary>
/// Per-packet cost of decode + double-tap deduplication + flow update, batched as a flow worker
/// does it, over the IMIX corpus of <see cref="FlowUpdateBenchmarks"/> (200 000 flows, out of
/// cache). With both taps every frame is decoded twice (once per copy), as the collector would
/// receive it twice; the figure is per copy. <see cref="Dedup"/> false is the path without
/// deduplication (no signature, no filter), for comparison.
/// </summary>
[MemoryDiagnoser]
public class DedupBenchmarks
{
    private const int Packets = 1 << 20;
    private const int Batch = 32;
    private const long CopyDelayNanos = 20_000;

    private static readonly IpAddress OtherTap = IpAddress.Parse("10.255.0.2");

    private ImixCorpus _corpus = null!;
    private PacketDecoder _decoder = null!;
    private FlowTable _table = null!;
    private DuplicateFilter? _filter;
    private readonly DecodedPacket[] _batch = new DecodedPacket[Batch];
    private readonly long[] _times = new long[Batch];
    private readonly DecodeStatus[] _statuses = new DecodeStatus[Batch];

    [Params(false, true)]
    public bool Dedup { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _corpus = ImixCorpus.Build(Packets, flows: 200_000);
        _decoder = new PacketDecoder(new DecoderOptions { ComputeSignatures = Dedup });
        _table = new FlowTable(new FlowTableOptions { Capacity = 400_000 }, new DiscardingWriter());
        _filter = Dedup ? new DuplicateFilter(65_536, 5_000_000) : null;

        // Warm the table so the measured runs update existing flows, as a steady collector does.
        Run(copies: 1);
    }

    /// <summary>One tap: every packet arrives once (with deduplication on, each is new to the filter).</summary>
    [Benchmark(OperationsPerInvoke = Packets)]
    public long OneTap() => Run(copies: 1);

    /// <summary>Both ends tapped: each packet arrives a second time from another tap 20 µs later (removed when on, counted twice when off).</summary>
    [Benchmark(OperationsPerInvoke = 2 * Packets)]
    public long BothTaps() => Run(copies: 2);

    private long Run(int copies)
    {
        long ok = 0;
        var data = _corpus.Data;
        var offsets = _corpus.Offsets;
        var lengths = _corpus.Lengths;
        var timestamps = _corpus.Timestamps;
        var count = 0;
        for (var i = 0; i < offsets.Length; i++)
        {
            for (var copy = 0; copy < copies; copy++)
            {
                ref var packet = ref _batch[count];
                if (_decoder.Decode(LinkType.Ethernet, data.AsSpan(offsets[i], lengths[i]), out packet) != DecodeStatus.Ok)
                {
                    continue;
                }

                var time = timestamps[i];
                if (copy == 1)
                {
                    // The other NIC's tap: the same inner packet from another tunnel source, a little later.
                    packet.TunnelSource = OtherTap;
                    time += CopyDelayNanos;
                }

                _times[count++] = time;
                if (count == Batch)
                {
                    ok += Flush(count);
                    count = 0;
                }
            }
        }

        return ok + Flush(count);
    }

    /// <summary>What a flow worker does with a batch: mark the copies, then update the table.</summary>
    private int Flush(int count)
    {
        if (_filter is { } filter)
        {
            for (var i = 0; i < count; i++)
            {
                ref var packet = ref _batch[i];
                if (filter.IsDuplicate(DuplicateFilter.Key(packet.Signature, packet.Vni), (uint)packet.TunnelSource.GetHashCode(), _times[i]))
                {
                    packet.Flags |= PacketFlags.DuplicateCopy;
                }
            }
        }

        _table.UpdateBatch(_batch.AsSpan(0, count), _times.AsSpan(0, count), _statuses);
        return count;
    }
}
