using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>
/// Ethernet II (IEEE 802.3 clause 3.2) with stacked 802.1Q / 802.1ad tags. Only what flow keys
/// need is kept: the final EtherType, the innermost VLAN id and where the payload starts.
/// </summary>
public readonly struct EthernetHeader
{
    /// <summary>Destination MAC, source MAC, EtherType.</summary>
    public const int Length = 14;

    /// <summary>One 802.1Q tag: TPID was already read as the EtherType, then TCI(2) and the next EtherType(2).</summary>
    public const int VlanTagLength = 4;

    public ushort EtherType { get; }

    /// <summary>VLAN id of the innermost tag; 0 when untagged.</summary>
    public ushort Vlan { get; }

    /// <summary>Bytes of header including tags.</summary>
    public int HeaderLength { get; }

    private EthernetHeader(ushort etherType, ushort vlan, int headerLength)
    {
        EtherType = etherType;
        Vlan = vlan;
        HeaderLength = headerLength;
    }

    public static DecodeStatus TryRead(ReadOnlySpan<byte> source, int maxVlanTags, out EthernetHeader header)
    {
        header = default;
        if ((uint)source.Length < Length)
        {
            return DecodeStatus.EthernetTruncated;
        }

        var etherType = BinaryPrimitives.ReadUInt16BigEndian(source[12..]);
        return TryReadTags(source, Length, etherType, maxVlanTags, out header);
    }

    /// <summary>
    /// Walks VLAN tags that start at <paramref name="offset"/>, where <paramref name="etherType"/> was
    /// read just before. Shared by Ethernet and Linux cooked captures (which may keep the tags).
    /// </summary>
    public static DecodeStatus TryReadTags(ReadOnlySpan<byte> source, int offset, ushort etherType, int maxVlanTags, out EthernetHeader header)
    {
        header = default;
        ushort vlan = 0;
        var tags = 0;
        while (etherType is EtherTypes.Vlan or EtherTypes.QinQ or EtherTypes.QinQLegacy)
        {
            if (++tags > maxVlanTags)
            {
                return DecodeStatus.TooManyVlanTags;
            }

            if ((uint)source.Length < (uint)(offset + VlanTagLength))
            {
                return DecodeStatus.VlanTruncated;
            }

            // TCI: PCP(3) DEI(1) VID(12); the innermost tag names the tenant segment.
            vlan = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(source[offset..]) & 0x0FFF);
            etherType = BinaryPrimitives.ReadUInt16BigEndian(source[(offset + 2)..]);
            offset += VlanTagLength;
        }

        header = new EthernetHeader(etherType, vlan, offset);
        return DecodeStatus.Ok;
    }
}
