using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace VtapCollector.Decoding;

/// <summary>
/// A 64-bit signature of an inner packet that is the same for every mirror copy of it and differs
/// between packets: two taps of one conversation (the sending and the receiving NIC) send copies
/// whose signatures match, so a worker can count the packet once.
/// </summary>
/// <remarks>
/// What goes in: the inner IP header without the fields a hop between the two taps may change, the
/// transport header's identifying fields, and the packet's length.
/// <list type="bullet">
/// <item>IPv4 (RFC 791 section 3.1): version and IHL, total length, identification, flags and
/// fragment offset, protocol, both addresses. Out: TTL and header checksum (every router rewrites
/// them), and the type-of-service byte (DSCP may be re-marked and ECN set to CE on the way, RFC
/// 3168 section 5). Options are left out: record-route and timestamp options change per hop.</item>
/// <item>IPv6 (RFC 8200 section 3): version, flow label, payload length, next header, both
/// addresses, and the fragment header's identification, offset and M flag. Out: hop limit, and
/// the traffic class for the same reason as the IPv4 TOS byte.</item>
/// <item>TCP (RFC 9293 section 3.1): ports, sequence and acknowledgement numbers, data offset and
/// flags, window, checksum. The checksum covers the payload, so two segments with the same
/// numbers and other data differ.</item>
/// <item>UDP, ICMP, ICMPv6 and anything else: the first eight bytes after the IP header(s): UDP's
/// ports, length and checksum (RFC 768); ICMP's type, code, checksum and identifier and sequence
/// (RFC 792, RFC 4443); an ESP SPI and sequence number; a later fragment's first payload bytes.</item>
/// </list>
/// A false match needs two different packets with the same 64 bits from two taps within the
/// deduplication window: about window-packets / 2^64.
/// </remarks>
public static class PacketSignature
{
    private const ulong Seed = 0x6A09_E667_F3BC_C909UL;
    private const ulong Multiplier = 0x9E37_79B9_7F4A_7C15UL;

    /// <summary>
    /// The signature of the inner packet whose IP header starts <paramref name="ip"/> and whose
    /// upper-layer bytes (after every extension header) are <paramref name="upper"/>; never 0, so
    /// 0 can mean "none".
    /// </summary>
    /// <param name="packet">The decoded packet: version, protocol, IP length and fragment fields.</param>
    /// <param name="ip">The inner IP header, at least its fixed part (the decoder checked it).</param>
    /// <param name="upper">The bytes after the IP header(s) as captured.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute(in DecodedPacket packet, ReadOnlySpan<byte> ip, ReadOnlySpan<byte> upper)
    {
        ulong hash;
        if (packet.IpVersion == 4)
        {
            // Bytes 0-7 without byte 1 (TOS); 8 (TTL) and 10-11 (checksum) are not read; 12-19 addresses.
            hash = Step(Seed, BinaryPrimitives.ReadUInt64LittleEndian(ip) & ~0xFF00UL);
            hash = Step(hash, BinaryPrimitives.ReadUInt64LittleEndian(ip[12..]));
        }
        else
        {
            // Byte 0's low nibble and byte 1's high nibble are the traffic class; byte 7 the hop limit.
            hash = Step(Seed, BinaryPrimitives.ReadUInt64LittleEndian(ip) & ~0xFF00_0000_0000_F00FUL);
            hash = Step(hash, BinaryPrimitives.ReadUInt64LittleEndian(ip[8..]));
            hash = Step(hash, BinaryPrimitives.ReadUInt64LittleEndian(ip[16..]));
            hash = Step(hash, BinaryPrimitives.ReadUInt64LittleEndian(ip[24..]));
            hash = Step(hash, BinaryPrimitives.ReadUInt64LittleEndian(ip[32..]));
            hash = Step(hash, ((ulong)packet.FragmentId << 32) | ((ulong)packet.FragmentOffset << 1) | (packet.MoreFragments ? 1UL : 0UL));
        }

        hash = Step(hash, ((ulong)packet.IpBytes << 8) | packet.Protocol);
        if (packet.Protocol == IpProtocol.Tcp && packet.FragmentOffset == 0 && (uint)upper.Length >= TransportHeader.TcpMinLength)
        {
            // Ports, sequence, acknowledgement (bytes 0-11), then offset, flags, window and checksum (12-17).
            hash = Step(hash, BinaryPrimitives.ReadUInt64LittleEndian(upper));
            hash = Step(hash, BinaryPrimitives.ReadUInt64LittleEndian(upper[8..]));
            hash = Step(hash, BinaryPrimitives.ReadUInt16LittleEndian(upper[16..]));
        }
        else
        {
            hash = Step(hash, FirstEightBytes(upper));
        }

        hash = Finish(hash);
        return hash == 0 ? 1 : hash;
    }

    /// <summary>Up to the first eight bytes, zero-padded, with the count in the top byte of the pad so "ab" and "ab\0" differ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong FirstEightBytes(ReadOnlySpan<byte> upper)
    {
        if ((uint)upper.Length >= 8)
        {
            return BinaryPrimitives.ReadUInt64LittleEndian(upper);
        }

        ulong value = (ulong)upper.Length << 56;
        for (var i = 0; i < upper.Length; i++)
        {
            value ^= (ulong)upper[i] << (8 * i);
        }

        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Step(ulong hash, ulong word) =>
        BitOperations.RotateLeft(hash ^ (word * Multiplier), 29) * 0xBF58_476D_1CE4_E5B9UL;

    /// <summary>splitmix64's finaliser: every input bit reaches every output bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Finish(ulong value)
    {
        value = (value ^ (value >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return value ^ (value >> 31);
    }
}
