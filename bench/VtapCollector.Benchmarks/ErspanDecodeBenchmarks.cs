using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using VtapCollector.Decoding;

namespace VtapCollector.Benchmarks;

/// <summary>
/// Per-packet cost of decoding ERSPAN type II mirrors: the IMIX corpus of <see cref="DecodeBenchmarks"/>
/// with each frame's UDP and VXLAN headers (16 bytes) replaced in place by GRE with a sequence
/// number and an ERSPAN type II header (16 bytes too), session ID = VNI mod 1024.
/// </summary>
[MemoryDiagnoser]
public class ErspanDecodeBenchmarks
{
    private const int Packets = 1 << 20;

    private ImixCorpus _corpus = null!;
    private PacketDecoder _decoder = null!;

    [GlobalSetup]
    public void Setup()
    {
        _corpus = ImixCorpus.Build(Packets, flows: 200_000);
        _decoder = new PacketDecoder();
        RewriteAsErspan(_corpus, every: 1);
    }

    /// <summary>Rewrites every <paramref name="every"/>-th frame of an IMIX corpus (VXLAN over IPv4) as ERSPAN type II, in place.</summary>
    public static void RewriteAsErspan(ImixCorpus corpus, int every)
    {
        var data = corpus.Data;
        for (var i = 0; i < corpus.Count; i += every)
        {
            var frame = data.AsSpan(corpus.Offsets[i], corpus.Lengths[i]);
            var vni = BinaryPrimitives.ReadUInt32BigEndian(frame[46..]) >> 8;
            frame[23] = IpProtocol.Gre;
            var gre = frame[34..];
            BinaryPrimitives.WriteUInt32BigEndian(gre, 0x1000_88BE);                // S, version 0, ERSPAN
            BinaryPrimitives.WriteUInt32BigEndian(gre[4..], (uint)i);               // sequence number
            BinaryPrimitives.WriteUInt16BigEndian(gre[8..], 0x1000);                // version 1, VLAN 0
            BinaryPrimitives.WriteUInt16BigEndian(gre[10..], (ushort)(vni & 0x3FF)); // session ID
            BinaryPrimitives.WriteUInt32BigEndian(gre[12..], 0);                    // index
        }
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
            if (_decoder.Decode(LinkType.Ethernet, data.AsSpan(offsets[i], lengths[i]), out var packet) == DecodeStatus.Ok && packet.Tunnel == TunnelKind.Erspan)
            {
                ok += packet.IpBytes;
            }
        }

        return ok;
    }
}
