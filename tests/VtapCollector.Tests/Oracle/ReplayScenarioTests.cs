namespace VtapCollector.Tests.Oracle;

/// <summary>
/// The scenario capture of tests/tools/gen_oracle_scenarios.py, whose manifest says what each
/// generated flow must give: first that tshark reads the capture as the generator wrote it (so
/// tshark is a sound oracle), then the collector's records against the scenarios' Zeek states and
/// against tshark's totals when long flows are split into update records.
/// </summary>
public class ReplayScenarioTests(OracleCaptures captures) : OracleCaptureTests(captures)
{
    [Fact]
    public void Oracle_TsharkReadingOfTheScenarioCapture_AgreesWithTheGeneratorManifest()
    {
        // Guards the oracle itself: if this fails, the generator or the tshark reading is wrong, not the collector.
        var capture = Captures.Scenarios;
        var manifest = capture.Manifest!;
        var oracle = capture.Oracle;
        var mismatches = new Mismatches(actualSide: "tshark");
        if (oracle.Frames != manifest.Frames)
        {
            mismatches.Add($"tshark read {oracle.Frames} frames, the generator wrote {manifest.Frames}");
        }

        var manifestKeys = manifest.Flows.Select(flow => flow.Key).ToHashSet();
        foreach (var key in oracle.Flows.Keys.Where(key => !manifestKeys.Contains(key)))
        {
            mismatches.Add($"tshark sees a flow the generator did not make: {key}");
        }

        foreach (var expected in manifest.Flows)
        {
            if (!oracle.Flows.TryGetValue(expected.Key, out var flow))
            {
                mismatches.Add($"tshark does not see the generated {expected.Kind} flow {expected.Key}");
                continue;
            }

            mismatches.Check(expected.Key, $"{expected.Kind} packets, bytes {expected.A} -> {expected.B}", (expected.PacketsAToB, expected.BytesAToB), flow.Sent(expected.A, expected.B));
            mismatches.Check(expected.Key, $"{expected.Kind} packets, bytes {expected.B} -> {expected.A}", (expected.PacketsBToA, expected.BytesBToA), flow.Sent(expected.B, expected.A));
            mismatches.Check(expected.Key, $"{expected.Kind} initiator", expected.A, flow.Initiator);
            mismatches.Check(expected.Key, $"{expected.Kind} vlan", expected.Vlan, flow.First.Vlan);
            mismatches.Check(expected.Key, $"{expected.Kind} later fragments", expected.LaterFragments, flow.LaterFragments);
        }

        var twinGroups = manifest.Flows.Where(flow => flow.TwinGroup is not null).GroupBy(flow => flow.TwinGroup!.Value).ToList();
        if (twinGroups.Count < 10)
        {
            mismatches.Add($"the generator should reuse at least 10 tuples across VNIs, it reused {twinGroups.Count}");
        }

        foreach (var group in twinGroups.Where(group => group.Select(flow => flow.Key.Tuple).Distinct().Count() != 1 || group.Select(flow => flow.Key.Vni).Distinct().Count() < 2))
        {
            mismatches.Add($"twin group {group.Key}: the manifest's tuples differ or share a VNI ({string.Join("; ", group.Select(flow => flow.Key))})");
        }

        mismatches.AssertNone(capture.Description, "difference(s) between tshark's reading and the generator's manifest (a test-infrastructure problem, not the collector's)");
    }

    /// <summary>
    /// SF: handshake, data and a FIN each way; REJ: SYN answered by RST-ACK; RSTO/RSTR: reset
    /// mid-stream by the originator/responder; S0: SYN unanswered, or UDP one way; UDP both ways: SF
    /// (Zeek's names, docs/schema.md).
    /// </summary>
    [Fact]
    public void Replay_ScenarioCapture_ConnStateIsTheOneEachScenarioMustGive()
    {
        var capture = Captures.Scenarios;
        var mismatches = new Mismatches();
        var checkedStates = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var expected in capture.Manifest!.Flows.Where(flow => flow.ConnState is not null))
        {
            if (!capture.Replay.FlowsByKey.TryGetValue(expected.Key, out var actual))
            {
                mismatches.Add($"{expected.Kind} {expected.Key}: no flow in the records (want {expected.ConnState})");
                continue;
            }

            checkedStates[expected.ConnState!] = checkedStates.GetValueOrDefault(expected.ConnState!) + 1;
            mismatches.Check(expected.Key, $"{expected.Kind} conn_state (end_reason {actual.Text("end_reason")})", expected.ConnState, actual.Text("conn_state"));
        }

        foreach (var state in new[] { "SF", "REJ", "RSTO", "RSTR", "S0" })
        {
            Assert.True(checkedStates.GetValueOrDefault(state) >= 5, $"the capture should hold at least 5 flows that must end {state}, it holds {checkedStates.GetValueOrDefault(state)} ({capture.Reproduce})");
        }

        mismatches.AssertNone(capture.Description, "flow(s) whose conn_state is not their scenario's Zeek state");
    }

    /// <summary>
    /// With --active-timeout 1 every flow longer than a second gets update records; their counters
    /// are deltas, so each flow's sum over its records must still be tshark's totals, and the
    /// flow's direction, times, cumulative TCP flags and final conn_state those of the default run.
    /// </summary>
    [Fact]
    public void Replay_ActiveTimeoutOneSecond_UpdateDeltasAddUpToTsharksTotals()
    {
        var capture = Captures.Scenarios;
        var run = CollectorRun.Replay(capture.Path, ["--active-timeout", "1"]);
        var multiRecord = run.FlowsById.Values.Count(flow => flow.Records.Count > 1);

        Assert.True(multiRecord >= 10, $"--active-timeout 1 should split at least 10 flows into several records, it split {multiRecord} ({capture.Reproduce})");
        FlowComparison.AssertSameFlows(capture.Oracle, run, capture.Description + " with --active-timeout 1");
        var mismatches = new Mismatches();
        RecordChecks.Check(run, mismatches);
        foreach (var flow in run.FlowsById.Values)
        {
            if (!capture.Replay.FlowsByKey.TryGetValue(flow.Key, out var reference))
            {
                continue; // reported by AssertSameFlows on the default run
            }

            mismatches.Check(flow.Key, "src -> dst (default run expected)", $"{reference.Source} -> {reference.Destination}", $"{flow.Source} -> {flow.Destination}");
            mismatches.Check(flow.Key, "conn_state (default run expected)", reference.Text("conn_state"), flow.Text("conn_state"));
            mismatches.Check(flow.Key, "tcp_flags_src_to_dst (default run expected)", reference.Or("tcp_flags_src_to_dst"), flow.Or("tcp_flags_src_to_dst"));
            mismatches.Check(flow.Key, "tcp_flags_dst_to_src (default run expected)", reference.Or("tcp_flags_dst_to_src"), flow.Or("tcp_flags_dst_to_src"));
            mismatches.Check(flow.Key, "first_seen (us, default run expected)", reference.FirstSeenMicros, flow.FirstSeenMicros);
            mismatches.Check(flow.Key, "last_seen (us, default run expected)", reference.LastSeenMicros, flow.LastSeenMicros);
        }

        mismatches.AssertNone(capture.Description + " with --active-timeout 1", "difference(s) from the default run's flows or the record contract");
    }
}
