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

    // Each term is kept as a flag and a plain readonly field: the per-packet test reads fields in
    // place instead of copying nullable structs out of properties.
    private readonly Cidr _local, _remote, _host, _tunnel;
    private readonly PortRange _localPort, _remotePort, _port;
    private readonly uint _vni;
    private readonly bool _hasLocal, _hasRemote, _hasHost, _hasTunnel, _hasLocalPort, _hasRemotePort, _hasPort, _hasVni;
    private bool _sided, _portTerm;

    private readonly int _protocol = AnyProtocol;
    private CaptureGate _gate;

    public int Protocol
    {
        get => _protocol;
        init
        {
            _protocol = value;
            _gate = new CaptureGate(this);
        }
    }

    /// <summary>The filter's cheap terms (protocol, VNI, host), which the receiving threads test every packet against.</summary>
    public CaptureGate Gate => _gate;

    public Cidr? Local
    {
        get => _hasLocal ? _local : null;
        init => Set(value, ref _local, ref _hasLocal);
    }

    public Cidr? Remote
    {
        get => _hasRemote ? _remote : null;
        init => Set(value, ref _remote, ref _hasRemote);
    }

    public Cidr? Host
    {
        get => _hasHost ? _host : null;
        init => Set(value, ref _host, ref _hasHost);
    }

    public PortRange? LocalPort
    {
        get => _hasLocalPort ? _localPort : null;
        init => Set(value, ref _localPort, ref _hasLocalPort);
    }

    public PortRange? RemotePort
    {
        get => _hasRemotePort ? _remotePort : null;
        init => Set(value, ref _remotePort, ref _hasRemotePort);
    }

    public PortRange? Port
    {
        get => _hasPort ? _port : null;
        init => Set(value, ref _port, ref _hasPort);
    }

    public uint? Vni
    {
        get => _hasVni ? _vni : null;
        init => Set(value, ref _vni, ref _hasVni);
    }

    public Cidr? TunnelSource
    {
        get => _hasTunnel ? _tunnel : null;
        init => Set(value, ref _tunnel, ref _hasTunnel);
    }

    /// <summary>Whether <paramref name="packet"/> passes every term; <paramref name="locals"/> null means the tunnel-source rule.</summary>
    public bool Matches(in DecodedPacket packet, ILocalAddresses? locals) => _gate.Passes(packet) && MatchesRest(packet, locals);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private bool MatchesRest(in DecodedPacket packet, ILocalAddresses? locals)
    {
        if (_hasTunnel && (packet.Tunnel == TunnelKind.None || !_tunnel.Contains(packet.TunnelSource)))
        {
            return false;
        }

        if (_portTerm)
        {
            if (!CarriesPorts(packet) || (_hasPort && !_port.Contains(packet.SourcePort) && !_port.Contains(packet.DestinationPort)))
            {
                return false;
            }
        }

        if (!_sided)
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
        (!_hasLocal || _local.Contains(local))
        && (!_hasRemote || _remote.Contains(remote))
        && (!_hasLocalPort || _localPort.Contains(localPort))
        && (!_hasRemotePort || _remotePort.Contains(remotePort));

    private static bool CarriesPorts(in DecodedPacket packet) =>
        packet.FragmentOffset == 0 && packet.Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp;

    /// <summary>Stores a term and refreshes the summary flags (init accessors run once, when the filter is built).</summary>
    private void Set<T>(T? value, ref T field, ref bool has)
        where T : struct
    {
        has = value.HasValue;
        field = value.GetValueOrDefault();
        _sided = _hasLocal || _hasRemote || _hasLocalPort || _hasRemotePort;
        _portTerm = _hasPort || _hasLocalPort || _hasRemotePort;
        _gate = new CaptureGate(this);
    }

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
