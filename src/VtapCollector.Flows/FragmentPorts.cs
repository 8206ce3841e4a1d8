using System.Runtime.CompilerServices;
using VtapCollector.Decoding;

namespace VtapCollector.Flows;

/// <summary>
/// The ports of fragmented packets: a first fragment (RFC 791 section 2.3: the only one carrying the
/// transport header) leaves its ports in a direct-mapped cache keyed by (VNI, addresses, protocol,
/// IP id), and later fragments of the same datagram take them from there. A later fragment whose
/// first was not seen, or was overwritten by another datagram's, gets none. Allocated once; a flow
/// table owns one.
/// </summary>
internal sealed class FragmentPorts(int slots)
{
    private readonly Slot[] _slots = new Slot[slots];

    /// <summary>Bytes the cache holds.</summary>
    public long MemoryBytes => (long)Unsafe.SizeOf<Slot>() * _slots.Length;

    /// <summary>
    /// For a first fragment, remembers <paramref name="sourcePort"/> and <paramref name="destinationPort"/>
    /// and returns true; for a later one, sets them from its first fragment, or returns false when that is unknown.
    /// </summary>
    public bool TryResolve(in DecodedPacket packet, ref ushort sourcePort, ref ushort destinationPort)
    {
        var hash = FlowKey.Mix(packet.Source.Lo ^ (packet.Destination.Lo * 31) ^ packet.Source.Hi ^ (packet.Destination.Hi * 17)
            ^ ((ulong)packet.Vni << 40) ^ ((ulong)packet.FragmentId << 8) ^ packet.Protocol);
        ref var slot = ref _slots[(int)(hash & (uint)(_slots.Length - 1))];
        if (packet.FragmentOffset == 0)
        {
            slot = new Slot(hash, packet.FragmentId, packet.Vni, packet.Source, packet.Destination, packet.Protocol, sourcePort, destinationPort);
            return true;
        }

        if (slot.Hash != hash || slot.Id != packet.FragmentId || slot.Vni != packet.Vni || slot.Protocol != packet.Protocol
            || slot.Source != packet.Source || slot.Destination != packet.Destination)
        {
            return false;
        }

        sourcePort = slot.SourcePort;
        destinationPort = slot.DestinationPort;
        return true;
    }

    /// <summary>Forgets every datagram (the table was cleared).</summary>
    public void Clear() => Array.Clear(_slots);

    private readonly record struct Slot(ulong Hash, uint Id, uint Vni, IpAddress Source, IpAddress Destination, byte Protocol, ushort SourcePort, ushort DestinationPort);
}
