using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>VXLAN header, RFC 7348 section 5: flags(8) reserved(24) VNI(24) reserved(8).</summary>
public readonly struct VxlanHeader
{
    public const int Length = 8;

    /// <summary>The I flag: the VNI field is valid.</summary>
    private const byte IFlag = 0x08;

    /// <summary>The P flag of VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe section 3): a next-protocol field follows.</summary>
    private const byte GpeNextProtocolFlag = 0x04;

    public uint Vni { get; }

    private VxlanHeader(uint vni) => Vni = vni;

    public static DecodeStatus TryRead(ReadOnlySpan<byte> source, out VxlanHeader header)
    {
        header = default;
        if ((uint)source.Length < Length)
        {
            return DecodeStatus.VxlanTruncated;
        }

        // Checked before the I flag: a GPE header (e.g. carrying NSH) is not Ethernet inside, and
        // reading it as plain VXLAN would invent flows from garbage.
        if ((source[0] & GpeNextProtocolFlag) != 0)
        {
            return DecodeStatus.VxlanGpeUnsupported;
        }

        if ((source[0] & IFlag) == 0)
        {
            return DecodeStatus.VxlanFlagNotSet;
        }

        header = new VxlanHeader(BinaryPrimitives.ReadUInt32BigEndian(source[4..]) >> 8);
        return DecodeStatus.Ok;
    }
}
