using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>
/// ERSPAN header (draft-foschiano-erspan-03), carried in GRE. Type I (GRE protocol 0x88BE without
/// a sequence number) has no header: the mirrored Ethernet frame follows GRE at once. Type II
/// (0x88BE with a sequence number, section 4.1) is 8 bytes: Ver(4)=1 VLAN(12) COS(3) En(2) T(1)
/// SessionID(10) Reserved(12) Index(20). Type III (0x22EB, section 4.2) is 12 bytes: Ver(4)=2
/// VLAN(12) COS(3) BSO(2) T(1) SessionID(10) Timestamp(32) SGT(16) P(1) FT(5) HwID(6) D(1) Gra(2)
/// O(1), then an 8-byte platform-specific subheader when O is set.
/// </summary>
public readonly struct ErspanHeader
{
    public const int TypeIILength = 8;
    public const int TypeIIILength = 12;

    /// <summary>Length of type III's optional platform-specific subheader (section 4.2.1).</summary>
    public const int PlatformSubheaderLength = 8;

    private const int TypeIIVersion = 1;
    private const int TypeIIIVersion = 2;

    /// <summary>FT: the mirrored frame is Ethernet.</summary>
    private const int FrameTypeEthernet = 0;

    /// <summary>FT: the mirrored frame is an IP packet without its link layer.</summary>
    private const int FrameTypeIp = 2;

    /// <summary>The 10-bit session ID: which monitor session sent the copy.</summary>
    public ushort SessionId { get; }

    /// <summary>The mirrored frame's original VLAN (12 bits; 0 for none).</summary>
    public ushort Vlan { get; }

    /// <summary>T: the mirroring switch cut the frame short (it exceeded the session's MTU).</summary>
    public bool Truncated { get; }

    /// <summary>True when the payload is an IP packet (type III FT 2) rather than an Ethernet frame.</summary>
    public bool CarriesIp { get; }

    /// <summary>The ERSPAN header with its subheader: where the mirrored frame starts.</summary>
    public int HeaderLength { get; }

    private ErspanHeader(ushort sessionId, ushort vlan, bool truncated, bool carriesIp, int headerLength)
    {
        SessionId = sessionId;
        Vlan = vlan;
        Truncated = truncated;
        CarriesIp = carriesIp;
        HeaderLength = headerLength;
    }

    /// <summary>Reads a type II header (<paramref name="typeIII"/> false) or a type III header.</summary>
    public static DecodeStatus TryRead(ReadOnlySpan<byte> source, bool typeIII, out ErspanHeader header)
    {
        header = default;
        var length = typeIII ? TypeIIILength : TypeIILength;
        if ((uint)source.Length < (uint)length)
        {
            return DecodeStatus.ErspanTruncated;
        }

        // The version says which layout follows; a mismatch with the GRE protocol type is a
        // header this decoder would misread, so it is refused rather than guessed.
        var version = source[0] >> 4;
        if (version != (typeIII ? TypeIIIVersion : TypeIIVersion))
        {
            return DecodeStatus.ErspanVersionUnsupported;
        }

        var vlan = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(source) & 0x0FFF);
        var word = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
        var truncated = (word & 0x0400) != 0;
        var sessionId = (ushort)(word & 0x03FF);
        var carriesIp = false;
        if (typeIII)
        {
            var frameType = (source[10] >> 2) & 0x1F;
            if (frameType is not (FrameTypeEthernet or FrameTypeIp))
            {
                return DecodeStatus.ErspanFrameTypeUnsupported;
            }

            carriesIp = frameType == FrameTypeIp;
            if ((source[11] & 0x01) != 0)
            {
                length += PlatformSubheaderLength;
                if (source.Length < length)
                {
                    return DecodeStatus.ErspanTruncated;
                }
            }
        }

        header = new ErspanHeader(sessionId, vlan, truncated, carriesIp, length);
        return DecodeStatus.Ok;
    }
}
