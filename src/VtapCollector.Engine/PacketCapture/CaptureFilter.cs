using System.Globalization;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>
/// What a capture session keeps, over the decoded (inner) packet: Network Watcher's terms (protocol,
/// local and remote address, local and remote port) plus the mirror's (VNI, tunnel source) and two
/// either-side terms (host, port). Every term given must hold; a term left out matches anything.
/// <para>
/// "Local" is the tapped side (<see cref="ILocalAddresses"/>; by default the endpoint whose address is
/// the tunnel source). When exactly one endpoint is local the packet has one orientation; when neither
/// or both are, the local/remote terms may hold either way round (as a display filter's <c>ip.addr</c>
/// would), so a filter still finds traffic whose mirror is not one of its endpoints.
/// </para>
/// Port terms match TCP, UDP and SCTP packets only (an ICMP type is not a port), and never a later IP
/// fragment, which carries no transport header. Matching is a handful of comparisons: no allocation.
/// </summary>
internal sealed class CaptureFilter
{
    /// <summary>No protocol term.</summary>
    public const int AnyProtocol = -1;

    /// <summary>Matches every packet.</summary>
    public static CaptureFilter All { get; } = new();

    public int Protocol { get; init; } = AnyProtocol;

    public Cidr? Local { get; init; }

    public Cidr? Remote { get; init; }

    public Cidr? Host { get; init; }

    public PortRange? LocalPort { get; init; }

    public PortRange? RemotePort { get; init; }

    public PortRange? Port { get; init; }

    public uint? Vni { get; init; }

    public Cidr? TunnelSource { get; init; }

    /// <summary>True when a term names a side, so the packet's orientation matters.</summary>
    private bool Sided => Local is not null || Remote is not null || LocalPort is not null || RemotePort is not null;

    private bool HasPortTerm => Port is not null || LocalPort is not null || RemotePort is not null;

    /// <summary>Whether <paramref name="packet"/> passes every term; <paramref name="locals"/> null means the tunnel-source rule.</summary>
    public bool Matches(in DecodedPacket packet, ILocalAddresses? locals)
    {
        if (Protocol != AnyProtocol && packet.Protocol != Protocol)
        {
            return false;
        }

        if (Vni is { } vni && packet.Vni != vni)
        {
            return false;
        }

        if (TunnelSource is { } tunnel && (packet.Tunnel == TunnelKind.None || !tunnel.Contains(packet.TunnelSource)))
        {
            return false;
        }

        if (Host is { } host && !host.Contains(packet.Source) && !host.Contains(packet.Destination))
        {
            return false;
        }

        if (HasPortTerm && !CarriesPorts(packet))
        {
            return false;
        }

        if (Port is { } port && !port.Contains(packet.SourcePort) && !port.Contains(packet.DestinationPort))
        {
            return false;
        }

        if (!Sided)
        {
            return true;
        }

        bool sourceLocal, destinationLocal;
        if (locals is null)
        {
            sourceLocal = packet.Tunnel != TunnelKind.None && packet.Source == packet.TunnelSource;
            destinationLocal = packet.Tunnel != TunnelKind.None && packet.Destination == packet.TunnelSource;
        }
        else
        {
            sourceLocal = locals.IsLocal(packet.Source, packet.Vni);
            destinationLocal = locals.IsLocal(packet.Destination, packet.Vni);
        }

        var forward = MatchesSides(packet.Source, packet.SourcePort, packet.Destination, packet.DestinationPort);
        if (sourceLocal != destinationLocal)
        {
            return sourceLocal ? forward : MatchesSides(packet.Destination, packet.DestinationPort, packet.Source, packet.SourcePort);
        }

        return forward || MatchesSides(packet.Destination, packet.DestinationPort, packet.Source, packet.SourcePort);
    }

    private bool MatchesSides(IpAddress local, ushort localPort, IpAddress remote, ushort remotePort) =>
        (Local is not { } l || l.Contains(local))
        && (Remote is not { } r || r.Contains(remote))
        && (LocalPort is not { } lp || lp.Contains(localPort))
        && (RemotePort is not { } rp || rp.Contains(remotePort));

    private static bool CarriesPorts(in DecodedPacket packet) =>
        packet.FragmentOffset == 0 && packet.Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp;

    /// <summary>The filter in the compact syntax <see cref="CaptureFilterParser"/> reads (empty: everything).</summary>
    public override string ToString()
    {
        var terms = new List<string>();
        if (Protocol != AnyProtocol)
        {
            terms.Add("proto=" + CaptureFilterParser.ProtocolName(Protocol));
        }

        Add(terms, "local", Local);
        Add(terms, "remote", Remote);
        Add(terms, "host", Host);
        Add(terms, "lport", LocalPort);
        Add(terms, "rport", RemotePort);
        Add(terms, "port", Port);
        Add(terms, "vni", Vni);
        Add(terms, "tunnel", TunnelSource);
        return string.Join(',', terms);
    }

    private static void Add<T>(List<string> terms, string key, T? value)
        where T : struct
    {
        if (value is { } v)
        {
            terms.Add(string.Create(CultureInfo.InvariantCulture, $"{key}={v}"));
        }
    }
}
