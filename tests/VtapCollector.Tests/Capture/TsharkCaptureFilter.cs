using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace VtapCollector.Tests.Capture;

/// <summary>
/// The display-filter meaning of a capture filter over <see cref="CaptureCorpus"/> (VXLAN, the outer
/// and inner IP of one family): layer 1 is the outer header, layer 2 the inner one. It is written
/// here from the documented semantics, independently of the collector's parser and matcher: the
/// inner endpoint equal to the tunnel source is local; when neither or both are, either orientation
/// may satisfy the local/remote terms. Ports belong to TCP and UDP only.
/// </summary>
internal static class TsharkCaptureFilter
{
    public static string Translate(string filter)
    {
        var terms = filter.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => t.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        var parts = new List<string>();
        if (terms.TryGetValue("proto", out var proto))
        {
            var number = proto switch
            {
                "tcp" => 6,
                "udp" => 17,
                "icmp" => 1,
                "icmpv6" => 58,
                _ => int.Parse(proto, CultureInfo.InvariantCulture),
            };
            parts.Add($"(ip.proto#2 == {number} || ipv6.nxt#2 == {number})");
        }

        if (terms.TryGetValue("vni", out var vni))
        {
            parts.Add($"vxlan.vni == {vni}");
        }

        if (terms.TryGetValue("tunnel", out var tunnel))
        {
            parts.Add($"{Ip(tunnel)}.src#1 == {tunnel}");
        }

        if (terms.TryGetValue("host", out var host))
        {
            parts.Add($"({Address("src", host)} || {Address("dst", host)})");
        }

        if (terms.TryGetValue("port", out var port))
        {
            parts.Add($"({Port("src", port)} || {Port("dst", port)})");
        }

        if (terms.ContainsKey("local") || terms.ContainsKey("remote") || terms.ContainsKey("lport") || terms.ContainsKey("rport"))
        {
            const string sourceLocal = "(ip.src#2 == ip.src#1 || ipv6.src#2 == ipv6.src#1)";
            const string destinationLocal = "(ip.dst#2 == ip.src#1 || ipv6.dst#2 == ipv6.src#1)";
            var forward = Sided(terms, "src", "dst");
            var reverse = Sided(terms, "dst", "src");
            parts.Add($"(({sourceLocal} && !{destinationLocal} && {forward}) || ({destinationLocal} && !{sourceLocal} && {reverse})"
                + $" || ((({sourceLocal} && {destinationLocal}) || (!{sourceLocal} && !{destinationLocal})) && ({forward} || {reverse})))");
        }

        return parts.Count == 0 ? "frame" : string.Join(" && ", parts);
    }

    private static string Sided(Dictionary<string, string> terms, string local, string remote)
    {
        var parts = new List<string>();
        if (terms.TryGetValue("local", out var l))
        {
            parts.Add(Address(local, l));
        }

        if (terms.TryGetValue("remote", out var r))
        {
            parts.Add(Address(remote, r));
        }

        if (terms.TryGetValue("lport", out var lp))
        {
            parts.Add(Port(local, lp));
        }

        if (terms.TryGetValue("rport", out var rp))
        {
            parts.Add(Port(remote, rp));
        }

        return "(" + string.Join(" && ", parts) + ")";
    }

    private static string Address(string side, string cidr) => $"{Ip(cidr)}.{side}#2 == {cidr}";

    private static string Port(string side, string range)
    {
        var set = range.Replace("-", "..", StringComparison.Ordinal);
        return $"(tcp.{side}port in {{{set}}} || udp.{side}port#2 in {{{set}}})";
    }

    private static string Ip(string cidr) =>
        IPAddress.Parse(cidr.Split('/')[0]).AddressFamily == AddressFamily.InterNetworkV6 ? "ipv6" : "ip";
}
