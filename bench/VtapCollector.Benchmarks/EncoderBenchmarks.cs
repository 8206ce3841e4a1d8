using BenchmarkDotNet.Attributes;
using VtapCollector.Decoding;
using VtapCollector.Export.Formats;
using VtapCollector.Flows;

namespace VtapCollector.Benchmarks;

/// <summary>
/// Cost of encoding one flow record in each format, over the records the flow table emits for an
/// IMIX corpus (a mix of IPv4/IPv6, TCP/UDP/ICMP, update and end records), into a reused buffer.
/// </summary>
[MemoryDiagnoser]
public class EncoderBenchmarks
{
    private const int Records = 1 << 16;

    private FlowRecord[] _records = null!;
    private IRecordEncoder _encoder = null!;
    private byte[] _buffer = null!;

    /// <summary>The format's configuration name.</summary>
    [ParamsSource(nameof(Formats))]
    public string Format { get; set; } = RecordFormats.Default;

    public static IEnumerable<string> Formats => RecordFormats.Names;

    [GlobalSetup]
    public void Setup()
    {
        var corpus = ImixCorpus.Build(1 << 18, flows: 20_000);
        var collected = new CollectingWriter();
        var table = new FlowTable(new FlowTableOptions { Capacity = 40_000, ActiveTimeout = TimeSpan.FromMilliseconds(50) }, collected);
        var decoder = new PacketDecoder();
        for (var i = 0; i < corpus.Offsets.Length && collected.Records.Count < Records; i++)
        {
            if (decoder.Decode(LinkType.Ethernet, corpus.Frame(i), out var packet) == DecodeStatus.Ok)
            {
                table.Update(packet, corpus.Timestamps[i]);
            }
        }

        table.FlushAll(EndReason.EndOfInput);
        _records = [.. collected.Records.Take(Records)];
        while (_records.Length < Records)
        {
            _records = [.. _records, .. _records.Take(Records - _records.Length)];
        }

        _encoder = RecordFormats.Create(Format)!;
        _buffer = new byte[_encoder.MaxRecordLength];
    }

    /// <summary>One operation is one record encoded.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public long Encode()
    {
        long bytes = 0;
        var records = _records;
        for (var i = 0; i < records.Length; i++)
        {
            bytes += _encoder.Encode(records[i], _buffer);
        }

        return bytes;
    }

    private sealed class CollectingWriter : IFlowRecordWriter
    {
        public List<FlowRecord> Records { get; } = [];

        public void Write(in FlowRecord record) => Records.Add(record);
    }
}
