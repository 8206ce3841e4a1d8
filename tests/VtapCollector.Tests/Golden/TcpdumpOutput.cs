using System.Globalization;
using System.Text.RegularExpressions;

namespace VtapCollector.Tests.Golden;

/// <summary>
/// What tcpdump printed about one packet, reduced to the innermost packet's flow facts. Null means
/// tcpdump did not print that fact (for example no ports for ICMP, no IP length without -v).
/// </summary>
internal sealed record TcpdumpPacket(
    int Number,
    string Text,
    string? OuterSource,
    string? OuterDestination,
    string? Source,
    string? Destination,
    int? SourcePort,
    int? DestinationPort,
    uint? Vni,
    int? Protocol,
    uint? IpLength,
    bool LengthPresumed,
    bool IsArp,
    bool IsGre,
    int? IcmpType,
    byte? TcpFlags,
    TcpdumpErspan? Erspan);

/// <summary>
/// What tcpdump printed about an ERSPAN header: its type (1, 2 or 3), session ID (null for type I,
/// which has none) and VLAN (<c>vlan N</c>, or <c>isl N</c> for an ISL-encapsulated original; null when not printed).
/// </summary>
internal sealed record TcpdumpErspan(int Type, uint? Session, int? Vlan);

/// <summary>
/// Parses tcpdump's text decode (the <c>.out</c> files of tcpdump's test suite) into one
/// <see cref="TcpdumpPacket"/> per packet. Straightforward regexes, each documented below; tcpdump
/// prints outer headers before inner ones, so the innermost fact is the LAST match in a packet.
/// </summary>
internal static partial class TcpdumpOutput
{
    /// <summary>
    /// A packet starts with its number and a timestamp (tcpdump -# -tttt style, as in the test suite):
    /// <c>"    1  2013-05-18 20:21:44.837063 ..."</c>. Every following line until the next such line
    /// belongs to the same packet (inner headers, -v continuation lines).
    /// </summary>
    [GeneratedRegex(@"^\s*(?<n>\d+)  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ ")]
    private static partial Regex PacketStart();

    /// <summary>
    /// An endpoint pair <c>"SRC > DST:"</c> followed by white space. Each side is an IPv4 address
    /// with an optional ".port" (<c>192.168.203.1.45149</c>), an IPv6 address with an optional
    /// ".port" (<c>fd00::2.34235</c>), or a bare port after an IPv6 extension-header printout
    /// (<c>"41851 > 43913:"</c>). Requiring white space after the colon keeps MAC address pairs
    /// (<c>"36:dc:...:40 > 00:16:...:cf, ethertype"</c>) from matching.
    /// </summary>
    [GeneratedRegex(@"(?<![\w:.])(?<src>[0-9a-f:.]+) > (?<dst>[0-9a-f:.]+):(?=\s|$)")]
    private static partial Regex EndpointPair();

    /// <summary>VXLAN prints <c>"vni 100"</c> (decimal), Geneve <c>"vni 0xa"</c> (hex).</summary>
    [GeneratedRegex(@"\bvni (?<vni>0x[0-9a-f]+|\d+)")]
    private static partial Regex Vni();

    /// <summary>
    /// The IP length tcpdump printed, in any of its forms; the last match is the innermost header:
    /// <list type="bullet">
    /// <item>-v IPv4: <c>"proto TCP (6), length 7042)"</c>, also <c>"length 80052 [was 0, presumed BIG TCP])"</c>;</item>
    /// <item>-v IPv6: <c>"payload length 4166)"</c> (IP bytes = 40 + it), or
    /// <c>"payload length 0) [real length 80072, presumed BIG TCP]"</c> (IP bytes = real length);</item>
    /// <item>IPv6 jumbogram: <c>"HBH (jumbo: 80040)"</c> (IP bytes = 40 + jumbo length);</item>
    /// <item>-e without -v: <c>"ethertype IPv4 (0x0800), length 98:"</c>, the frame length (IP bytes = it - 14).</item>
    /// </list>
    /// </summary>
    [GeneratedRegex(@"proto \S+ \(\d+\), length (?<v4>\d+)(?<was0> \[was 0)?" +
        @"|payload length (?<v6>\d+)\)(?: \[real length (?<real>\d+), presumed BIG TCP\])?" +
        @"|HBH \(jumbo: (?<jumbo>\d+)\)" +
        @"|ethertype IPv(?:4|6) \(0x[0-9a-f]{4}\), length (?<frame>\d+):")]
    private static partial Regex IpLength();

