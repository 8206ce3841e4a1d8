using VtapCollector.Decoding;

namespace VtapCollector.Flows.Tests;

/// <summary>Builds decoded packets the way the decoder would report them.</summary>
internal static class PacketFactory
{
    public const long Second = 1_000_000_000L;

    /// <summary>2026-11-01T12:00:00Z in ns: a realistic packet clock.</summary>
    public const long T0 = 1_793_534_400L * Second;

    public static DecodedPacket Tcp(string source, ushort sourcePort, string destination, ushort destinationPort, byte flags, uint ipBytes = 40, uint vni = 100) =>
        Packet(IpProtocol.Tcp, source, sourcePort, destination, destinationPort, ipBytes, vni, flags);

    public static DecodedPacket Udp(string source, ushort sourcePort, string destination, ushort destinationPort, uint ipBytes = 100, uint vni = 100) =>
        Packet(IpProtocol.Udp, source, sourcePort, destination, destinationPort, ipBytes, vni, 0);

    public static DecodedPacket Icmp(string source, string destination, byte type, byte code, uint ipBytes = 84, uint vni = 100)
    {
        var v6 = source.Contains(':', StringComparison.Ordinal);
        return Packet(v6 ? IpProtocol.Icmpv6 : IpProtocol.Icmp, source, type, destination, code, ipBytes, vni, 0);
    }

    public static DecodedPacket Packet(byte protocol, string source, ushort sourcePort, string destination, ushort destinationPort, uint ipBytes, uint vni, byte flags) => new()
    {
        Tunnel = TunnelKind.Vxlan,
        TunnelDepth = 1,
        Vni = vni,
        TunnelIpVersion = 4,
        TunnelSource = IpAddress.Parse("172.31.99.1"),
        TunnelDestination = IpAddress.Parse("172.31.99.2"),
        IpVersion = source.Contains(':', StringComparison.Ordinal) ? (byte)6 : (byte)4,
        Protocol = protocol,
        Source = IpAddress.Parse(source),
        Destination = IpAddress.Parse(destination),
        SourcePort = sourcePort,
        DestinationPort = destinationPort,
        TcpFlags = flags,
        IpBytes = ipBytes,
    };
}

/// <summary>Collects the records a table emits.</summary>
internal sealed class RecordingWriter : IFlowRecordWriter
{
    public List<FlowRecord> Records { get; } = [];

    public void Write(in FlowRecord record) => Records.Add(record);
}
