using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>IPv4 header, RFC 791 section 3.1, with options skipped by IHL.</summary>
public readonly struct Ipv4Header
{
    public const int MinLength = 20;

    public IpAddress Source { get; init; }
    public IpAddress Destination { get; init; }
    public byte Protocol { get; init; }

    /// <summary>Header length in bytes (IHL * 4).</summary>
    public int HeaderLength { get; init; }

    /// <summary>IP bytes of the packet: the total length field, or the captured length when that field is 0.</summary>
    public uint TotalLength { get; init; }

    /// <summary>Where the IP payload ends in the captured bytes (total length, clipped to what was captured).</summary>
    public int CapturedEnd { get; init; }

    public ushort Identification { get; init; }
    public ushort FragmentOffset { get; init; }
    public bool MoreFragments { get; init; }
    public PacketFlags Flags { get; init; }

    public static DecodeStatus TryRead(ReadOnlySpan<byte> source, out Ipv4Header header)
    {
        header = default;
        if ((uint)source.Length < MinLength)
        {
            return DecodeStatus.Ipv4Truncated;
        }

        var versionIhl = source[0];
        if (versionIhl >> 4 != 4)
        {
            return DecodeStatus.Ipv4VersionMismatch;
        }

        var headerLength = (versionIhl & 0x0F) * 4;
        if (headerLength < MinLength)
        {
            return DecodeStatus.Ipv4HeaderLengthInvalid;
        }

        if (source.Length < headerLength)
        {
            return DecodeStatus.Ipv4Truncated;
        }

        var flags = PacketFlags.None;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
        if (totalLength == 0)
        {
            // Linux GSO and BIG TCP hand over super-packets whose total length is 0: the real
            // length is what was captured (as tcpdump's "presumed TSO/BIG TCP" decode assumes).
            totalLength = source.Length;
            flags |= PacketFlags.LengthFromCapture;
        }
        else if (totalLength < headerLength)
        {
            return DecodeStatus.Ipv4TotalLengthInvalid;
        }

        var capturedEnd = totalLength;
        if (totalLength > source.Length)
        {
            // A mirror copy cut to a snap length (AWS PacketLength, tcpdump -s): count the real
            // length, decode what is there.
            capturedEnd = source.Length;
            flags |= PacketFlags.TruncatedCopy;
        }

        var fragment = BinaryPrimitives.ReadUInt16BigEndian(source[6..]);
        var fragmentOffset = (ushort)(fragment & 0x1FFF);
        var moreFragments = (fragment & 0x2000) != 0;
        if (fragmentOffset != 0 || moreFragments)
        {
            flags |= PacketFlags.Fragment;
        }

        header = new Ipv4Header
        {
            Source = IpAddress.ReadIPv4(source[12..]),
            Destination = IpAddress.ReadIPv4(source[16..]),
            Protocol = source[9],
            HeaderLength = headerLength,
            TotalLength = (uint)totalLength,
            CapturedEnd = capturedEnd,
            Identification = BinaryPrimitives.ReadUInt16BigEndian(source[4..]),
            FragmentOffset = fragmentOffset,
            MoreFragments = moreFragments,
            Flags = flags,
        };
        return DecodeStatus.Ok;
    }
}
