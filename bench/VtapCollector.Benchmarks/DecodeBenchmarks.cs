using BenchmarkDotNet.Attributes;
using VtapCollector.Decoding;

namespace VtapCollector.Benchmarks;

/// <summary>Per-packet cost of decoding alone, outer Ethernet to inner 5-tuple, over the IMIX corpus.</summary>
[MemoryDiagnoser]
public class DecodeBenchmarks
{
    private const int Packets = 1 << 20;

    private ImixCorpus _corpus = null!;
    private PacketDecoder _decoder = null!;

    [GlobalSetup]
    public void Setup()
    {
        _corpus = ImixCorpus.Build(Packets, flows: 200_000);
        _decoder = new PacketDecoder();
    }

    [Benchmark(OperationsPerInvoke = Packets)]
    public long Decode()
    {
        long ok = 0;
        var data = _corpus.Data;
        var offsets = _corpus.Offsets;
        var lengths = _corpus.Lengths;
        for (var i = 0; i < offsets.Length; i++)
        {
            if (_decoder.Decode(LinkType.Ethernet, data.AsSpan(offsets[i], lengths[i]), out var packet) == DecodeStatus.Ok)
            {
                ok += packet.IpBytes;
            }
        }

        return ok;
    }
}
