using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>
/// Geneve header, RFC 8926 section 3.4: Ver(2) OptLen(6) O(1) C(1) Rsvd(6) ProtocolType(16)
/// VNI(24) Reserved(8), then OptLen * 4 bytes of options, which are skipped.
/// </summary>
public readonly struct GeneveHeader
{
    public const int MinLength = 8;

    public uint Vni { get; }

    /// <summary>EtherType of the payload: 0x6558 for Ethernet, or IPv4/IPv6 directly.</summary>
    public ushort ProtocolType { get; }

    /// <summary>Fixed header plus options.</summary>
    public int HeaderLength { get; }

    private GeneveHeader(uint vni, ushort protocolType, int headerLength)
    {
        Vni = vni;
        ProtocolType = protocolType;
        HeaderLength = headerLength;
    }

    public static DecodeStatus TryRead(ReadOnlySpan<byte> source, out GeneveHeader header)
    {
        header = default;
        if ((uint)source.Length < MinLength)
        {
            return DecodeStatus.GeneveTruncated;
        }

        if (source[0] >> 6 != 0)
        {
            return DecodeStatus.GeneveVersionUnsupported;
        }

        var headerLength = MinLength + ((source[0] & 0x3F) * 4);
        if (source.Length < headerLength)
        {
            return DecodeStatus.GeneveOptionsTruncated;
        }

        var protocolType = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
        if (protocolType is not (EtherTypes.TransparentEthernetBridging or EtherTypes.Ipv4 or EtherTypes.Ipv6))
        {
            return DecodeStatus.GeneveProtocolUnsupported;
        }

        header = new GeneveHeader(BinaryPrimitives.ReadUInt32BigEndian(source[4..]) >> 8, protocolType, headerLength);
        return DecodeStatus.Ok;
    }
}
