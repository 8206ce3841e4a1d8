using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>
/// IPv6 fixed header (RFC 8200 section 3) followed through its extension-header chain
/// (section 4) to the upper-layer protocol, with a bound on the chain's length.
/// </summary>
public readonly struct Ipv6Header
{
    public const int FixedLength = 40;

    /// <summary>Hop-by-Hop option type of the Jumbo Payload option, RFC 2675 section 2.</summary>
    private const byte JumboOptionType = 0xC2;

    public IpAddress Source { get; init; }
    public IpAddress Destination { get; init; }

    /// <summary>Upper-layer protocol: the last Next Header value in the chain.</summary>
    public byte Protocol { get; init; }

    /// <summary>Offset of the upper-layer header from the start of the IPv6 header.</summary>
    public int HeaderLength { get; init; }

    /// <summary>IP bytes: 40 + payload length (or the jumbo length, or the captured length for BIG TCP).</summary>
    public uint TotalLength { get; init; }

    /// <summary>Where the packet ends in the captured bytes.</summary>
    public int CapturedEnd { get; init; }

    public uint FragmentId { get; init; }
    public ushort FragmentOffset { get; init; }
    public bool MoreFragments { get; init; }
    public PacketFlags Flags { get; init; }

    public static DecodeStatus TryRead(ReadOnlySpan<byte> source, int maxExtensionHeaders, out Ipv6Header header)
    {
        header = default;
        if ((uint)source.Length < FixedLength)
        {
            return DecodeStatus.Ipv6Truncated;
        }

        if (source[0] >> 4 != 6)
        {
            return DecodeStatus.Ipv6VersionMismatch;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(source[4..]);
        var nextHeader = source[6];
        var flags = PacketFlags.None;

        // Payload length 0 with a real next header is a jumbogram (RFC 2675) or a Linux BIG TCP
        // super-packet that carries no jumbo option; "no next header" (59) may be truly empty.
        var lengthUnknown = payloadLength == 0 && nextHeader != IpProtocol.Ipv6NoNext;
        long totalLength = FixedLength + payloadLength;
        if (lengthUnknown)
        {
            totalLength = source.Length;
            flags |= PacketFlags.LengthFromCapture;
        }

        var capturedEnd = (int)Math.Min(totalLength, source.Length);
        if (totalLength > source.Length)
        {
            flags |= PacketFlags.TruncatedCopy;
        }

        var offset = FixedLength;
        uint fragmentId = 0;
        ushort fragmentOffset = 0;
        var moreFragments = false;
        var extensionHeaders = 0;
        while (IsExtensionHeader(nextHeader))
        {
            if (++extensionHeaders > maxExtensionHeaders)
            {
                return DecodeStatus.Ipv6TooManyExtensionHeaders;
            }

            var remaining = source[offset..capturedEnd];
            if ((uint)remaining.Length < 8)
            {
                return DecodeStatus.Ipv6ExtensionHeaderTruncated;
            }

            var following = remaining[0];
            int length;
            if (nextHeader == IpProtocol.Ipv6Fragment)
            {
                // Fragment header, section 4.5: next(8) reserved(8) offset(13) res(2) M(1) id(32).
                length = 8;
                var offsetAndFlags = BinaryPrimitives.ReadUInt16BigEndian(remaining[2..]);
                fragmentOffset = (ushort)(offsetAndFlags >> 3);
                moreFragments = (offsetAndFlags & 1) != 0;
                fragmentId = BinaryPrimitives.ReadUInt32BigEndian(remaining[4..]);
                flags |= PacketFlags.Fragment;
            }
            else if (nextHeader == IpProtocol.Ah)
            {
                // RFC 4302 section 2.2: payload length in 4-octet units, minus 2.
                length = (remaining[1] + 2) * 4;
            }
            else
            {
                // Hop-by-Hop, Routing, Destination Options and the RFC 6564 uniform format:
                // length in 8-octet units, not counting the first 8.
                length = (remaining[1] + 1) * 8;
            }

            if (remaining.Length < length)
            {
                return DecodeStatus.Ipv6ExtensionHeaderTruncated;
            }

            if (nextHeader == IpProtocol.HopByHop && lengthUnknown
                && TryReadJumboLength(remaining[2..length], out var jumboLength))
            {
                // The jumbo length counts everything after the fixed header (RFC 2675 section 2).
                totalLength = FixedLength + (long)jumboLength;
                flags &= ~PacketFlags.LengthFromCapture;
                if (totalLength > source.Length)
                {
                    flags |= PacketFlags.TruncatedCopy;
                }
            }

            nextHeader = following;
            offset += length;
            if (fragmentOffset != 0)
            {
                // A later fragment carries no upper-layer header (section 4.5).
                break;
            }
        }

        header = new Ipv6Header
        {
            Source = IpAddress.ReadIPv6(source[8..]),
            Destination = IpAddress.ReadIPv6(source[24..]),
            Protocol = nextHeader,
            HeaderLength = offset,
            TotalLength = (uint)Math.Min(totalLength, uint.MaxValue),
            CapturedEnd = capturedEnd,
            FragmentId = fragmentId,
            FragmentOffset = fragmentOffset,
            MoreFragments = moreFragments,
            Flags = flags,
        };
        return DecodeStatus.Ok;
    }

    private static bool IsExtensionHeader(byte nextHeader) => nextHeader is IpProtocol.HopByHop
        or IpProtocol.Ipv6Route or IpProtocol.Ipv6Fragment or IpProtocol.Ipv6DestinationOptions
        or IpProtocol.Ah or IpProtocol.Mobility or IpProtocol.Hip or IpProtocol.Shim6;

    private static bool TryReadJumboLength(ReadOnlySpan<byte> options, out uint length)
    {
        length = 0;
        var i = 0;
        while (i < options.Length)
        {
            var type = options[i];
            if (type == 0)
            {
                i++; // Pad1
                continue;
            }

            if (i + 2 > options.Length)
            {
                return false;
            }

            var dataLength = options[i + 1];
            if (type == JumboOptionType && dataLength == 4 && i + 6 <= options.Length)
            {
                length = BinaryPrimitives.ReadUInt32BigEndian(options[(i + 2)..]);
                return true;
            }

            i += 2 + dataLength;
        }

        return false;
    }
}
