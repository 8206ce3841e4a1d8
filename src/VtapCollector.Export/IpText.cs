using System.Buffers.Binary;
using System.Buffers.Text;
using VtapCollector.Decoding;

namespace VtapCollector.Export;

/// <summary>
/// Formats addresses as UTF-8 text without allocating: dotted quad for IPv4, and the RFC 5952
/// canonical form for IPv6 (lower case, no leading zeros, the longest run of two or more zero
/// groups compressed to "::", the first such run on a tie, IPv4-mapped as ::ffff:a.b.c.d).
/// </summary>
public static class IpText
{
    /// <summary>Longest text: 8 groups of 4 digits and 7 colons.</summary>
    public const int MaxLength = 45;

    public static int Format(IpAddress address, int ipVersion, Span<byte> destination)
    {
        if (ipVersion == 4)
        {
            return FormatIPv4((uint)address.Lo, destination);
        }

        Span<ushort> groups = stackalloc ushort[8];
        for (var i = 0; i < 4; i++)
        {
            groups[i] = (ushort)(address.Hi >> (48 - (16 * i)));
            groups[i + 4] = (ushort)(address.Lo >> (48 - (16 * i)));
        }

        if (address.IsIPv4Mapped)
        {
            // RFC 5952 section 5: the mapped form keeps the dotted quad.
            "::ffff:"u8.CopyTo(destination);
            return 7 + FormatIPv4((uint)address.Lo, destination[7..]);
        }

        FindLongestZeroRun(groups, out var runStart, out var runLength);
        var written = 0;
        for (var i = 0; i < 8; i++)
        {
            if (i == runStart)
            {
                destination[written++] = (byte)':';
                if (i == 0)
                {
                    destination[written++] = (byte)':';
                }

                i += runLength - 1;
                continue;
            }

            written += WriteHex(groups[i], destination[written..]);
            if (i < 7)
            {
                destination[written++] = (byte)':';
            }
        }

        return written;
    }

    private static void FindLongestZeroRun(ReadOnlySpan<ushort> groups, out int start, out int length)
    {
        start = -1;
        length = 0;
        var currentStart = -1;
        for (var i = 0; i <= groups.Length; i++)
        {
            if (i < groups.Length && groups[i] == 0)
            {
                if (currentStart < 0)
                {
                    currentStart = i;
                }

                continue;
            }

            if (currentStart >= 0)
            {
                var currentLength = i - currentStart;
                if (currentLength > length)
                {
                    start = currentStart;
                    length = currentLength;
                }

                currentStart = -1;
            }
        }

        // A single zero group is written as "0", never as "::" (RFC 5952 section 4.2.2).
        if (length < 2)
        {
            start = -1;
            length = 0;
        }
    }

    private static int WriteHex(ushort value, Span<byte> destination)
    {
        var digits = value >= 0x1000 ? 4 : value >= 0x100 ? 3 : value >= 0x10 ? 2 : 1;
        for (var i = digits - 1; i >= 0; i--)
        {
            var nibble = value & 0xF;
            destination[i] = (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
            value >>= 4;
        }

        return digits;
    }

    private static int FormatIPv4(uint address, Span<byte> destination)
    {
        Span<byte> octets = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(octets, address);
        var written = 0;
        for (var i = 0; i < 4; i++)
        {
            Utf8Formatter.TryFormat(octets[i], destination[written..], out var digits);
            written += digits;
            if (i < 3)
            {
                destination[written++] = (byte)'.';
            }
        }

        return written;
    }
}