    /// <summary>-v protocol numbers: <c>"proto UDP (17)"</c> (IPv4), <c>"next-header TCP (6)"</c> (IPv6).</summary>
    [GeneratedRegex(@"(?:proto|next-header) \S+ \((?<p>\d+)\)")]
    private static partial Regex ProtocolNumber();

    /// <summary>TCP: the printout after the endpoint pair starts with <c>"Flags [S.]"</c>.</summary>
    [GeneratedRegex(@"^\s*Flags \[(?<f>[^\]]*)\]")]
    private static partial Regex TcpFlagsAfterEndpoints();

    /// <summary>ICMP: <c>"ICMP echo request"</c>; ICMPv6: <c>"ICMP6, echo request"</c>.</summary>
    [GeneratedRegex(@"^\s*ICMP(?<six>6)?,? (?<what>echo request|echo reply)")]
    private static partial Regex IcmpAfterEndpoints();

    /// <summary>ARP as the innermost payload: <c>"ethertype ARP (0x0806)"</c> or <c>"ARP, Request"</c>.</summary>
    [GeneratedRegex(@"ethertype ARP \(0x0806\)|\bARP, ")]
    private static partial Regex Arp();

    /// <summary>A GRE header: <c>"GREv0, Flags [...]"</c> or <c>"GREv1"</c>.</summary>
    [GeneratedRegex(@"\bGREv\d")]
    private static partial Regex Gre();

    /// <summary>
    /// ERSPAN (print-erspan.c): <c>"erspan type1: "</c>, <c>"erspan type2 session 666 vlan 1 cos 6 index 32760: "</c>,
    /// <c>"erspan type2 session 1 isl 101 cos 0 ..."</c>, <c>"erspan type3 session 0 bso Good/unknown cos 0 ft Ethernet: "</c>.
    /// </summary>
    [GeneratedRegex(@"\berspan type(?<type>[123])(?: session (?<session>\d+))?(?: (?:vlan|isl) (?<vlan>\d+))?")]
    private static partial Regex Erspan();

    public static IReadOnlyList<TcpdumpPacket> ParseFile(string path) => Parse(File.ReadAllLines(path));

    public static IReadOnlyList<TcpdumpPacket> Parse(IEnumerable<string> lines)
    {
        var packets = new List<TcpdumpPacket>();
        var number = -1;
        var text = new System.Text.StringBuilder();
        foreach (var line in lines)
        {
            var start = PacketStart().Match(line);
            if (start.Success)
            {
                if (number >= 0)
                {
                    packets.Add(ParsePacket(number, text.ToString()));
                }

                number = int.Parse(start.Groups["n"].Value, CultureInfo.InvariantCulture);
                text.Clear();
            }

            text.Append(line).Append('\n');
        }

        if (number >= 0)
        {
            packets.Add(ParsePacket(number, text.ToString()));
        }

        return packets;
    }

