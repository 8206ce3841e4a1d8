using System.Globalization;

namespace VtapCollector.Tests.CrossCheck;

/// <summary>Packets, IP bytes and the OR of TCP flags one endpoint sent.</summary>
internal sealed class DirectionTotals
{
    public long Packets { get; set; }

    public long Bytes { get; set; }

    public int TcpFlags { get; set; }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Packets} pkts/{Bytes} B");
}

/// <summary>One flow as tshark's reading of the capture shows it.</summary>
internal sealed class OracleFlow(FlowKey key, int ipVersion)
{
    public FlowKey Key { get; } = key;

    public int IpVersion { get; } = ipVersion;

    public Dictionary<Endpoint, DirectionTotals> Sent { get; } = [];

    /// <summary>Sender of the flow's first packet.</summary>
    public Endpoint FirstSender { get; set; }

    /// <summary>Sender of the first SYN without ACK, if there was one.</summary>
    public Endpoint? FirstSynSender { get; set; }

    public Endpoint Initiator => FirstSynSender ?? FirstSender;

    public Endpoint Responder => Initiator == Key.Low ? Key.High : Key.Low;

    public long FirstMicros { get; set; } = long.MaxValue;

    public long LastMicros { get; set; } = long.MinValue;

    /// <summary>Outer addresses and innermost VLAN of the flow's first packet.</summary>
    public string TunnelSrc { get; set; } = "";

    public string TunnelDst { get; set; } = "";

    public int Vlan { get; set; }

    /// <summary>Community IDs tshark computed for the flow's packets (one, unless tshark and the oracle disagree on the flow).</summary>
    public HashSet<string> CommunityIds { get; } = new(StringComparer.Ordinal);

    /// <summary>IPv4 fragments after the first (no transport header), attributed by the oracle to this flow.</summary>
    public int LaterFragments { get; set; }

    public long Packets => Sent.Values.Sum(totals => totals.Packets);

    public DirectionTotals SentBy(Endpoint endpoint) => Sent.TryGetValue(endpoint, out var totals) ? totals : new DirectionTotals();
}

/// <summary>
/// The independent oracle: tshark decodes every frame; this class picks the inner packet's fields and
/// aggregates bidirectional flows with plain code that shares nothing with the product.
/// </summary>
/// <remarks>
/// The capture nests IPv4 in IPv4, and ICMP errors quote yet another IP header with its UDP or TCP
/// header. tshark's <c>-E occurrence=l</c> (last) would give the quoted header's addresses for an ICMP
/// error, and the OUTER addresses for an IPv6 inner packet (the only <c>ip.src</c> is the outer one).
/// So the oracle asks for every occurrence (<c>-E occurrence=a</c>) and for <c>frame.protocols</c>, the
/// ordered list of layers: the inner IP layer is the first ip/ipv6 after "vxlan", its values are the
/// n-th occurrence where n is how many layers of that name precede it, and likewise for the transport
/// layer right after it, the innermost VLAN tag and the outer IP before "vxlan". IPv4 reassembly is
/// off, so every fragment is its own frame; later fragments carry no ports and are attributed to the
/// flow of the first fragment with the same VNI, addresses, protocol and IP id.
/// </remarks>
internal static class TsharkOracle
{
    public static readonly string[] Fields =
    [
        "frame.number", "frame.time_epoch", "frame.protocols", "vxlan.vni", "vlan.id",
        "ip.src", "ip.dst", "ip.len", "ip.proto", "ip.id", "ip.frag_offset", "ip.flags.mf",
        "ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.nxt",
        "tcp.srcport", "tcp.dstport", "tcp.flags", "udp.srcport", "udp.dstport",
        "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code", "communityid",
    ];

