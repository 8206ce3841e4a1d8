using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>
/// Linux cooked captures ("any" device): SLL (LINKTYPE_LINUX_SLL, 16 bytes, protocol at offset 14)
/// and SLL2 (LINKTYPE_LINUX_SLL2, 20 bytes, protocol at offset 0), per tcpdump.org's link-type pages.
/// </summary>
public static class LinuxCookedHeader
{
    public const int SllLength = 16;
    public const int Sll2Length = 20;

    public static DecodeStatus TryReadSll(ReadOnlySpan<byte> source, int maxVlanTags, out EthernetHeader header)
    {
        header = default;
        if ((uint)source.Length < SllLength)
        {
            return DecodeStatus.SllTruncated;
        }

        var protocol = BinaryPrimitives.ReadUInt16BigEndian(source[14..]);
        return EthernetHeader.TryReadTags(source, SllLength, protocol, maxVlanTags, out header);
    }

    public static DecodeStatus TryReadSll2(ReadOnlySpan<byte> source, int maxVlanTags, out EthernetHeader header)
    {
        header = default;
        if ((uint)source.Length < Sll2Length)
        {
            return DecodeStatus.Sll2Truncated;
        }

        var protocol = BinaryPrimitives.ReadUInt16BigEndian(source);
        return EthernetHeader.TryReadTags(source, Sll2Length, protocol, maxVlanTags, out header);
    }
}
