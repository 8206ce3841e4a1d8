using System.Globalization;
using System.Net;
using VtapCollector.Capture.Udp;

namespace VtapCollector.Export.Ipfix;

/// <summary>The transport protocol of a collector.</summary>
public enum IpfixTransportKind
{
    /// <summary>UDP (RFC 7011 section 10.3): templates resent periodically.</summary>
    Udp,

    /// <summary>TCP (RFC 7011 section 10.4): templates once per connection.</summary>
    Tcp,
}

/// <summary>
/// One collector, written <c>udp://HOST:PORT</c> or <c>tcp://HOST:PORT</c>, HOST being an IPv4
/// address in four decimal parts, an IPv6 address in brackets, or a host name (resolved when the
/// sink connects). Parsed strictly: anything else is refused with the reason.
/// </summary>
public sealed record IpfixCollectorAddress(IpfixTransportKind Transport, string Host, IPAddress? Address, int Port)
{
    /// <summary>The address as configured, normalised: the <c>collector</c> metric label.</summary>
    public override string ToString() =>
        $"{(Transport == IpfixTransportKind.Udp ? "udp" : "tcp")}://{(Address is { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says why and the result is null.</summary>
    public static IpfixCollectorAddress? TryParse(string? text, out string? error)
    {
        error = null;
        var value = text?.Trim() ?? "";
        IpfixTransportKind transport;
        if (value.StartsWith("udp://", StringComparison.Ordinal))
        {
            transport = IpfixTransportKind.Udp;
        }
        else if (value.StartsWith("tcp://", StringComparison.Ordinal))
        {
            transport = IpfixTransportKind.Tcp;
        }
        else
        {
            error = $"'{text}' is not udp://HOST:PORT or tcp://HOST:PORT";
            return null;
        }

        var endPointText = value["udp://".Length..];
        if (EndPointText.TryParse(endPointText, out var endPoint))
        {
            if (endPoint!.Port == 0)
            {
                error = $"'{text}' has port 0";
                return null;
            }

            return new(transport, endPoint.Address.ToString(), endPoint.Address, endPoint.Port);
        }

        var colon = endPointText.LastIndexOf(':');
        if (colon <= 0
            || !ushort.TryParse(endPointText.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port == 0)
        {
            error = $"'{text}' has no port from 1 to 65535 after the host";
            return null;
        }

        var host = endPointText[..colon];

        // Something made of digits and dots that is not a four-part address (1.2.3) is a typo, not a name.
        if (Uri.CheckHostName(host) != UriHostNameType.Dns || host.AsSpan().TrimStart("0123456789.").IsEmpty)
        {
            error = $"'{text}' has a host that is neither an IPv4 address in four parts, an IPv6 address in brackets nor a host name";
            return null;
        }

        return new(transport, host, null, port);
    }
}
