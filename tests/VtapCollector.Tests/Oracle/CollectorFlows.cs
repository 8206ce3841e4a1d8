using System.Globalization;
using System.Text.Json;

namespace VtapCollector.Tests.Oracle;

/// <summary>One flow as the collector reported it: its records (grouped by flow_id) with the counters summed.</summary>
internal sealed class CollectorFlow
{
    public required string FlowId { get; init; }

    public required FlowKey Key { get; init; }

    /// <summary>The initiator (src_ip, src_port) and the responder (dst_ip, dst_port).</summary>
    public required Endpoint Source { get; init; }

    public required Endpoint Destination { get; init; }

    public long PacketsSourceToDestination { get; set; }

    public long BytesSourceToDestination { get; set; }

    public long PacketsDestinationToSource { get; set; }

    public long BytesDestinationToSource { get; set; }

    public List<JsonElement> Records { get; } = [];

    public JsonElement LastRecord => Records[^1];

    public string Text(string field) => LastRecord.GetProperty(field).ToString();

    /// <summary>first_seen of the first record, in microseconds since the Unix epoch.</summary>
    public long FirstSeenMicros => Micros(Records[0].GetProperty("first_seen").GetString()!);

    /// <summary>The latest last_seen of the records, in microseconds since the Unix epoch.</summary>
    public long LastSeenMicros => Records.Max(record => Micros(record.GetProperty("last_seen").GetString()!));

    /// <summary>The OR of an integer field over the flow's records (the TCP flags of delta records).</summary>
    public int Or(string field) => Records.Aggregate(0, (value, record) => value | record.GetProperty(field).GetInt32());

    /// <summary>Packets and bytes one endpoint sent, summed over the records (zero for an endpoint not in the flow).</summary>
    public (long Packets, long Bytes) SentBy(Endpoint endpoint) =>
        endpoint == Source ? (PacketsSourceToDestination, BytesSourceToDestination)
        : endpoint == Destination ? (PacketsDestinationToSource, BytesDestinationToSource)
        : (0, 0);

    /// <summary>An RFC 3339 UTC time as microseconds since the Unix epoch.</summary>
    public static long Micros(string rfc3339)
    {
        var time = DateTimeOffset.Parse(rfc3339, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        return (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
    }

    public string Describe() =>
        $"{Source} -> {Destination}: {PacketsSourceToDestination} pkts {BytesSourceToDestination} B; " +
        $"{Destination} -> {Source}: {PacketsDestinationToSource} pkts {BytesDestinationToSource} B ({FlowId}, {Records.Count} record(s))";
}

/// <summary>A replay's records, grouped into flows.</summary>
internal sealed class CollectorRun
{
    private CollectorRun(ToolResult result, List<string> lines, Dictionary<string, CollectorFlow> byId, List<string> problems)
    {
        Result = result;
        Lines = lines;
        FlowsById = byId;
        Problems = problems;
        var byKey = new Dictionary<FlowKey, CollectorFlow>();
        foreach (var flow in byId.Values)
        {
            if (!byKey.TryAdd(flow.Key, flow))
            {
                problems.Add($"two flow_ids for one flow key {flow.Key}: {byKey[flow.Key].FlowId} and {flow.FlowId}");
            }
        }

        FlowsByKey = byKey;
    }

    public ToolResult Result { get; }

    /// <summary>The JSON lines, as written.</summary>
    public IReadOnlyList<string> Lines { get; }

    public IReadOnlyDictionary<string, CollectorFlow> FlowsById { get; }

    public IReadOnlyDictionary<FlowKey, CollectorFlow> FlowsByKey { get; }

    /// <summary>Inconsistencies inside the output itself (records of one flow_id that disagree, key collisions).</summary>
    public IReadOnlyList<string> Problems { get; }

    public long TotalPackets => FlowsById.Values.Sum(flow => flow.PacketsSourceToDestination + flow.PacketsDestinationToSource);

    public long TotalBytes => FlowsById.Values.Sum(flow => flow.BytesSourceToDestination + flow.BytesDestinationToSource);

    /// <summary>
    /// The one place that starts <c>vtap-collector replay</c>: the capture (a file, or "-" for
    /// standard input fed from <paramref name="standardInputFile"/>), records to standard output,
    /// no summary, then <paramref name="options"/> (for example <c>--active-timeout 1</c>).
    /// </summary>
    public static ToolResult RunReplay(string capture, IEnumerable<string>? options = null, string? standardInputFile = null) =>
        ExternalTools.RunCollector(["replay", capture, "--output", "-", "--quiet", .. options ?? []], standardInputFile);

    /// <summary>Replays a capture (see <see cref="RunReplay"/>) and groups its records into flows.</summary>
    public static CollectorRun Replay(string capture, IEnumerable<string>? options = null, string? standardInputFile = null) =>
        Parse(RunReplay(capture, options, standardInputFile));

    public static CollectorRun Parse(ToolResult result)
    {
        var lines = result.OutputLines.ToList();
        var flows = new Dictionary<string, CollectorFlow>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var line in lines)
        {
            JsonElement record;
            try
            {
                using var document = JsonDocument.Parse(line);
                record = document.RootElement.Clone();
            }
            catch (JsonException error)
            {
                problems.Add($"not JSON ({error.Message}): {line}");
                continue;
            }

            var id = record.GetProperty("flow_id").GetString()!;
            var source = new Endpoint(Endpoint.Canonical(record.GetProperty("src_ip").GetString()!), record.GetProperty("src_port").GetInt32());
            var destination = new Endpoint(Endpoint.Canonical(record.GetProperty("dst_ip").GetString()!), record.GetProperty("dst_port").GetInt32());
            var key = FlowKey.Create(record.GetProperty("vni").GetUInt32(), record.GetProperty("protocol").GetInt32(), source, destination);
            if (!flows.TryGetValue(id, out var flow))
            {
                flows[id] = flow = new CollectorFlow { FlowId = id, Key = key, Source = source, Destination = destination };
            }
            else if (flow.Source != source || flow.Destination != destination || flow.Key != key)
            {
                problems.Add($"records of {id} disagree on the flow: {flow.Source} -> {flow.Destination} {flow.Key} then {source} -> {destination} {key}");
            }

            var expectedSeq = flow.Records.Count;
            var seq = record.GetProperty("seq").GetInt32();
            if (seq != expectedSeq)
            {
                problems.Add($"{id}: record seq {seq}, expected {expectedSeq.ToString(CultureInfo.InvariantCulture)}");
            }

            flow.Records.Add(record);
            flow.PacketsSourceToDestination += record.GetProperty("packets_src_to_dst").GetInt64();
            flow.BytesSourceToDestination += record.GetProperty("bytes_src_to_dst").GetInt64();
            flow.PacketsDestinationToSource += record.GetProperty("packets_dst_to_src").GetInt64();
            flow.BytesDestinationToSource += record.GetProperty("bytes_dst_to_src").GetInt64();
        }

        return new CollectorRun(result, lines, flows, problems);
    }
}
