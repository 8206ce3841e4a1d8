using System.Globalization;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>
/// Reads a capture filter in the compact syntax shared by the configuration, the HTTP API and the
/// command line: comma-separated <c>key=value</c> terms, each key at most once, empty for everything.
/// <code>proto=tcp,local=10.1.0.0/16,rport=443,vni=100</code>
/// Keys: <c>proto</c> (tcp, udp, icmp, icmpv6, sctp, any or 0..255), <c>local</c>, <c>remote</c>,
/// <c>host</c> (either side) and <c>tunnel</c> (an address or CIDR, IPv4 or IPv6), <c>lport</c>,
/// <c>rport</c> and <c>port</c> (either side; a port or <c>LOW-HIGH</c>), <c>vni</c> (0..16777215).
/// </summary>
internal static class CaptureFilterParser
{
    /// <summary>Largest VXLAN/Geneve segment id (24 bits, RFC 7348 section 5, RFC 8926 section 3.4).</summary>
    public const uint MaxVni = 0xFF_FFFF;

    /// <summary>The filter, or null and a sentence saying what is wrong.</summary>
    public static CaptureFilter? TryParse(string? text, out string? error)
    {
        var builder = new Builder();
        error = builder.AddTerms(text);
        return error is null ? builder.Build() : null;
    }

    /// <summary>A protocol's name where it has one the parser reads, else its number.</summary>
    public static string ProtocolName(int protocol) => protocol switch
    {
        IpProtocol.Tcp => "tcp",
        IpProtocol.Udp => "udp",
        IpProtocol.Icmp => "icmp",
        IpProtocol.Icmpv6 => "icmpv6",
        IpProtocol.Sctp => "sctp",
        _ => protocol.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Collects terms one by one (the JSON request sets them by name too) and refuses a key given twice.</summary>
    public sealed class Builder
    {
        private readonly HashSet<string> _seen = [];
        private int _protocol = CaptureFilter.AnyProtocol;
        private Cidr? _local, _remote, _host, _tunnel;
        private PortRange? _localPort, _remotePort, _port;
        private uint? _vni;

        /// <summary>Sets every term of a compact filter text; returns a sentence at the first bad one.</summary>
        public string? AddTerms(string? text)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                return null;
            }

            foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries))
            {
                var equals = raw.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    return $"The capture filter term '{raw}' is not key=value (keys: proto, local, remote, host, lport, rport, port, vni, tunnel).";
                }

                var error = Set(raw[..equals].Trim().ToLowerInvariant(), raw[(equals + 1)..].Trim());
                if (error is not null)
                {
                    return error;
                }
            }

            return null;
        }

        /// <summary>Sets one term; returns a sentence when the key is unknown, repeated or its value is wrong.</summary>
        public string? Set(string key, string value)
        {
            if (!_seen.Add(key))
            {
                return $"The capture filter gives '{key}' twice.";
            }

            switch (key)
            {
                case "proto" or "protocol":
                    return TryProtocol(value, out _protocol) ? null : $"The capture filter's protocol '{value}' is not tcp, udp, icmp, icmpv6, sctp, any or a number 0-255.";
                case "local":
                    return Address(key, value, out _local);
                case "remote":
                    return Address(key, value, out _remote);
                case "host":
                    return Address(key, value, out _host);
                case "tunnel" or "tunnel_source":
                    return Address(key, value, out _tunnel);
                case "lport" or "local_port":
                    return Ports(key, value, out _localPort);
                case "rport" or "remote_port":
                    return Ports(key, value, out _remotePort);
                case "port":
                    return Ports(key, value, out _port);
                case "vni":
                    if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var vni) || vni > MaxVni)
                    {
                        return $"The capture filter's vni '{value}' is not a number 0-{MaxVni}.";
                    }

                    _vni = vni;
                    return null;
                default:
                    return $"The capture filter key '{key}' is unknown (keys: proto, local, remote, host, lport, rport, port, vni, tunnel).";
            }
        }

        public CaptureFilter Build() => new()
        {
            Protocol = _protocol,
            Local = _local,
            Remote = _remote,
            Host = _host,
            TunnelSource = _tunnel,
            LocalPort = _localPort,
            RemotePort = _remotePort,
            Port = _port,
            Vni = _vni,
        };

        private static bool TryProtocol(string value, out int protocol)
        {
            protocol = value.ToLowerInvariant() switch
            {
                "any" or "*" => CaptureFilter.AnyProtocol,
                "tcp" => IpProtocol.Tcp,
                "udp" => IpProtocol.Udp,
                "icmp" => IpProtocol.Icmp,
                "icmpv6" => IpProtocol.Icmpv6,
                "sctp" => IpProtocol.Sctp,
                _ => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number <= 255 ? number : int.MinValue,
            };
            return protocol != int.MinValue;
        }

        private static string? Address(string key, string value, out Cidr? cidr)
        {
            cidr = null;
            if (!Cidr.TryParse(value, out var parsed))
            {
                return $"The capture filter's {key} '{value}' is not an IPv4 or IPv6 address or CIDR.";
            }

            cidr = parsed;
            return null;
        }

        private static string? Ports(string key, string value, out PortRange? range)
        {
            range = null;
            if (!PortRange.TryParse(value, out var parsed))
            {
                return $"The capture filter's {key} '{value}' is not a port or a range LOW-HIGH within 0-65535.";
            }

            range = parsed;
            return null;
        }
    }
}
