using System.Text;

namespace VtapCollector.Tests.Oracle;

/// <summary>Compares the collector's flows with tshark's, flow by flow and direction by direction, and writes a readable diff.</summary>
internal static class FlowComparison
{
    private const int MaximumListed = 40;

    /// <summary>
    /// Fails unless the collector reported exactly tshark's set of flows and, for each, the same
    /// packets and bytes in each direction (direction taken from the record's src/dst), and unless
    /// the packets summed over all flows equal the frames that carry an inner IP packet.
    /// </summary>
    public static void AssertSameFlows(TsharkOracle oracle, CollectorRun run, string capture)
    {
        var differences = new List<string>();
        differences.AddRange(run.Problems.Select(problem => $"collector output: {problem}"));

        foreach (var key in oracle.Flows.Keys.Union(run.FlowsByKey.Keys).OrderBy(key => key.ToString(), StringComparer.Ordinal))
        {
            var expected = oracle.Flows.GetValueOrDefault(key);
            var actual = run.FlowsByKey.GetValueOrDefault(key);
            if (actual is null)
            {
                differences.Add($"missing from the collector: {key}\n    tshark:    {expected!.Describe()}");
                continue;
            }

            if (expected is null)
            {
                differences.Add($"not in tshark's decode: {key}\n    collector: {actual.Describe()}");
                continue;
            }

            var forward = expected.Sent(actual.Source, actual.Destination);
            var reverse = expected.Sent(actual.Destination, actual.Source);
            if (forward != (actual.PacketsSourceToDestination, actual.BytesSourceToDestination) ||
                reverse != (actual.PacketsDestinationToSource, actual.BytesDestinationToSource))
            {
                differences.Add(
                    $"counts differ: {key}\n" +
                    $"    tshark:    {actual.Source} -> {actual.Destination}: {forward.Packets} pkts {forward.Bytes} B; " +
                    $"{actual.Destination} -> {actual.Source}: {reverse.Packets} pkts {reverse.Bytes} B (frames {expected.First.Frame}..{expected.Last.Frame})\n" +
                    $"    collector: {actual.Describe()}");
            }
        }

        if (run.TotalPackets != oracle.FramesWithInnerIp - oracle.UnattributedFragments.Count)
        {
            differences.Add(
                $"packets summed over all flows: collector {run.TotalPackets}, tshark {oracle.FramesWithInnerIp} frames with an inner IP packet" +
                (oracle.UnattributedFragments.Count > 0 ? $" minus {oracle.UnattributedFragments.Count} fragments without a first fragment" : string.Empty));
        }

        Assert.True(differences.Count == 0, Report(capture, oracle, run, differences));
    }

    /// <summary>A failure message: the totals, then the differences (at most <see cref="MaximumListed"/>).</summary>
    public static string Report(string capture, TsharkOracle oracle, CollectorRun run, IReadOnlyList<string> differences)
    {
        var text = new StringBuilder();
        text.Append($"{capture}: {differences.Count} difference(s) between the collector and tshark ")
            .Append($"(tshark: {oracle.Frames} frames, {oracle.FramesWithInnerIp} with an inner IP packet, {oracle.Flows.Count} flows; ")
            .Append($"collector: exit {run.Result.ExitCode}, {run.Lines.Count} records, {run.FlowsById.Count} flows, {run.TotalPackets} packets)\n");
        foreach (var difference in differences.Take(MaximumListed))
        {
            text.Append("  ").Append(difference).Append('\n');
        }

        if (differences.Count > MaximumListed)
        {
            text.Append($"  ... and {differences.Count - MaximumListed} more\n");
        }

        if (run.Result.StandardError.Length > 0)
        {
            text.Append("collector stderr: ").Append(run.Result.StandardError.Trim()).Append('\n');
        }

        return text.ToString();
    }
}
