using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace VtapCollector.Decoding;

/// <summary>
/// An IPv4 or IPv6 address as a 128-bit value type. IPv4 addresses are stored IPv4-mapped
/// (<c>::ffff:a.b.c.d</c>, RFC 4291 section 2.5.5.2) so both families share one layout; the
/// family is carried next to it (<see cref="DecodedPacket.IpVersion"/>), not guessed from the bits.
/// </summary>
public readonly struct IpAddress : IEquatable<IpAddress>, IComparable<IpAddress>
{
    private const ulong V4MappedHi = 0;
    private const ulong V4MappedLoPrefix = 0x0000_FFFF_0000_0000UL;

    /// <summary>Upper 64 bits in network order.</summary>
    public ulong Hi { get; }

    /// <summary>Lower 64 bits in network order.</summary>
    public ulong Lo { get; }

    public IpAddress(ulong hi, ulong lo)
    {
        Hi = hi;
        Lo = lo;
    }

    /// <summary>An IPv4 address given as a host-order 32-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IpAddress FromIPv4(uint address) => new(V4MappedHi, V4MappedLoPrefix | address);

    /// <summary>Reads 4 network-order bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IpAddress ReadIPv4(ReadOnlySpan<byte> source) => FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(source));

    /// <summary>Reads 16 network-order bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IpAddress ReadIPv6(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]));

    /// <summary>True when the bits are an IPv4-mapped address.</summary>
    public bool IsIPv4Mapped => Hi == V4MappedHi && (Lo & 0xFFFF_FFFF_0000_0000UL) == V4MappedLoPrefix;

    /// <summary>The IPv4 address in host order (meaningful when <see cref="IsIPv4Mapped"/>).</summary>
    public uint IPv4 => (uint)Lo;

    /// <summary>Writes the address in network order: 4 bytes for IPv4 (<paramref name="ipVersion"/> 4), else 16.</summary>
    public int WriteBytes(Span<byte> destination, int ipVersion)
    {
        if (ipVersion == 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Lo);
            return 4;
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Lo);
        return 16;
    }

    /// <summary>
    /// Formats as text (dotted quad for IPv4, RFC 5952 for IPv6) into <paramref name="destination"/>.
    /// Not allocation-free: it goes through a transient <see cref="System.Net.IPAddress"/> (about
    /// 60 bytes per call); per-record output uses the exporter's own formatter.
    /// </summary>
    public bool TryFormat(Span<char> destination, int ipVersion, out int written)
    {
        Span<byte> bytes = stackalloc byte[16];
        var length = WriteBytes(bytes, ipVersion);
        return new System.Net.IPAddress(bytes[..length]).TryFormat(destination, out written);
    }

    /// <summary>Text form; allocates, for tests and diagnostics.</summary>
    public string ToString(int ipVersion)
    {
        Span<char> buffer = stackalloc char[64];
        return TryFormat(buffer, ipVersion, out var written) ? new string(buffer[..written]) : string.Empty;
    }

    public override string ToString() => ToString(IsIPv4Mapped ? 4 : 6);

    /// <summary>Parses text (tests and configuration).</summary>
    public static IpAddress Parse(string text)
    {
        var parsed = System.Net.IPAddress.Parse(text);
        Span<byte> bytes = stackalloc byte[16];
        parsed.TryWriteBytes(bytes, out var written);
        return written == 4 ? ReadIPv4(bytes) : ReadIPv6(bytes);
    }

    public bool Equals(IpAddress other) => Hi == other.Hi && Lo == other.Lo;

    public override bool Equals(object? obj) => obj is IpAddress other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Hi, Lo);

    /// <summary>Orders as unsigned network-order bytes, as Community ID's endpoint ordering does.</summary>
    public int CompareTo(IpAddress other) => Hi != other.Hi ? Hi.CompareTo(other.Hi) : Lo.CompareTo(other.Lo);

    public static bool operator ==(IpAddress left, IpAddress right) => left.Equals(right);

    public static bool operator !=(IpAddress left, IpAddress right) => !left.Equals(right);

    public static bool operator <(IpAddress left, IpAddress right) => left.CompareTo(right) < 0;

    public static bool operator >(IpAddress left, IpAddress right) => left.CompareTo(right) > 0;

    public static bool operator <=(IpAddress left, IpAddress right) => left.CompareTo(right) <= 0;

    public static bool operator >=(IpAddress left, IpAddress right) => left.CompareTo(right) >= 0;
}
