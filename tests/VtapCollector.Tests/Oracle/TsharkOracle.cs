using System.Globalization;
using System.Net;

namespace VtapCollector.Tests.Oracle;

/// <summary>One side of a flow: an IP address (canonical text) and a port (or ICMP type/code, see <see cref="TsharkOracle"/>).</summary>
internal readonly record struct Endpoint(string Address, int Port) : IComparable<Endpoint>
{
    /// <summary>Canonical text of an address, so tshark's and the collector's spellings compare equal.</summary>
    public static string Canonical(string address) => IPAddress.Parse(address).ToString();

    public int CompareTo(Endpoint other)
    {
        var byAddress = string.CompareOrdinal(Address, other.Address);
        return byAddress != 0 ? byAddress : Port.CompareTo(other.Port);
    }

    public override string ToString() => Address.Contains(':', StringComparison.Ordinal) ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}

/// <summary>
/// A flow's identity as the documentation defines it: the VNI, the IP protocol and the unordered
/// pair of endpoints (so both directions of a conversation share one key).
/// </summary>
internal sealed record FlowKey(uint Vni, int Protocol, Endpoint Low, Endpoint High)
{
    public static FlowKey Create(uint vni, int protocol, Endpoint a, Endpoint b) =>
        a.CompareTo(b) <= 0 ? new FlowKey(vni, protocol, a, b) : new FlowKey(vni, protocol, b, a);

    /// <summary>The same conversation whatever the VNI (tshark's conversation tables know no VNI).</summary>
    public (int Protocol, Endpoint Low, Endpoint High) Tuple => (Protocol, Low, High);

    public override string ToString() => $"vni {Vni} {ProtocolName(Protocol)} {Low} <-> {High}";

    private static string ProtocolName(int protocol) => protocol switch
    {
        1 => "ICMP",
        6 => "TCP",
        17 => "UDP",
        58 => "ICMPv6",
        _ => $"proto {protocol}",
    };
}

/// <summary>
/// What tshark says about the inner IP packet of one frame. <see cref="CommunityId"/> is what
/// Wireshark's communityid post-dissector computed for the frame (null: none).
/// </summary>
internal sealed record InnerPacket(
    int Frame,
    long TimeMicros,
    string Tunnel,
    string? TunnelSource,
    string? TunnelDestination,
    uint Vni,
    int Vlan,
    int IpVersion,
    int Protocol,
    Endpoint Source,
    Endpoint Destination,
    long IpBytes,
    int? TcpFlags,
    bool LaterFragment,
    string? CommunityId)
{
    public FlowKey Key => FlowKey.Create(Vni, Protocol, Source, Destination);
}

/// <summary>The packets of one flow in capture order, with per-direction totals.</summary>
internal sealed class OracleFlow(FlowKey key)
{
    public FlowKey Key { get; } = key;

    public List<InnerPacket> Packets { get; } = [];

    public InnerPacket First => Packets[0];

    public InnerPacket Last => Packets[^1];

    /// <summary>The first SYN without ACK, if the flow has one.</summary>
    public InnerPacket? FirstSyn => Packets.FirstOrDefault(packet => packet.TcpFlags is { } flags && (flags & 0x12) == 0x02);

    /// <summary>The documented initiator: the sender of the first SYN without ACK, else of the first packet.</summary>
    public Endpoint Initiator => (FirstSyn ?? First).Source;

    public Endpoint Responder => (FirstSyn ?? First).Destination;

    /// <summary>The latest packet time (a real mirror can deliver a packet stamped before the one ahead of it).</summary>
    public long LastTimeMicros => Packets.Max(packet => packet.TimeMicros);

    /// <summary>IPv4 fragments after the first (no transport header), attributed to this flow.</summary>
    public int LaterFragments => Packets.Count(packet => packet.LaterFragment);

    /// <summary>The OR of the TCP flags sent from one endpoint to the other (0 for other protocols).</summary>
    public int TcpFlagsSent(Endpoint from, Endpoint to) =>
        Packets.Where(packet => packet.Source == from && packet.Destination == to).Aggregate(0, (flags, packet) => flags | (packet.TcpFlags ?? 0)) & 0xFF;

    /// <summary>Packets and IP bytes sent from one endpoint to the other.</summary>
    public (long Packets, long Bytes) Sent(Endpoint from, Endpoint to)
    {
        long packets = 0, bytes = 0;
        foreach (var packet in Packets)
        {
            if (packet.Source == from && packet.Destination == to)
            {
                packets++;
                bytes += packet.IpBytes;
            }
        }

        return (packets, bytes);
    }