    /// <summary>Reduces one packet's text to its innermost facts.</summary>
    public static TcpdumpPacket ParsePacket(int number, string text)
    {
        string? outerSource = null, outerDestination = null;
        string? source = null, destination = null;
        int? sourcePort = null, destinationPort = null;
        var tail = text;
        foreach (Match pair in EndpointPair().Matches(text))
        {
            var (srcAddress, srcPort) = SplitEndpoint(pair.Groups["src"].Value);
            var (dstAddress, dstPort) = SplitEndpoint(pair.Groups["dst"].Value);
            if (srcAddress is not null && outerSource is null)
            {
                // The first IP header printed: the tunnel's (or GRE's) outer endpoints.
                outerSource = srcAddress;
                outerDestination = dstAddress;
            }

            if (srcAddress is not null)
            {
                // A new IP header: its ports (if any) replace the outer ones.
                source = srcAddress;
                destination = dstAddress;
            }

            sourcePort = srcPort;
            destinationPort = dstPort;
            tail = text[(pair.Index + pair.Length)..];
        }

        uint? vni = null;
        var vniMatches = Vni().Matches(text);
        if (vniMatches.Count > 0)
        {
            var value = vniMatches[^1].Groups["vni"].Value;
            vni = value.StartsWith("0x", StringComparison.Ordinal)
                ? uint.Parse(value.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                : uint.Parse(value, CultureInfo.InvariantCulture);
        }

        uint? ipLength = null;
        var presumed = false;
        var lengths = IpLength().Matches(text);
        if (lengths.Count > 0)
        {
            var last = lengths[^1];
            if (last.Groups["v4"].Success)
            {
                ipLength = uint.Parse(last.Groups["v4"].Value, CultureInfo.InvariantCulture);
                presumed = last.Groups["was0"].Success;
            }
            else if (last.Groups["real"].Success)
            {
                ipLength = uint.Parse(last.Groups["real"].Value, CultureInfo.InvariantCulture);
                presumed = true;
            }
            else if (last.Groups["v6"].Success)
            {
                ipLength = 40 + uint.Parse(last.Groups["v6"].Value, CultureInfo.InvariantCulture);
            }
            else if (last.Groups["jumbo"].Success)
            {
                ipLength = 40 + uint.Parse(last.Groups["jumbo"].Value, CultureInfo.InvariantCulture);
            }
            else
            {
                ipLength = uint.Parse(last.Groups["frame"].Value, CultureInfo.InvariantCulture) - 14;
            }
        }

        int? protocol = null;
        byte? tcpFlags = null;
        int? icmpType = null;
        var flags = TcpFlagsAfterEndpoints().Match(tail);
        var icmp = IcmpAfterEndpoints().Match(tail);
        if (flags.Success)
        {
            protocol = 6;
            tcpFlags = ParseTcpFlags(flags.Groups["f"].Value);
        }
        else if (icmp.Success)
        {
            var six = icmp.Groups["six"].Success;
            protocol = six ? 58 : 1;
            icmpType = (six, icmp.Groups["what"].Value) switch
            {
                (false, "echo request") => 8,
                (false, _) => 0,
                (true, "echo request") => 128,
                (true, _) => 129,
            };
        }
        else if (tail.TrimStart().StartsWith("UDP", StringComparison.Ordinal))
        {
            protocol = 17;
        }
        else
        {
            var numbers = ProtocolNumber().Matches(text);
            if (numbers.Count > 0)
            {
                protocol = int.Parse(numbers[^1].Groups["p"].Value, CultureInfo.InvariantCulture);
            }
        }

        // ARP counts only when it is the innermost payload: after the last tunnel header, if any.
        var lastVni = vniMatches.Count > 0 ? vniMatches[^1].Index : 0;
        var isArp = Arp().IsMatch(text[lastVni..]);

        TcpdumpErspan? erspan = null;
        var erspanMatch = Erspan().Match(text);
        if (erspanMatch.Success)
        {
            erspan = new TcpdumpErspan(
                int.Parse(erspanMatch.Groups["type"].Value, CultureInfo.InvariantCulture),
                erspanMatch.Groups["session"].Success ? uint.Parse(erspanMatch.Groups["session"].Value, CultureInfo.InvariantCulture) : null,
                erspanMatch.Groups["vlan"].Success ? int.Parse(erspanMatch.Groups["vlan"].Value, CultureInfo.InvariantCulture) : null);
        }

        return new TcpdumpPacket(number, text, outerSource, outerDestination, source, destination, sourcePort, destinationPort, vni, protocol,
            ipLength, presumed, isArp, Gre().IsMatch(text), icmpType, tcpFlags, erspan);
    }

    /// <summary>
    /// Splits one side of an endpoint pair. IPv4: 3 dots = address, 4 dots = address.port.
    /// IPv6 (has a colon): a trailing ".digits" is the port. All digits: a bare port.
    /// </summary>
    public static (string? Address, int? Port) SplitEndpoint(string token)
    {
        if (token.All(char.IsAsciiDigit))
        {
            return (null, int.Parse(token, CultureInfo.InvariantCulture));
        }

        var lastDot = token.LastIndexOf('.');
        if (token.Contains(':', StringComparison.Ordinal))
        {
            return lastDot < 0
                ? (token, null)
                : (token[..lastDot], int.Parse(token.AsSpan(lastDot + 1), CultureInfo.InvariantCulture));
        }

        return token.Count(c => c == '.') == 4
            ? (token[..lastDot], int.Parse(token.AsSpan(lastDot + 1), CultureInfo.InvariantCulture))
            : (token, null);
    }

    /// <summary>tcpdump's flag letters: S SYN, F FIN, R RST, P PSH, . ACK, U URG, E ECE, W CWR; "none" for 0.</summary>
    public static byte ParseTcpFlags(string letters)
    {
        if (letters == "none")
        {
            return 0;
        }

        byte flags = 0;
        foreach (var c in letters)
        {
            flags |= c switch
            {
                'F' => 0x01,
                'S' => 0x02,
                'R' => 0x04,
                'P' => 0x08,
                '.' => 0x10,
                'U' => 0x20,
                'E' => 0x40,
                'W' => 0x80,
                _ => throw new FormatException($"unknown tcpdump TCP flag '{c}' in [{letters}]"),
            };
        }

        return flags;
    }
}
