using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace VtapCollector.Tests.CrossCheck;

/// <summary>One flow as the collector reported it: its records (grouped by flow_id) summed.</summary>
internal sealed class CollectorFlow(string flowId)
{
    public string FlowId { get; } = flowId;

    public FlowKey Key { get; set; }

    public Endpoint Src { get; set; }

    public Endpoint Dst { get; set; }

    public long Vni { get; set; }

    public int Protocol { get; set; }

    public int IpVersion { get; set; }

    public string Tunnel { get; set; } = "";

    public string? TunnelSrc { get; set; }

    public string? TunnelDst { get; set; }

    public int Vlan { get; set; }

    public string CommunityId { get; set; } = "";

    public long PacketsSrcToDst { get; set; }

    public long BytesSrcToDst { get; set; }

    public long PacketsDstToSrc { get; set; }

    public long BytesDstToSrc { get; set; }

    public int TcpFlagsSrcToDst { get; set; }

    public int TcpFlagsDstToSrc { get; set; }

    public long FirstMicros { get; set; } = long.MaxValue;

    public long LastMicros { get; set; } = long.MinValue;

    /// <summary>conn_state of the record with the highest seq (the end record).</summary>
    public string ConnState { get; set; } = "";

    public string? EndReason { get; set; }

    public List<(long Seq, string Type)> Records { get; } = [];

    /// <summary>Ways the records of this flow_id disagree with each other or with the schema.</summary>
    public List<string> Problems { get; } = [];

    public DirectionTotals SentBy(Endpoint endpoint) =>
        endpoint == Src ? new DirectionTotals { Packets = PacketsSrcToDst, Bytes = BytesSrcToDst, TcpFlags = TcpFlagsSrcToDst }
        : endpoint == Dst ? new DirectionTotals { Packets = PacketsDstToSrc, Bytes = BytesDstToSrc, TcpFlags = TcpFlagsDstToSrc }
        : new DirectionTotals();

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{FlowId} vni {Vni} proto {Protocol} {Src} -> {Dst}: {PacketsSrcToDst} pkts/{BytesSrcToDst} B, back {PacketsDstToSrc} pkts/{BytesDstToSrc} B, {ConnState}");
}

/// <summary>Parses the collector's JSON Lines with System.Text.Json and sums each flow's delta records.</summary>
internal static partial class CollectorRecords
{
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")]
    private static partial Regex Rfc3339Micros();

    public static Dictionary<string, CollectorFlow> Parse(string jsonLines)
    {
        var flows = new Dictionary<string, CollectorFlow>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var raw in jsonLines.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            var record = document.RootElement;
            var flowId = record.GetProperty("flow_id").GetString() ?? throw new InvalidOperationException($"line {lineNumber}: flow_id is null");
            var vni = record.GetProperty("vni").GetInt64();
            var protocol = record.GetProperty("protocol").GetInt32();
            var src = Endpoint.Of(String(record, "src_ip"), record.GetProperty("src_port").GetInt32());
            var dst = Endpoint.Of(String(record, "dst_ip"), record.GetProperty("dst_port").GetInt32());
            var seq = record.GetProperty("seq").GetInt64();
            var type = String(record, "type");
            var firstSeen = String(record, "first_seen");
            var lastSeen = String(record, "last_seen");

            if (!flows.TryGetValue(flowId, out var flow))
            {
                flow = new CollectorFlow(flowId)
                {
                    Key = FlowKey.Of(vni, protocol, src, dst),
                    Src = src,
                    Dst = dst,
                    Vni = vni,
                    Protocol = protocol,
                    IpVersion = record.GetProperty("ip_version").GetInt32(),
                    Tunnel = String(record, "tunnel"),
                    TunnelSrc = record.GetProperty("tunnel_src").GetString(),
                    TunnelDst = record.GetProperty("tunnel_dst").GetString(),
                    Vlan = record.GetProperty("vlan").GetInt32(),
                    CommunityId = String(record, "community_id"),
                };
                flows.Add(flowId, flow);
            }
            else if (flow.Vni != vni || flow.Protocol != protocol || flow.Src != src || flow.Dst != dst)
            {
                flow.Problems.Add($"record seq {seq} has vni {vni} proto {protocol} {src} -> {dst}, an earlier record of the flow had {flow.Vni} {flow.Protocol} {flow.Src} -> {flow.Dst}");
            }

            if (String(record, "schema") != "vtap-flow/1")
            {
                flow.Problems.Add($"record seq {seq}: schema '{String(record, "schema")}'");
            }

            foreach (var time in new[] { firstSeen, lastSeen })
            {
                if (!Rfc3339Micros().IsMatch(time))
                {
                    flow.Problems.Add($"record seq {seq}: time '{time}' is not RFC 3339 UTC with microseconds");
                }
            }

            flow.PacketsSrcToDst += record.GetProperty("packets_src_to_dst").GetInt64();
            flow.BytesSrcToDst += record.GetProperty("bytes_src_to_dst").GetInt64();
            flow.PacketsDstToSrc += record.GetProperty("packets_dst_to_src").GetInt64();
            flow.BytesDstToSrc += record.GetProperty("bytes_dst_to_src").GetInt64();
            flow.TcpFlagsSrcToDst |= record.GetProperty("tcp_flags_src_to_dst").GetInt32();
            flow.TcpFlagsDstToSrc |= record.GetProperty("tcp_flags_dst_to_src").GetInt32();
            flow.FirstMicros = Math.Min(flow.FirstMicros, ParseMicros(firstSeen));
            flow.LastMicros = Math.Max(flow.LastMicros, ParseMicros(lastSeen));
            if (flow.Records.Count == 0 || seq > flow.Records.Max(r => r.Seq))
            {
                flow.ConnState = String(record, "conn_state");
                flow.EndReason = record.GetProperty("end_reason").GetString();
            }

            flow.Records.Add((seq, type));
        }

        return flows;
    }

    private static string String(JsonElement record, string name) =>
        record.GetProperty(name).GetString() ?? throw new InvalidOperationException($"{name} is null in {record}");

    /// <summary>Microseconds since the Unix epoch of "2026-01-01T00:00:00.039470Z"; long.MinValue when malformed.</summary>
    public static long ParseMicros(string text) =>
        DateTime.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? (time.Ticks - DateTime.UnixEpoch.Ticks) / 10
            : long.MinValue;
}
