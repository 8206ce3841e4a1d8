using System.Text;

namespace VtapCollector.Tests.Oracle;

/// <summary>Compares the collector's flows with tshark's, flow by flow and direction by direction.</summary>
internal static class FlowComparison
{
    /// <summary>
    /// Fails unless the collector reported exactly tshark's set of flows and, for each, the same
    /// packets and bytes in each direction (direction taken from the record's src/dst), and unless
    /// the packets and bytes summed over all flows equal those of the frames that carry an inner IP packet.
    /// </summary>
    public static void AssertSameFlows(TsharkOracle oracle, CollectorRun run, string capture)
    {
        var mismatches = new Mismatches();
        foreach (var problem in run.Problems)
        {
            mismatches.Add($"collector output: {problem}");
        }

        foreach (var key in oracle.Flows.Keys.Union(run.FlowsByKey.Keys).OrderBy(key => key.ToString(), StringComparer.Ordinal))
        {
            var expected = oracle.Flows.GetValueOrDefault(key);
            var actual = run.FlowsByKey.GetValueOrDefault(key);
            if (actual is null)
            {
                mismatches.Add($"missing from the collector: {key}\n    tshark:    {expected!.Describe()}");
                continue;
            }

            if (expected is null)
            {
                mismatches.Add($"not in tshark's decode: {key}\n    collector: {actual.Describe()}");
                continue;
            }

            var forward = expected.Sent(actual.Source, actual.Destination);
            var reverse = expected.Sent(actual.Destination, actual.Source);
            if (forward != (actual.PacketsSourceToDestination, actual.BytesSourceToDestination) ||
                reverse != (actual.PacketsDestinationToSource, actual.BytesDestinationToSource))
            {
                mismatches.Add(
                    $"counts differ: {key}\n" +
                    $"    tshark:    {actual.Source} -> {actual.Destination}: {forward.Packets} pkts {forward.Bytes} B; " +
                    $"{actual.Destination} -> {actual.Source}: {reverse.Packets} pkts {reverse.Bytes} B (frames {expected.First.Frame}..{expected.Last.Frame})\n" +
                    $"    collector: {actual.Describe()}");
            }
        }

        if (run.TotalPackets != oracle.FramesWithInnerIp - oracle.UnattributedFragments.Count)
        {
            mismatches.Add(
                $"packets summed over all flows: collector {run.TotalPackets}, tshark {oracle.FramesWithInnerIp} frames with an inner IP packet" +
                (oracle.UnattributedFragments.Count > 0 ? $" minus {oracle.UnattributedFragments.Count} fragments without a first fragment" : string.Empty));
        }

        var oracleBytes = oracle.Packets.Sum(packet => packet.IpBytes);
        if (run.TotalBytes != oracleBytes)
        {
            mismatches.Add($"IP bytes summed over all flows: collector {run.TotalBytes}, tshark {oracleBytes}");
        }

        mismatches.AssertNone(capture, "difference(s) between the collector's flows and tshark's", Summary(oracle, run));
    }

    /// <summary>
    /// Each tshark flow with the collector's flow of the same key, for the flows both have. At least
    /// 90 % of tshark's flows must be there, so a check of the matched flows cannot pass on few of
    /// them; which are missing is the business of <see cref="AssertSameFlows"/>.
    /// </summary>
    public static List<(OracleFlow Expected, CollectorFlow Actual)> Matched(TsharkOracle oracle, CollectorRun run, string capture)
    {
        var matched = oracle.Flows.Values
            .Where(flow => run.FlowsByKey.ContainsKey(flow.Key))
            .Select(flow => (flow, run.FlowsByKey[flow.Key]))
            .ToList();
        Assert.True(matched.Count >= oracle.Flows.Count * 9 / 10,
            $"{capture}: only {matched.Count} of tshark's {oracle.Flows.Count} flows are in the collector's records; see the packets and bytes test");
        return matched;
    }

    /// <summary>The totals of both sides and the collector's standard error, the last lines of a failure message.</summary>
    public static string Summary(TsharkOracle oracle, CollectorRun run)
    {
        var text = new StringBuilder()
            .Append($"tshark: {oracle.Frames} frames, {oracle.FramesWithInnerIp} with an inner IP packet, {oracle.Flows.Count} flows; ")
            .Append($"collector: exit {run.Result.ExitCode}, {run.Lines.Count} records, {run.FlowsById.Count} flows, {run.TotalPackets} packets\n");
        if (run.Result.StandardError.Length > 0)
        {
            text.Append("collector stderr: ").Append(run.Result.StandardError.Trim()).Append('\n');
        }

        return text.ToString();
    }
}