    public string Describe()
    {
        var (lowPackets, lowBytes) = Sent(Key.Low, Key.High);
        var (highPackets, highBytes) = Sent(Key.High, Key.Low);
        return $"{Key.Low} -> {Key.High}: {lowPackets} pkts {lowBytes} B; {Key.High} -> {Key.Low}: {highPackets} pkts {highBytes} B (frames {First.Frame}..{Last.Frame})";
    }
}

/// <summary>
/// The independent oracle: tshark's per-frame dissection, reduced to one inner IP packet per frame
/// and aggregated into flows exactly as docs/schema.md defines them. Nothing here uses the
/// collector's code; the only shared knowledge is the documented flow definition.
/// </summary>
/// <remarks>
/// <para>
/// tshark is run with <c>-T fields -E occurrence=a -E aggregator=,</c>: a field that occurs more
/// than once in a frame is printed as all its occurrences, comma-separated, in dissection order
/// (outer headers first). A VXLAN frame has two <c>ip.src</c> values (outer, inner); an ICMP
/// error inside it has three, because tshark also dissects the IP header QUOTED inside the ICMP
/// message. So the value we want is chosen by position, using <c>frame.protocols</c>, the
/// colon-separated list of every protocol layer in dissection order, for example
/// <c>eth:ethertype:ip:udp:vxlan:eth:ethertype:vlan:ethertype:ip:icmp:ip:udp:data</c>:
/// </para>
/// <list type="number">
/// <item>The innermost tunnel is the LAST <c>vxlan</c>, <c>geneve</c> or <c>erspan</c> token, or <c>gre</c>
/// token followed by <c>eth</c> (Ethernet bridged over GRE; other GRE is no tunnel to the collector) (none: plain traffic, VNI 0).
/// Its segment id is <c>vxlan.vni</c>, <c>geneve.vni</c>, <c>erspan.spanid</c> or <c>gre.key</c> (0 without a key).</item>
/// <item>The inner IP layer is the FIRST <c>ip</c> or <c>ipv6</c> token after it. Later IP tokens
/// are quoted headers inside ICMP errors and must not be used. No such token: the frame carries no
/// inner IP packet (ARP, for example) and makes no flow.</item>
/// <item>The occurrence of an <c>ip.*</c> field that belongs to that layer is the number of
/// <c>ip</c> tokens before it (0-based): the outer IPv4 header is occurrence 0, the inner one 1.
/// The same rule picks <c>ipv6.*</c>, <c>vxlan.vni</c>, <c>geneve.vni</c>, <c>vlan.id</c>,
/// <c>tcp.*</c>, <c>udp.*</c>, <c>icmp.*</c> and <c>icmpv6.*</c> occurrences from their own tokens.
/// Every header layer before the chosen one is a complete outer header, which always carries
/// these fields, so the counts line up.</item>
/// <item>The transport is the token right after the inner IP token, skipping IPv6 extension
/// headers (<c>ipv6.hopopts</c>, <c>ipv6.routing</c>, <c>ipv6.dstopts</c>, ...).</item>
/// <item>IPv4 fragments (tshark runs with <c>-o ip.defragment:FALSE</c> so it shows each fragment
/// as it is): the first fragment (offset 0) is dissected with its transport header, so it has
/// ports; a later fragment (offset &gt; 0) shows as <c>data</c> without ports. It belongs to the
/// flow of the first fragment with the same (VNI, source, destination, protocol, IP id) seen
/// before it; a later fragment with no such first fragment is left out (the collector counts it
/// as <c>fragment_without_first</c>) and listed in <see cref="UnattributedFragments"/>.</item>
/// </list>
/// <para>
/// Ports: TCP and UDP ports as they are. ICMP and ICMPv6, as the schema documents (and Zeek and
/// Community ID do): source port = type; destination port = the counterpart type for the
/// request/reply types (ICMP 8/0, 13/14, 15/16, 10/9, 17/18; ICMPv6 128/129, 130/131, 133/134,
/// 135/136, 139/140, 144/145), otherwise the code. An echo request A-&gt;B is then (A, 8)-&gt;(B, 0)
/// and its reply (B, 0)-&gt;(A, 8): the same unordered endpoint pair, one flow. Other protocols
/// have port 0.
/// </para>
/// <para>
/// IP bytes: IPv4 total length (<c>ip.len</c>); IPv6 40 + payload length (<c>ipv6.plen</c>). IPv6
/// jumbograms (payload length 0) and IPv6 fragments are not generated and are rejected here rather
/// than guessed.
/// </para>
/// </remarks>
internal sealed class TsharkOracle
{
    /// <summary>The tshark fields read, in column order.</summary>
    public static readonly string[] Fields =
    [
        "frame.number", "frame.time_epoch", "frame.protocols", "vxlan.vni", "geneve.vni", "erspan.spanid", "erspan.vlan", "gre.key", "vlan.id",
        "ip.src", "ip.dst", "ip.len", "ip.proto", "ip.flags.mf", "ip.frag_offset", "ip.id",
        "ipv6.src", "ipv6.dst", "ipv6.plen",
        "tcp.srcport", "tcp.dstport", "tcp.flags", "udp.srcport", "udp.dstport",
        "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code", "communityid",
    ];