    public static IEnumerable<string> FieldArguments(string capture)
    {
        yield return "-n";
        yield return "-r";
        yield return capture;
        yield return "-o";
        yield return "ip.defragment:FALSE";
        yield return "-o";
        yield return "ipv6.defragment:FALSE";

        // Wireshark's own Community ID post-dissector (off by default): a third implementation to compare with.
        yield return "--enable-protocol";
        yield return "communityid";
        yield return "-T";
        yield return "fields";
        yield return "-E";
        yield return "header=n";
        yield return "-E";
        yield return "separator=/t";
        yield return "-E";
        yield return "occurrence=a";
        yield return "-E";
        yield return "aggregator=,";
        foreach (var field in Fields)
        {
            yield return "-e";
            yield return field;
        }
    }

    /// <summary>One inner packet, as the oracle reads it.</summary>
    internal sealed record Packet(long Frame, long Micros, long Vni, int IpVersion, FlowKey Key, Endpoint Sender,
        long IpBytes, int TcpFlags, string TunnelSrc, string TunnelDst, int Vlan, bool IsLaterFragment, string CommunityId);

    public static Dictionary<FlowKey, OracleFlow> Aggregate(IEnumerable<Packet> packets)
    {
        var flows = new Dictionary<FlowKey, OracleFlow>();
        foreach (var packet in packets)
        {
            if (!flows.TryGetValue(packet.Key, out var flow))
            {
                flow = new OracleFlow(packet.Key, packet.IpVersion)
                {
                    FirstSender = packet.Sender,
                    TunnelSrc = packet.TunnelSrc,
                    TunnelDst = packet.TunnelDst,
                    Vlan = packet.Vlan,
                };
                flows.Add(packet.Key, flow);
            }

            if (!flow.Sent.TryGetValue(packet.Sender, out var totals))
            {
                totals = new DirectionTotals();
                flow.Sent.Add(packet.Sender, totals);
            }

            totals.Packets++;
            totals.Bytes += packet.IpBytes;
            totals.TcpFlags |= packet.TcpFlags;
            if (packet.Key.Protocol == 6 && (packet.TcpFlags & 0x12) == 0x02 && flow.FirstSynSender is null)
            {
                flow.FirstSynSender = packet.Sender;
            }

            flow.FirstMicros = Math.Min(flow.FirstMicros, packet.Micros);
            flow.LastMicros = Math.Max(flow.LastMicros, packet.Micros);
            if (packet.IsLaterFragment)
            {
                // tshark hashes a later fragment without ports: not the flow's Community ID.
                flow.LaterFragments++;
            }
            else
            {
                flow.CommunityIds.Add(packet.CommunityId);
            }
        }

        return flows;
    }

    public static List<Packet> ParsePackets(string tsharkOutput)
    {
        var packets = new List<Packet>();
        var firstFragments = new Dictionary<(long Vni, string Src, string Dst, int Proto, string Id), (FlowKey Key, Endpoint Sender)>();
        foreach (var line in tsharkOutput.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            packets.Add(ParseLine(line.TrimEnd('\r'), firstFragments));
        }

        return packets;
    }

