using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>
/// GRE header, RFC 2784 section 2 with the key and sequence number of RFC 2890 section 2:
/// C(1) R(1) K(1) S(1) s(1) Recur(3) Flags(5) Ver(3) ProtocolType(16), then Checksum(16)
/// Reserved1(16) when C is set, Key(32) when K is set, SequenceNumber(32) when S is set.
/// </summary>
public readonly struct GreHeader
{
    public const int MinLength = 4;

    /// <summary>C: a checksum and a reserved word follow (RFC 2784 section 2.5).</summary>
    private const byte ChecksumPresent = 0x80;

    /// <summary>K: a 32-bit key follows (RFC 2890 section 2.1).</summary>
    private const byte KeyPresent = 0x20;

    /// <summary>S: a 32-bit sequence number follows (RFC 2890 section 2.2).</summary>
    private const byte SequencePresent = 0x10;

    /// <summary>
    /// RFC 2784 section 2.3: a receiver not implementing RFC 1701 discards a packet with any of bits
    /// 1-5 set; RFC 2890 gives bits 2 and 3 (K, S) back, which leaves R (routing present), s (strict
    /// source route) and the top recursion bit. Bits 6-12 are ignored on receipt.
    /// </summary>
    private const byte ObsoleteFlags = 0x40 | 0x08 | 0x04;

    /// <summary>Ver, the low three bits of the second byte: 0 for RFC 2784 GRE (1 is PPTP's enhanced GRE).</summary>
    private const byte VersionMask = 0x07;

    /// <summary>EtherType of the payload (RFC 2784 section 2.4).</summary>
    public ushort ProtocolType { get; }

    /// <summary>The key, 0 when K is clear.</summary>
    public uint Key { get; }

    /// <summary>True when a sequence number is present: what tells ERSPAN type II from type I on 0x88BE.</summary>
    public bool HasSequence { get; }

    /// <summary>Fixed header plus the optional fields.</summary>
    public int HeaderLength { get; }

    private GreHeader(ushort protocolType, uint key, bool hasSequence, int headerLength)
    {
        ProtocolType = protocolType;
        Key = key;
        HasSequence = hasSequence;
        HeaderLength = headerLength;
    }

    /// <summary>The protocol type alone, to tell GRE that carries mirrored frames from other GRE without validating the rest.</summary>
    public static DecodeStatus TryReadProtocolType(ReadOnlySpan<byte> source, out ushort protocolType)
    {
        if ((uint)source.Length < MinLength)
        {
            protocolType = 0;
            return DecodeStatus.GreTruncated;
        }

        protocolType = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
        return DecodeStatus.Ok;
    }

    public static DecodeStatus TryRead(ReadOnlySpan<byte> source, out GreHeader header)
    {
        header = default;
        if ((uint)source.Length < MinLength)
        {
            return DecodeStatus.GreTruncated;
        }

        var flags = source[0];
        if ((source[1] & VersionMask) != 0)
        {
            return DecodeStatus.GreVersionUnsupported;
        }

        if ((flags & ObsoleteFlags) != 0)
        {
            return DecodeStatus.GreFlagsInvalid;
        }

        var offset = MinLength;
        if ((flags & ChecksumPresent) != 0)
        {
            // The checksum is not verified: a mirror copy may be cut short (ERSPAN's T flag), and
            // the inner headers are validated on their own.
            offset += 4;
        }

        var keyOffset = offset;
        var hasKey = (flags & KeyPresent) != 0;
        if (hasKey)
        {
            offset += 4;
        }

        var hasSequence = (flags & SequencePresent) != 0;
        if (hasSequence)
        {
            offset += 4;
        }

        if (source.Length < offset)
        {
            return DecodeStatus.GreTruncated;
        }

        var key = hasKey ? BinaryPrimitives.ReadUInt32BigEndian(source[keyOffset..]) : 0u;
        header = new GreHeader(BinaryPrimitives.ReadUInt16BigEndian(source[2..]), key, hasSequence, offset);
        return DecodeStatus.Ok;
    }
}
