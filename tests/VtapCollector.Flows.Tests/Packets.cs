using VtapCollector.Decoding;

namespace VtapCollector.Flows.Tests;

/// <summary>
/// Builds <see cref="DecodedPacket"/> values as the decoder reports them (VXLAN over IPv4, ports
/// or ICMP type and code, IP bytes), and the packet clock the flow table runs on.
/// </summary>
internal static class Packets
{
    public const uint Vni = 4096;

    public const byte Syn = TcpFlagBits.Syn;
    public const byte SynAck = TcpFlagBits.Syn | TcpFlagBits.Ack;
    public const byte Ack = TcpFlagBits.Ack;
    public const byte PshAck = TcpFlagBits.Psh | TcpFlagBits.Ack;
    public const byte Fin = TcpFlagBits.Fin;
    public const byte FinAck = TcpFlagBits.Fin | TcpFlagBits.Ack;
    public const byte Rst = TcpFlagBits.Rst;
    public const byte RstAck = TcpFlagBits.Rst | TcpFlagBits.Ack;

    public const long NanosPerSecond = 1_000_000_000L;

    /// <summary>2023-11-14T22:13:20Z: a realistic packet clock origin.</summary>
    public const long Origin = 1_700_000_000L * NanosPerSecond;

    public static readonly IpAddress TunnelSource = IpAddress.Parse("192.0.2.1");
    public static readonly IpAddress TunnelDestination = IpAddress.Parse("192.0.2.2");

    /// <summary>Packet time <paramref name="seconds"/> after <see cref="Origin"/>.</summary>
    public static long At(double seconds) => Origin + (long)Math.Round(seconds * NanosPerSecond);

    public static DecodedPacket Tcp(string source, ushort sourcePort, string destination, ushort destinationPort, byte flags, uint ipBytes = 52, uint vni = Vni) =>
        Make(IpProtocol.Tcp, source, sourcePort, destination, destinationPort, ipBytes, vni, flags);

    public static DecodedPacket Udp(string source, ushort sourcePort, string destination, ushort destinationPort, uint ipBytes = 100, uint vni = Vni) =>
        Make(IpProtocol.Udp, source, sourcePort, destination, destinationPort, ipBytes, vni, 0);

    /// <summary>ICMP for IPv4 addresses, ICMPv6 for IPv6 ones; the decoder puts type and code in the ports.</summary>
    public static DecodedPacket Icmp(string source, string destination, byte type, byte code, uint ipBytes = 84, uint vni = Vni) =>
        Make(IsV6(source) ? IpProtocol.Icmpv6 : IpProtocol.Icmp, source, type, destination, code, ipBytes, vni, 0);

    /// <summary>A protocol without ports (the decoder reports 0 and 0).</summary>
    public static DecodedPacket Portless(byte protocol, string source, string destination, uint ipBytes = 100, uint vni = Vni) =>
        Make(protocol, source, 0, destination, 0, ipBytes, vni, 0);

    /// <summary>The first fragment of a datagram: the transport header is there, more fragments follow.</summary>
    public static DecodedPacket FirstFragment(DecodedPacket packet, uint fragmentId)
    {
        packet.Flags |= PacketFlags.Fragment;
        packet.MoreFragments = true;
        packet.FragmentOffset = 0;
        packet.FragmentId = fragmentId;
        return packet;
    }

    /// <summary>A later fragment: no transport header, so ports 0 (as the decoder reports it).</summary>
    public static DecodedPacket LaterFragment(byte protocol, string source, string destination, uint fragmentId, ushort offsetUnits, bool moreFragments, uint ipBytes, uint vni = Vni)
    {
        var packet = Make(protocol, source, 0, destination, 0, ipBytes, vni, 0);
        packet.Flags |= PacketFlags.Fragment;
        packet.FragmentOffset = offsetUnits;
        packet.MoreFragments = moreFragments;
        packet.FragmentId = fragmentId;
        return packet;
    }

    public static bool IsV6(string address) => address.Contains(':', StringComparison.Ordinal);

    private static DecodedPacket Make(byte protocol, string source, ushort sourcePort, string destination, ushort destinationPort, uint ipBytes, uint vni, byte flags) => new()
    {
        Tunnel = TunnelKind.Vxlan,
        TunnelDepth = 1,
        Vni = vni,
        TunnelIpVersion = 4,
        TunnelSource = TunnelSource,
        TunnelDestination = TunnelDestination,
        IpVersion = IsV6(source) ? (byte)6 : (byte)4,
        Protocol = protocol,
        TcpFlags = flags,
        Source = IpAddress.Parse(source),
        Destination = IpAddress.Parse(destination),
        SourcePort = sourcePort,
        DestinationPort = destinationPort,
        IpBytes = ipBytes,
    };
}

/// <summary>Collects every record a table emits, in order.</summary>
internal sealed class RecordingWriter : IFlowRecordWriter
{
    public List<FlowRecord> Records { get; } = [];

    public IEnumerable<FlowRecord> Ends => Records.Where(r => r.Type == FlowRecordType.End);

    public IEnumerable<FlowRecord> Updates => Records.Where(r => r.Type == FlowRecordType.Update);

    public void Write(in FlowRecord record) => Records.Add(record);
}

/// <summary>Measures managed allocation on the current thread.</summary>
internal static class Allocations
{
    /// <summary>
    /// Bytes <paramref name="action"/> allocates, the least of up to <paramref name="runs"/> runs.
    /// The runtime's one-time work (a method's tier-up or on-stack replacement) can land in one
    /// run; an allocation per call shows in every run.
    /// </summary>
    public static long Least(Action action, int runs = 5)
    {
        var least = long.MaxValue;
        for (var run = 0; run < runs && least != 0; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            action();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }
}
