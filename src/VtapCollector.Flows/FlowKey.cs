using System.Numerics;
using System.Runtime.CompilerServices;
using VtapCollector.Decoding;

namespace VtapCollector.Flows;

/// <summary>
/// A flow's identity: VNI, IP version, protocol and the two endpoints in canonical order (the
/// lower (address, port) first, compared as unsigned network-order bytes), so that both directions
/// of a conversation make the same key and the same tuple in two VNIs makes two keys.
/// </summary>
public readonly struct FlowKey : IEquatable<FlowKey>
{
    public IpAddress AddressA { get; }
    public IpAddress AddressB { get; }
    public uint Vni { get; }
    public ushort PortA { get; }
    public ushort PortB { get; }
    public byte IpVersion { get; }
    public byte Protocol { get; }

    private FlowKey(uint vni, byte ipVersion, byte protocol, IpAddress addressA, ushort portA, IpAddress addressB, ushort portB)
    {
        Vni = vni;
        IpVersion = ipVersion;
        Protocol = protocol;
        AddressA = addressA;
        PortA = portA;
        AddressB = addressB;
        PortB = portB;
    }

    /// <summary>Builds the canonical key; <paramref name="senderIsA"/> tells which side sent this packet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FlowKey Create(uint vni, byte ipVersion, byte protocol, IpAddress source, ushort sourcePort, IpAddress destination, ushort destinationPort, out bool senderIsA)
    {
        senderIsA = IsLower(source, sourcePort, destination, destinationPort);
        return senderIsA
            ? new FlowKey(vni, ipVersion, protocol, source, sourcePort, destination, destinationPort)
            : new FlowKey(vni, ipVersion, protocol, destination, destinationPort, source, sourcePort);
    }

    /// <summary>Community ID's endpoint order: by address, then by port when the addresses are equal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLower(IpAddress address1, ushort port1, IpAddress address2, ushort port2)
    {
        if (address1.Hi != address2.Hi)
        {
            return address1.Hi < address2.Hi;
        }

        if (address1.Lo != address2.Lo)
        {
            return address1.Lo < address2.Lo;
        }

        return port1 <= port2;
    }

    /// <summary>A deterministic 64-bit hash (fixed constants, no per-process seed: replays repeat).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Hash()
    {
        const ulong Prime1 = 0x9E3779B97F4A7C15UL;
        const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;
        var h = ((ulong)Vni << 32) ^ ((ulong)PortA << 16) ^ PortB ^ ((ulong)Protocol << 56) ^ ((ulong)IpVersion << 48);
        h = (h ^ AddressA.Lo) * Prime1;
        h = (BitOperations.RotateLeft(h, 29) ^ AddressB.Lo) * Prime2;
        h = (BitOperations.RotateLeft(h, 31) ^ AddressA.Hi) * Prime1;
        h = (BitOperations.RotateLeft(h, 27) ^ AddressB.Hi) * Prime2;
        return Mix(h);
    }

    /// <summary>The finaliser of MurmurHash3: every input bit affects every output bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 33;
        return h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(FlowKey other) =>
        AddressA.Lo == other.AddressA.Lo && AddressB.Lo == other.AddressB.Lo
        && AddressA.Hi == other.AddressA.Hi && AddressB.Hi == other.AddressB.Hi
        && Vni == other.Vni && PortA == other.PortA && PortB == other.PortB
        && Protocol == other.Protocol && IpVersion == other.IpVersion;

    public override bool Equals(object? obj) => obj is FlowKey other && Equals(other);

    public override int GetHashCode() => (int)Hash();

    public static bool operator ==(FlowKey left, FlowKey right) => left.Equals(right);

    public static bool operator !=(FlowKey left, FlowKey right) => !left.Equals(right);
}