    private static readonly Dictionary<int, int> IcmpCounterpart = Pairs((8, 0), (13, 14), (15, 16), (10, 9), (17, 18));
    private static readonly Dictionary<int, int> Icmpv6Counterpart = Pairs((128, 129), (130, 131), (133, 134), (135, 136), (139, 140), (144, 145));

    private TsharkOracle(int frames, int framesWithInnerIp, List<InnerPacket> packets, List<int> unattributed)
    {
        Frames = frames;
        FramesWithInnerIp = framesWithInnerIp;
        Packets = packets;
        UnattributedFragments = unattributed;
        var flows = new Dictionary<FlowKey, OracleFlow>();
        foreach (var packet in packets)
        {
            if (!flows.TryGetValue(packet.Key, out var flow))
            {
                flows[packet.Key] = flow = new OracleFlow(packet.Key);
            }

            flow.Packets.Add(packet);
        }

        Flows = flows;
    }

    /// <summary>Frames tshark read.</summary>
    public int Frames { get; }

    /// <summary>Frames that carry an inner IP packet (after the last tunnel header).</summary>
    public int FramesWithInnerIp { get; }

    /// <summary>Inner IP packets attributed to a flow, in frame order.</summary>
    public IReadOnlyList<InnerPacket> Packets { get; }

    /// <summary>Frame numbers of later IPv4 fragments whose first fragment was not seen before them.</summary>
    public IReadOnlyList<int> UnattributedFragments { get; }

    public IReadOnlyDictionary<FlowKey, OracleFlow> Flows { get; }

