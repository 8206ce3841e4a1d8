using System.Globalization;
using System.Net;

namespace VtapCollector.Capture.Udp;

/// <summary>
/// The one parser of <c>ADDRESS:PORT</c> for the daemon's settings and the <c>send</c> command: an IPv4
/// address in exactly four decimal parts (<c>1.2.3:4789</c> is refused, not read as 1.2.0.3 the way
/// inet_aton would), or an IPv6 address in brackets, then a decimal port from 0 to 65535.
/// </summary>
public static class EndPointText
{
    /// <summary>Parses <paramref name="text"/>; false when it is not exactly one of the two forms.</summary>
    public static bool TryParse(string? text, out IPEndPoint? endPoint)
    {
        endPoint = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var trimmed = text.Trim();
        var colon = trimmed.LastIndexOf(':');
        if (colon <= 0 || !ushort.TryParse(trimmed.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            return false;
        }

        var host = trimmed.AsSpan(0, colon);
        IPAddress? address;
        if (host.Length > 2 && host[0] == '[' && host[^1] == ']')
        {
            if (!IPAddress.TryParse(host[1..^1], out address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return false;
            }
        }
        else if (!TryParseDottedQuad(host, out address))
        {
            return false;
        }

        endPoint = new IPEndPoint(address!, port);
        return true;
    }

    /// <summary>An IPv4 address written as four decimal numbers of at most three digits, each 0 to 255.</summary>
    public static bool TryParseDottedQuad(ReadOnlySpan<char> text, out IPAddress? address)
    {
        address = null;
        Span<byte> octets = stackalloc byte[4];
        var part = 0;
        foreach (var range in text.Split('.'))
        {
            var digits = text[range];
            if (part == 4 || digits.Length is 0 or > 3 || !byte.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out octets[part]))
            {
                return false;
            }

            part++;
        }

        if (part != 4)
        {
            return false;
        }

        address = new IPAddress(octets);
        return true;
    }
}