    private static Packet ParseLine(string line, Dictionary<(long, string, string, int, string), (FlowKey, Endpoint)> firstFragments)
    {
        var columns = line.Split('\t');
        if (columns.Length != Fields.Length)
        {
            throw new InvalidOperationException($"tshark printed {columns.Length} columns, not {Fields.Length}: '{line}'");
        }

        var values = new Dictionary<string, string[]>();
        for (var i = 0; i < Fields.Length; i++)
        {
            values[Fields[i]] = columns[i].Length == 0 ? [] : columns[i].Split(',');
        }

        var frame = long.Parse(values["frame.number"][0], CultureInfo.InvariantCulture);
        var layers = values["frame.protocols"].Length == 1 ? values["frame.protocols"][0].Split(':') : [];
        string Value(string field, int occurrence)
        {
            var all = values[field];
            if (occurrence >= all.Length)
            {
                throw new InvalidOperationException(
                    $"frame {frame}: tshark gave {all.Length} value(s) of {field}, the oracle wants occurrence {occurrence} (layers {string.Join(':', layers)})");
            }

            return all[occurrence];
        }

        int Occurrence(string layer, int before) => layers.Take(before).Count(name => name == layer);
        int Int(string field, int occurrence) => ParseNumber(Value(field, occurrence));

        var vxlan = Array.IndexOf(layers, "vxlan");
        if (vxlan < 0)
        {
            throw new InvalidOperationException($"frame {frame}: no VXLAN layer ({string.Join(':', layers)}); the generator only writes VXLAN frames");
        }

        var vni = long.Parse(Value("vxlan.vni", 0), CultureInfo.InvariantCulture);
        var outer = Array.FindLastIndex(layers, vxlan, layer => layer is "ip" or "ipv6");
        var outerField = layers[outer] == "ip" ? "ip" : "ipv6";
        var tunnelSrc = Endpoint.Of(Value(outerField + ".src", Occurrence(layers[outer], outer)), 0).Ip;
        var tunnelDst = Endpoint.Of(Value(outerField + ".dst", Occurrence(layers[outer], outer)), 0).Ip;

        var inner = Array.FindIndex(layers, vxlan + 1, layer => layer is "ip" or "ipv6");
        if (inner < 0)
        {
            throw new InvalidOperationException($"frame {frame}: no IP layer inside VXLAN ({string.Join(':', layers)})");
        }

        var vlanLayer = Array.FindLastIndex(layers, inner, inner - vxlan, layer => layer == "vlan");
        var vlan = vlanLayer < 0 ? 0 : Int("vlan.id", Occurrence("vlan", vlanLayer));

        var micros = ParseEpochMicros(Value("frame.time_epoch", 0), frame);
        var isV4 = layers[inner] == "ip";
        var n = Occurrence(layers[inner], inner);
        string src, dst;
        long ipBytes;
        int protocol;
        var laterFragment = false;
        string ipId = "";
        var moreFragments = false;
        if (isV4)
        {
            src = Value("ip.src", n);
            dst = Value("ip.dst", n);
            ipBytes = Int("ip.len", n);
            protocol = Int("ip.proto", n);
            ipId = Value("ip.id", n);
            laterFragment = Int("ip.frag_offset", n) > 0;
            moreFragments = Value("ip.flags.mf", n) is "1" or "True";
        }
        else
        {
            src = Value("ipv6.src", n);
            dst = Value("ipv6.dst", n);
            ipBytes = 40 + Int("ipv6.plen", n);
            protocol = Int("ipv6.nxt", n);
        }

        if (laterFragment)
        {
            if (!firstFragments.TryGetValue((vni, src, dst, protocol, ipId), out var first))
            {
                throw new InvalidOperationException($"frame {frame}: a later IPv4 fragment (id {ipId}) before its first fragment; the generator sends fragments in order");
            }

            return new Packet(frame, micros, vni, 4, first.Item1, first.Item2, ipBytes, 0, tunnelSrc, tunnelDst, vlan, IsLaterFragment: true, CommunityId: "");
        }

        var transport = inner + 1 < layers.Length ? layers[inner + 1] : "";
        var t = inner + 1 < layers.Length ? Occurrence(transport, inner + 1) : -1;
        int senderPort, receiverPort, tcpFlags = 0;
        switch (protocol)
        {
            case 6:
                Expect(transport, "tcp", frame, layers);
                senderPort = Int("tcp.srcport", t);
                receiverPort = Int("tcp.dstport", t);
                tcpFlags = Int("tcp.flags", t) & 0xFF;
                break;
            case 17:
                Expect(transport, "udp", frame, layers);
                senderPort = Int("udp.srcport", t);
                receiverPort = Int("udp.dstport", t);
                break;
            case 1:
                Expect(transport, "icmp", frame, layers);
                (senderPort, receiverPort) = IcmpPorts.Of(1, Int("icmp.type", t), Int("icmp.code", t));
                break;
            case 58:
                Expect(transport, "icmpv6", frame, layers);
                (senderPort, receiverPort) = IcmpPorts.Of(58, Int("icmpv6.type", t), Int("icmpv6.code", t));
                break;
            default:
                senderPort = receiverPort = 0;
                break;
        }

        var sender = Endpoint.Of(src, senderPort);
        var key = FlowKey.Of(vni, protocol, sender, Endpoint.Of(dst, receiverPort));
        if (isV4 && moreFragments)
        {
            firstFragments[(vni, src, dst, protocol, ipId)] = (key, sender);
        }

        var communityId = values["communityid"].Length == 1 ? values["communityid"][0] : $"(tshark gave {values["communityid"].Length} values)";
        return new Packet(frame, micros, vni, isV4 ? 4 : 6, key, sender, ipBytes, tcpFlags, tunnelSrc, tunnelDst, vlan, IsLaterFragment: false, communityId);
    }