    /// <summary>
    /// Runs tshark on a capture and returns its rows (one per frame, tab-separated fields, every
    /// occurrence of a field comma-separated). Wireshark's own Community ID post-dissector (off by
    /// default) is switched on: an implementation independent of the collector's to compare with.
    /// </summary>
    public static IReadOnlyList<string> RunTshark(string capture, string scratchDirectory, IEnumerable<string>? extraArguments = null, IEnumerable<string>? fields = null)
    {
        var arguments = new List<string>
        {
            "--enable-protocol", "communityid",
            "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "header=n",
        };
        arguments.AddRange(extraArguments ?? []);
        foreach (var field in fields ?? Fields)
        {
            arguments.Add("-e");
            arguments.Add(field);
        }

        return Invoke(capture, scratchDirectory, arguments).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.TrimEnd('\r')).ToList();
    }

    /// <summary>
    /// Runs tshark on a capture with the oracle's fixed settings and returns its standard output.
    /// The tunnel ports are given explicitly (VXLAN 4789 and 8472, Geneve 6081, the collector's
    /// defaults), IP reassembly is off, and tshark reads no user preferences (HOME and
    /// XDG_CONFIG_HOME point to an empty folder), so a personal Wireshark profile cannot change
    /// the dissection. -n: no name lookups.
    /// </summary>
    public static string Invoke(string capture, string scratchDirectory, IEnumerable<string> arguments)
    {
        var home = Path.Combine(scratchDirectory, "tshark-home");
        Directory.CreateDirectory(home);
        var all = new List<string>
        {
            "-r", capture, "-n",
            "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
            "-d", "udp.port==4789,vxlan", "-d", "udp.port==8472,vxlan", "-d", "udp.port==6081,geneve",
        };
        all.AddRange(arguments);
        var environment = new Dictionary<string, string> { ["HOME"] = home, ["XDG_CONFIG_HOME"] = home };
        var result = ExternalTools.Run(ExternalTools.Tshark, all, TimeSpan.FromSeconds(120), environment: environment);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"tshark failed on {capture} (exit {result.ExitCode}): {result.StandardError}");
        }

        return result.StandardOutput;
    }

    /// <summary>Builds the oracle from tshark rows (those of <see cref="Fields"/>), optionally only the frames before <paramref name="beforeFrame"/>.</summary>
    public static TsharkOracle FromRows(IReadOnlyList<string> rows, int beforeFrame = int.MaxValue)
    {
        var packets = new List<InnerPacket>();
        var unattributed = new List<int>();
        var firstFragments = new Dictionary<(uint Vni, string Source, string Destination, int Protocol, string Id), (Endpoint Source, Endpoint Destination)>();
        var frames = 0;
        var withInnerIp = 0;
        foreach (var line in rows)
        {
            var row = new Row(line);
            if (row.Frame >= beforeFrame)
            {
                break;
            }

            frames++;
            var parsed = Parse(row);
            if (parsed is null)
            {
                continue;
            }

            withInnerIp++;
            var (packet, fragment) = parsed.Value;
            if (fragment is { } info)
            {
                var fragmentKey = (packet.Vni, packet.Source.Address, packet.Destination.Address, packet.Protocol, info.Id);
                if (!info.Later)
                {
                    // A first fragment: it has the ports; remember them for the later fragments.
                    firstFragments[fragmentKey] = (packet.Source, packet.Destination);
                }
                else if (firstFragments.TryGetValue(fragmentKey, out var endpoints))
                {
                    packet = packet with { Source = endpoints.Source, Destination = endpoints.Destination };
                }
                else
                {
                    unattributed.Add(packet.Frame);
                    continue;
                }
            }

            packets.Add(packet);
        }

        return new TsharkOracle(frames, withInnerIp, packets, unattributed);
    }

    /// <summary>
    /// The inner IP packet of one frame, or null when there is none. For an IPv4 fragment the
    /// second value holds its IP id and whether it is a later fragment (offset &gt; 0, no ports yet:
    /// its endpoints have port 0 until <see cref="FromRows"/> attributes it).
    /// </summary>
    private static (InnerPacket Packet, (string Id, bool Later)? Fragment)? Parse(Row row)
    {
        var tokens = row["frame.protocols"].Single().Split(':');

        // 1. The innermost tunnel: the last vxlan/geneve/erspan token, or gre carrying Ethernet.
        var tunnelAt = -1;
        for (var i = tokens.Length - 1; i >= 0 && tunnelAt < 0; i--)
        {
            if (tokens[i] is "vxlan" or "geneve" or "erspan" || (tokens[i] == "gre" && i + 1 < tokens.Length && tokens[i + 1] == "eth"))
            {
                tunnelAt = i;
            }
        }

        // 2. The inner IP layer: the first ip/ipv6 token after the tunnel (or in the whole frame).
        var ipAt = Array.FindIndex(tokens, tunnelAt + 1, token => token is "ip" or "ipv6");
        if (ipAt < 0)
        {
            return null;
        }

        var tunnel = tunnelAt < 0 ? "none" : tokens[tunnelAt];
        uint vni = 0;
        string? tunnelSource = null, tunnelDestination = null;
        if (tunnelAt >= 0)
        {
            // vxlan.vni is printed in decimal, geneve.vni in hex (0x0000c8), gre.key in hex too.
            vni = tunnel switch
            {
                "erspan" => OptionalField(row, "erspan.spanid", Occurrence(tokens, tunnelAt)),
                "gre" => GreKey(row, Occurrence(tokens, tunnelAt)),
                _ => (uint)row.Int($"{tunnel}.vni", Occurrence(tokens, tunnelAt)),
            };

            // The tunnel's endpoints: the IP layer that carries the tunnel, the last one before it.
            var outerAt = Array.FindLastIndex(tokens, tunnelAt, token => token is "ip" or "ipv6");
            if (outerAt < 0)
            {
                throw new InvalidDataException($"frame {row.Frame}: a tunnel without an IP layer around it ({string.Join(':', tokens)})");
            }

            var outerPrefix = tokens[outerAt];
            tunnelSource = Endpoint.Canonical(row.At($"{outerPrefix}.src", Occurrence(tokens, outerAt)));
            tunnelDestination = Endpoint.Canonical(row.At($"{outerPrefix}.dst", Occurrence(tokens, outerAt)));
        }

        // The innermost 802.1Q tag of the inner Ethernet frame: the last vlan token between the
        // tunnel and the inner IP layer.
        var vlan = 0;
        var between = ipAt - tunnelAt - 1;
        var vlanAt = between > 0 ? Array.FindLastIndex(tokens, ipAt - 1, between, token => token == "vlan") : -1;
        if (vlanAt >= 0)
        {
            vlan = int.Parse(row.At("vlan.id", Occurrence(tokens, vlanAt)), CultureInfo.InvariantCulture);
        }
        else if (tunnel == "erspan" && row["erspan.vlan"].Length > Occurrence(tokens, tunnelAt))
        {
            // The schema: a mirrored frame without a tag of its own takes the ERSPAN header's VLAN.
            vlan = row.Int("erspan.vlan", Occurrence(tokens, tunnelAt));
        }

        // 3. The inner IP header's fields, at its occurrence among its own tokens.
        var ip = Occurrence(tokens, ipAt);
        var version = tokens[ipAt] == "ip" ? 4 : 6;

        // 4. The transport: the token after the IP layer, skipping IPv6 extension headers.
        var transportAt = ipAt + 1;
        while (transportAt < tokens.Length && tokens[transportAt].StartsWith("ipv6.", StringComparison.Ordinal))
        {
            if (tokens[transportAt] == "ipv6.fraghdr")
            {
                throw new InvalidDataException($"frame {row.Frame}: IPv6 fragments are not handled by this oracle ({string.Join(':', tokens)})");
            }

            transportAt++;
        }

        var transport = transportAt < tokens.Length ? tokens[transportAt] : string.Empty;

        string source, destination, fragmentId = string.Empty;
        long bytes;
        int protocol;
        bool laterFragment = false, isFragment = false;
        if (version == 4)
        {
            source = row.At("ip.src", ip);
            destination = row.At("ip.dst", ip);
            bytes = long.Parse(row.At("ip.len", ip), CultureInfo.InvariantCulture);
            protocol = int.Parse(row.At("ip.proto", ip), CultureInfo.InvariantCulture);
            var moreFragments = row.At("ip.flags.mf", ip) is "1" or "True";
            var offset = int.Parse(row.At("ip.frag_offset", ip), CultureInfo.InvariantCulture);
            isFragment = moreFragments || offset > 0;
            laterFragment = offset > 0;
            fragmentId = row.At("ip.id", ip);
        }
        else
        {
            source = row.At("ipv6.src", ip);
            destination = row.At("ipv6.dst", ip);
            var payloadLength = long.Parse(row.At("ipv6.plen", ip), CultureInfo.InvariantCulture);
            if (payloadLength == 0 && transport.Length > 0)
            {
                // A header after the IPv6 header needs payload bytes: 0 means a jumbogram or BIG TCP.
                throw new InvalidDataException($"frame {row.Frame}: IPv6 payload length 0 (jumbogram or BIG TCP) is not handled by this oracle");
            }

            bytes = 40 + payloadLength;
            protocol = transport switch
            {
                "tcp" => 6,
                "udp" => 17,
                "icmpv6" => 58,
                _ => throw new InvalidDataException($"frame {row.Frame}: IPv6 transport '{transport}' is not handled by this oracle ({string.Join(':', tokens)})"),
            };
        }

        // 5. Ports (none yet for a later fragment), and TCP flags.
        int sourcePort = 0, destinationPort = 0;
        int? tcpFlags = null;
        if (!laterFragment)
        {
            var occurrence = Occurrence(tokens, transportAt);
            switch (transport)
            {
                case "tcp":
                    sourcePort = row.Int("tcp.srcport", occurrence);
                    destinationPort = row.Int("tcp.dstport", occurrence);
                    tcpFlags = row.Int("tcp.flags", occurrence);
                    break;
                case "udp":
                    sourcePort = row.Int("udp.srcport", occurrence);
                    destinationPort = row.Int("udp.dstport", occurrence);
                    break;
                case "icmp":
                case "icmpv6":
                    var type = row.Int($"{transport}.type", occurrence);
                    var code = row.Int($"{transport}.code", occurrence);
                    var counterparts = transport == "icmp" ? IcmpCounterpart : Icmpv6Counterpart;
                    sourcePort = type;
                    destinationPort = counterparts.TryGetValue(type, out var counterpart) ? counterpart : code;
                    break;
                default:
                    if (isFragment || protocol is 6 or 17 or 1)
                    {
                        // A first fragment that tshark did not dissect, or a TCP/UDP/ICMP header it
                        // could not: the ports are unknown, and guessing would hide a difference.
                        throw new InvalidDataException($"frame {row.Frame}: no {protocol} header dissected ({string.Join(':', tokens)})");
                    }

                    break; // another IPv4 protocol: a flow without ports
            }
        }

        var packet = new InnerPacket(
            row.Frame,
            row.TimeMicros,
            tunnel,
            tunnelSource,
            tunnelDestination,
            vni,
            vlan,
            version,
            protocol,
            new Endpoint(Endpoint.Canonical(source), sourcePort),
            new Endpoint(Endpoint.Canonical(destination), destinationPort),
            bytes,
            tcpFlags,
            laterFragment,
            row["communityid"].Length == 0 ? null : string.Join(" / ", row["communityid"]));
        return (packet, isFragment ? (fragmentId, laterFragment) : null);
    }

    /// <summary>A field only some headers of the kind carry (ERSPAN type I has no session ID), 0 when this one has none.</summary>
    private static uint OptionalField(Row row, string field, int occurrence) =>
        occurrence < row[field].Length ? (uint)row.Int(field, occurrence) : 0u;

    /// <summary>
    /// The key of a GRE header that carries Ethernet, 0 when it has none. gre.key occurs only for
    /// GRE headers with the K bit, so its occurrences line up with the gre tokens only when every
    /// GRE layer has one; the generated captures have one GRE layer per frame.
    /// </summary>
    private static uint GreKey(Row row, int occurrence)
    {
        var keys = row["gre.key"];
        return occurrence < keys.Length ? (uint)row.Int("gre.key", occurrence) : 0u;
    }

    /// <summary>How many tokens equal to tokens[position] come before it: the field occurrence of that layer.</summary>
    private static int Occurrence(string[] tokens, int position)
    {
        var count = 0;
        for (var i = 0; i < position; i++)
        {
            if (tokens[i] == tokens[position])
            {
                count++;
            }
        }

        return count;
    }

    private static Dictionary<int, int> Pairs(params (int Request, int Reply)[] pairs)
    {
        var map = new Dictionary<int, int>();
        foreach (var (request, reply) in pairs)
        {
            map[request] = reply;
            map[reply] = request;
        }

        return map;
    }

    /// <summary>One tshark row: the columns of <see cref="Fields"/>, each a list of occurrences.</summary>
    private sealed class Row
    {
        private readonly Dictionary<string, string[]> values = new(StringComparer.Ordinal);

        public Row(string line)
        {
            Line = line;
            var columns = line.Split('\t');
            if (columns.Length != Fields.Length)
            {
                throw new InvalidDataException($"tshark row has {columns.Length} columns, expected {Fields.Length}: {line}");
            }

            for (var i = 0; i < Fields.Length; i++)
            {
                values[Fields[i]] = columns[i].Length == 0 ? [] : columns[i].Split(',');
            }

            Frame = int.Parse(this["frame.number"].Single(), CultureInfo.InvariantCulture);

            // frame.time_epoch is "seconds.nanoseconds" (9 digits): keep microseconds, as pcap has.
            var time = this["frame.time_epoch"].Single().Split('.');
            var fraction = (time.Length > 1 ? time[1] : string.Empty).PadRight(6, '0')[..6];
            TimeMicros = (long.Parse(time[0], CultureInfo.InvariantCulture) * 1_000_000) + long.Parse(fraction, CultureInfo.InvariantCulture);
        }

        public string Line { get; }

        public int Frame { get; }

        public long TimeMicros { get; }

        public string[] this[string field] => values[field];

        /// <summary>The given occurrence of a field; a missing one means the token/field alignment failed.</summary>
        public string At(string field, int occurrence)
        {
            var all = values[field];
            return occurrence < all.Length
                ? all[occurrence]
                : throw new InvalidDataException($"frame {Frame}: {field} has no occurrence {occurrence} (has {all.Length}): {Line}");
        }

        /// <summary>An integer field, decimal or 0x-hex (tcp.flags is printed as 0x0012, geneve.vni as 0x0000c8).</summary>
        public int Int(string field, int occurrence)
        {
            var text = At(field, occurrence);
            return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? int.Parse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                : int.Parse(text, CultureInfo.InvariantCulture);
        }
    }
}
