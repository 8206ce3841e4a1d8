using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

    /// <summary>Writes the address's text and returns its length; nothing past it is touched.</summary>
    public static int Format(IpAddress address, int ipVersion, Span<byte> destination) =>
        ipVersion == 4 ? FormatIPv4Exactly((uint)address.Lo, destination) : FormatIPv6(address, destination);

    /// <summary>
    /// Appends the address's text to a record being encoded. Unlike <see cref="Format"/>, an IPv4
    /// address may leave a few scratch bytes in the buffer's free space past its text, which the
    /// rest of the record overwrites.
    /// </summary>
    internal static void Append(ref Utf8Buffer json, IpAddress address, int ipVersion) =>
        json.Advance(ipVersion == 4 ? FormatIPv4((uint)address.Lo, json.Free) : FormatIPv6(address, json.Free));

    /// <summary>Apart from <see cref="Format"/>: its group buffer is cleared on entry, which IPv4 need not pay for.</summary>
    private static int FormatIPv6(IpAddress address, Span<byte> destination)
    {
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
            return 7 + FormatIPv4Exactly((uint)address.Lo, destination[7..]);
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
        if (destination.Length < MaxIPv4Length + 1)
        {
            return FormatIPv4Exactly(address, destination);
        }

        // Each octet's digits from a table, never divided, stored as one four-byte word whose
        // first bytes are the digits (the rest is overwritten by the dot and the next octet, or lies
        // past the returned length): with a branch per octet's length random addresses mispredicted,
        // and digit-by-digit formatting had been a tenth of a record's encoding.
        ref var start = ref MemoryMarshal.GetReference(destination);
        var written = 0;
        for (var shift = 24; shift > 0; shift -= 8)
        {
            var packed = OctetWords[(int)(address >> shift) & 0xFF];
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref start, written), packed);
            written += (int)(packed >> 24);
            Unsafe.Add(ref start, written++) = (byte)'.';
        }

        var last = OctetWords[(int)address & 0xFF];
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref start, written), last);
        return written + (int)(last >> 24);
    }

    /// <summary>The longest dotted quad, 255.255.255.255.</summary>
    private const int MaxIPv4Length = 15;

    /// <summary>For a span with no room to spare: writes exactly the address's bytes.</summary>
    private static int FormatIPv4Exactly(uint address, Span<byte> destination)
    {
        var written = 0;
        for (var shift = 24; shift >= 0; shift -= 8)
        {
            var packed = OctetWords[(int)(address >> shift) & 0xFF];
            for (var i = 0; i < (int)(packed >> 24); i++)
            {
                destination[written++] = (byte)(packed >> (8 * i));
            }

            if (shift != 0)
            {
                destination[written++] = (byte)'.';
            }
        }

        return written;
    }

    /// <summary>Per octet 0 to 255: its one to three digits in the low bytes (little-endian), the digit count in the top byte.</summary>
    private static readonly uint[] OctetWords = BuildOctetWords();

    private static uint[] BuildOctetWords()
    {
        var words = new uint[256];
        for (var octet = 0; octet < 256; octet++)
        {
            var text = octet.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var word = (uint)text.Length << 24;
            for (var i = 0; i < text.Length; i++)
            {
                word |= (uint)text[i] << (8 * i);
            }

            words[octet] = word;
        }

        return words;
    }
}