    private static void Expect(string transport, string expected, long frame, string[] layers)
    {
        if (transport != expected)
        {
            throw new InvalidOperationException($"frame {frame}: the layer after the inner IP is '{transport}', not '{expected}' ({string.Join(':', layers)})");
        }
    }

    /// <summary>tshark prints numbers in decimal, hex fields (ip.id, tcp.flags) as 0x...</summary>
    private static int ParseNumber(string text) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.Parse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : int.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>"1767225600.039470000" to microseconds since the epoch (the capture has microsecond resolution).</summary>
    public static long ParseEpochMicros(string text, long frame)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var seconds = long.Parse(dot < 0 ? text : text[..dot], CultureInfo.InvariantCulture);
        var fraction = dot < 0 ? "" : text[(dot + 1)..];
        fraction = fraction.PadRight(9, '0');
        if (fraction.Length > 9 || fraction[6..] != "000")
        {
            throw new InvalidOperationException($"frame {frame}: time {text} is not a whole microsecond");
        }

        return seconds * 1_000_000 + long.Parse(fraction[..6], CultureInfo.InvariantCulture);
    }
}

/// <summary>tshark's own conversation tables (<c>-z conv,tcp -z conv,udp</c>): a second, coarser oracle.</summary>
internal static class TsharkConversations
{
    /// <summary>One row: A, B, frames A to B ("->"), frames B to A ("&lt;-").</summary>
    internal sealed record Row(int Protocol, Endpoint A, Endpoint B, long FramesAToB, long FramesBToA);

    public static IEnumerable<string> Arguments(string capture) =>
        ["-n", "-r", capture, "-q", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-z", "conv,tcp", "-z", "conv,udp"];

    public static List<Row> Parse(string output)
    {
        var rows = new List<Row>();
        var protocol = 0;
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("TCP Conversations", StringComparison.Ordinal))
            {
                protocol = 6;
                continue;
            }

            if (line.StartsWith("UDP Conversations", StringComparison.Ordinal))
            {
                protocol = 17;
                continue;
            }

            if (!line.Contains(" <-> ", StringComparison.Ordinal))
            {
                continue;
            }

            // a:port <-> b:port  framesBA bytes unit  framesAB bytes unit  framesTotal bytes unit  start duration
            var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (protocol == 0 || tokens.Length != 14 || tokens[1] != "<->")
            {
                throw new InvalidOperationException($"unexpected conversation table line: '{line}'");
            }

            var framesBToA = long.Parse(tokens[3], CultureInfo.InvariantCulture);
            var framesAToB = long.Parse(tokens[6], CultureInfo.InvariantCulture);
            var total = long.Parse(tokens[9], CultureInfo.InvariantCulture);
            if (framesAToB + framesBToA != total)
            {
                throw new InvalidOperationException($"conversation table line whose frames do not add up: '{line}'");
            }

            rows.Add(new Row(protocol, ParseEndpoint(tokens[0]), ParseEndpoint(tokens[2]), framesAToB, framesBToA));
        }

        return rows;
    }

    private static Endpoint ParseEndpoint(string text)
    {
        var colon = text.LastIndexOf(':');
        return Endpoint.Of(text[..colon], int.Parse(text.AsSpan(colon + 1), CultureInfo.InvariantCulture));
    }
}
