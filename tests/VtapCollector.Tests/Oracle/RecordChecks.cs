using System.Text.RegularExpressions;

namespace VtapCollector.Tests.Oracle;

/// <summary>The shape every replay's records must have whatever the capture: docs/schema.md's contract, flow by flow.</summary>
internal static partial class RecordChecks
{
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")]
    private static partial Regex Rfc3339Micros();

    /// <summary>
    /// Adds a mismatch for each record that breaks the contract: records of one flow_id that
    /// disagree or are out of seq order (see <see cref="CollectorRun.Problems"/>), a schema other
    /// than vtap-flow/1, a time that is not RFC 3339 UTC with microseconds, anything but updates
    /// then one end record, a flow_id that does not start with its VNI, a community_id that is not
    /// "1:" and the base64 of a SHA-1.
    /// </summary>
    public static void Check(CollectorRun run, Mismatches mismatches)
    {
        foreach (var problem in run.Problems)
        {
            mismatches.Add($"collector output: {problem}");
        }

        foreach (var flow in run.FlowsById.Values)
        {
            foreach (var record in flow.Records)
            {
                var seq = record.GetProperty("seq").GetInt32();
                mismatches.Check(flow.Key, $"schema of record {seq}", "vtap-flow/1", record.GetProperty("schema").GetString());
                foreach (var field in new[] { "first_seen", "last_seen" })
                {
                    var time = record.GetProperty(field).GetString() ?? "null";
                    if (!Rfc3339Micros().IsMatch(time))
                    {
                        mismatches.Add(flow.Key, $"{field} of record {seq}", "RFC 3339 UTC with microseconds", time);
                    }
                }
            }

            var types = flow.Records.Select(record => record.GetProperty("type").GetString()).ToList();
            if (types[^1] != "end" || types.SkipLast(1).Any(type => type != "update"))
            {
                mismatches.Add(flow.Key, "record types", "updates then one end", string.Join(",", types));
            }

            var vni = flow.LastRecord.GetProperty("vni").GetUInt32();
            if (!flow.FlowId.StartsWith($"{vni}-", StringComparison.Ordinal))
            {
                mismatches.Add(flow.Key, "flow_id", $"'{vni}-...'", flow.FlowId);
            }

            var communityId = flow.Text("community_id");
            if (!communityId.StartsWith("1:", StringComparison.Ordinal) || communityId.Length != 30)
            {
                mismatches.Add(flow.Key, "community_id", "'1:' + base64 of a SHA-1", communityId);
            }
        }
    }
}
