namespace VtapCollector.Tests.Oracle;

/// <summary>
/// End-to-end tests of <c>vtap-collector replay</c> against an independent oracle: tshark's
/// dissection of the same capture, aggregated into flows by <see cref="TsharkOracle"/> from the
/// documented flow definition only, and tshark's own conversation tables. Captures (see
/// <see cref="OracleCaptures"/>): the bundled real kernel mirror, two random mixes and the named
/// scenarios, generated with scapy from fixed seeds.
/// </summary>
public class ReplayOracleTests(OracleCaptures captures) : OracleCaptureTests(captures)
{
    [Fact]
    public void Replay_BundledKernelMirrorSample_EveryFlowMatchesTsharkPacketsAndBytes()
    {
        var capture = Captures.Sample;

        Assert.Equal(0, capture.Replay.Result.ExitCode);
        Assert.Empty(capture.Oracle.UnattributedFragments);
        // The sample: HTTP, a refused connection, UDP, ICMP echo, IPv6 ND/MLD/echo, and ARP (no flow).
        Assert.True(capture.Oracle.Flows.Count >= 10, $"only {capture.Oracle.Flows.Count} flows in the sample");
        Assert.True(capture.Oracle.Frames > capture.Oracle.FramesWithInnerIp, "the sample's ARP frames carry no IP packet");
        FlowComparison.AssertSameFlows(capture.Oracle, capture.Replay, capture.Description);
    }

    [Fact]
    public void Replay_GeneratedVxlanCapture_EveryFlowMatchesTsharkPacketsAndBytes()
    {
        var capture = Captures.Vxlan;
        var oracle = capture.Oracle;

        Assert.Equal(0, capture.Replay.Result.ExitCode);
        FlowComparison.AssertSameFlows(oracle, capture.Replay, capture.Description);
        AssertGeneratedCaptureHasItsIngredients(oracle);
        Assert.All(oracle.Packets, packet => Assert.Equal("vxlan", packet.Tunnel));
    }

    [Fact]
    public void Replay_GeneratedVxlanAndGeneveCapture_EveryFlowMatchesTsharkPacketsAndBytes()
    {
        var capture = Captures.Mixed;
        var oracle = capture.Oracle;

        Assert.Equal(0, capture.Replay.Result.ExitCode);
        FlowComparison.AssertSameFlows(oracle, capture.Replay, capture.Description);
        AssertGeneratedCaptureHasItsIngredients(oracle);
        var geneveFlows = oracle.Flows.Values.Count(flow => flow.First.Tunnel == "geneve");
        Assert.True(geneveFlows >= 50, $"only {geneveFlows} Geneve flows");
        Assert.Contains(oracle.Flows.Values, flow => flow.First.Tunnel == "vxlan");
    }

    [Fact]
    public void Replay_GeneratedErspanAndGreCapture_EveryFlowMatchesTsharkPacketsAndBytes()
    {
        var capture = Captures.Gre;
        var oracle = capture.Oracle;

        Assert.Equal(0, capture.Replay.Result.ExitCode);
        FlowComparison.AssertSameFlows(oracle, capture.Replay, capture.Description);
        var flows = oracle.Flows.Values.ToList();
        Assert.True(flows.Count >= 250, $"only {flows.Count} flows");
        Assert.True(flows.Count(flow => flow.First.Tunnel == "erspan") >= 100, "too few ERSPAN flows");
        Assert.True(flows.Count(flow => flow.First.Tunnel == "gre") >= 20, "too few flows of Ethernet bridged over GRE");
        Assert.Contains(flows, flow => flow.First.Tunnel == "vxlan");

        // Session IDs are 10 bits (the generator takes the VNI mod 1024), GRE keys are the VNIs.
        Assert.Equal(new uint[] { 0, 100, 200, 1023 }, flows.Where(flow => flow.First.Tunnel == "erspan").Select(flow => flow.Key.Vni).Distinct().Order());
        Assert.Contains(flows, flow => flow.First.Tunnel == "gre" && flow.Key.Vni == 16777215);

        // Tagged mirrored frames, and untagged ones whose VLAN only the ERSPAN header carries.
        var protocols = Array.IndexOf(TsharkOracle.Fields, "frame.protocols");
        var erspanVlan = Array.IndexOf(TsharkOracle.Fields, "erspan.vlan");
        var rows = capture.TsharkRows.Select(row => row.Split('\t')).Where(columns => columns[protocols].Contains(":erspan:", StringComparison.Ordinal)).ToList();
        Assert.Contains(rows, columns => columns[protocols].Contains(":erspan:eth:ethertype:vlan:", StringComparison.Ordinal));
        Assert.Contains(rows, columns => !columns[protocols].Contains(":erspan:eth:ethertype:vlan:", StringComparison.Ordinal) && columns[erspanVlan] is not ("" or "0"));
        Assert.Empty(oracle.UnattributedFragments);
    }

    [Fact]
    public void Replay_GeneratedScenarioCapture_EveryFlowMatchesTsharkPacketsAndBytes()
    {
        var capture = Captures.Scenarios;
        var oracle = capture.Oracle;

        Assert.Equal(0, capture.Replay.Result.ExitCode);
        Assert.True(oracle.Flows.Count >= 300, $"the scenario capture should hold a few hundred flows, tshark sees {oracle.Flows.Count} ({capture.Reproduce})");
        FlowComparison.AssertSameFlows(oracle, capture.Replay, capture.Description);
        Assert.All(oracle.Packets, packet => Assert.Equal("vxlan", packet.Tunnel));
    }

    /// <summary>src is the initiator: the sender of the first SYN without ACK, else of the flow's first packet; dst the other side.</summary>
    [Theory]
    [InlineData("sample", 2)]
    [InlineData("vxlan", 50)]
    [InlineData("mixed", 50)]
    [InlineData("gre", 50)]
    [InlineData("scenarios", 150)]
    public void Replay_Capture_InitiatorIsTheFirstSynSenderElseTheFirstPacketSender(string name, int minimumHandshakes)
    {
        var capture = Captures.ByName(name);
        var handshakes = capture.Oracle.Flows.Values.Count(flow => flow.FirstSyn is not null);

        Assert.True(handshakes >= minimumHandshakes, $"{capture.Description}: {handshakes} flows with a SYN, want at least {minimumHandshakes}");
        AssertEveryMatchedFlow(capture, "flow(s) whose src/dst is not the initiator/responder", (expected, actual, mismatches) =>
        {
            var rule = expected.FirstSyn is null ? $"first packet sender, frame {expected.First.Frame}" : $"first SYN sender, frame {expected.FirstSyn.Frame}";
            mismatches.Check(expected.Key, $"src -> dst ({rule})", $"{expected.Initiator} -> {expected.Responder}", $"{actual.Source} -> {actual.Destination}");
        });
    }

    /// <summary>
    /// TCP as Zeek names it, from the flags tshark decoded: SYN from A, SYN-ACK from B and a FIN
    /// from each side is SF; a SYN answered only by a RST is REJ.
    /// </summary>
    [Theory]
    [MemberData(nameof(GeneratedCaptures))]
    public void Replay_GeneratedCapture_HandshakeFlowsAreSfAndRefusedAreRej(string name)
    {
        var capture = Captures.ByName(name);
        var expectations = TcpExpectations(capture.Oracle).Where(e => e.State is "SF" or "REJ").ToList();

        Assert.True(expectations.Count(e => e.State == "SF") >= 50, "too few completed TCP connections in the capture");
        Assert.True(expectations.Count(e => e.State == "REJ") >= 10, "too few refused TCP connections in the capture");
        AssertConnStates(capture, expectations);
    }

    /// <summary>An established connection aborted by a RST: RSTO when the initiator sent it, RSTR when the responder did.</summary>
    [Theory]
    [MemberData(nameof(GeneratedCaptures))]
    public void Replay_GeneratedCapture_AbortedFlowsAreRstoOrRstrByWhoSentTheRst(string name)
    {
        var capture = Captures.ByName(name);
        var expectations = TcpExpectations(capture.Oracle).Where(e => e.State is "RSTO" or "RSTR").ToList();

        Assert.True(expectations.Count(e => e.State == "RSTO") >= 3, "too few connections aborted by their initiator");
        Assert.True(expectations.Count(e => e.State == "RSTR") >= 3, "too few connections aborted by their responder");
        AssertConnStates(capture, expectations);
    }

    /// <summary>UDP, ICMP and ICMPv6: S0 when only the initiator (the first sender) sent, SF when the responder answered.</summary>
    [Theory]
    [MemberData(nameof(AllCaptures))]
    public void Replay_Capture_NonTcpStateIsS0WhenOnlyTheInitiatorSentElseSf(string name)
    {
        var capture = Captures.ByName(name);
        var expectations = capture.Oracle.Flows.Values
            .Where(flow => flow.Key.Protocol != 6)
            .Select(flow => new ExpectedState(flow.Key, flow.Sent(flow.Responder, flow.Initiator).Packets > 0 ? "SF" : "S0", flow.First.Frame))
            .ToList();

        Assert.True(expectations.Count > 10, $"only {expectations.Count} non-TCP flows");
        AssertConnStates(capture, expectations);
    }

    /// <summary>
    /// Per flow: tunnel kind and endpoints, VLAN and IP version of the first packet, first_seen (the
    /// first packet's time) and last_seen (the latest time), from tshark's frame times in
    /// microseconds, and the OR of the TCP flags each way.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllCaptures))]
    public void Replay_Capture_FlowMetadataMatchesTshark(string name) =>
        AssertEveryMatchedFlow(Captures.ByName(name), "metadata difference(s) from tshark", (flow, actual, mismatches) =>
        {
            var first = actual.Records[0];
            mismatches.Check(flow.Key, "tunnel", flow.First.Tunnel, first.GetProperty("tunnel").GetString());
            mismatches.Check(flow.Key, "tunnel_src", flow.First.TunnelSource, NullableAddress(first, "tunnel_src"));
            mismatches.Check(flow.Key, "tunnel_dst", flow.First.TunnelDestination, NullableAddress(first, "tunnel_dst"));
            mismatches.Check(flow.Key, "vlan", flow.First.Vlan, first.GetProperty("vlan").GetInt32());
            mismatches.Check(flow.Key, "ip_version", flow.First.IpVersion, first.GetProperty("ip_version").GetInt32());
            mismatches.Check(flow.Key, "first_seen (us)", flow.First.TimeMicros, actual.FirstSeenMicros);
            // A real mirror can deliver a packet stamped earlier than the one before it (the
            // sample's refused connection: the RST is stamped 3 us before the SYN): last_seen is
            // the latest time seen, never earlier than first_seen, which is the first packet's.
            mismatches.Check(flow.Key, "last_seen (us)", flow.LastTimeMicros, actual.LastSeenMicros);
            mismatches.Check(flow.Key, "tcp_flags_src_to_dst", flow.TcpFlagsSent(actual.Source, actual.Destination), actual.Or("tcp_flags_src_to_dst"));
            mismatches.Check(flow.Key, "tcp_flags_dst_to_src", flow.TcpFlagsSent(actual.Destination, actual.Source), actual.Or("tcp_flags_dst_to_src"));
        });

    /// <summary>
    /// Community ID v1 against Wireshark's communityid post-dissector (it hashes the inner packet's
    /// addresses, protocol and ports, ICMP type/code mapped as the spec says; for ICMP errors the
    /// error's own header, not the quoted one). Later fragments, which tshark hashes without ports,
    /// are left out of tshark's side; every other packet of a flow must give the same ID.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllCaptures))]
    public void Replay_Capture_CommunityIdMatchesTshark(string name) =>
        AssertEveryMatchedFlow(Captures.ByName(name), "Community ID difference(s) from tshark", (flow, actual, mismatches) =>
        {
            var expected = flow.Packets.Where(packet => !packet.LaterFragment)
                .Select(packet => packet.CommunityId ?? $"(none for frame {packet.Frame})").Distinct(StringComparer.Ordinal).ToList();
            mismatches.Check(flow.Key, "community_id", string.Join(" / ", expected), actual.Text("community_id"));
        });

    /// <summary>Every record follows the schema, and each flow_id's records are updates then one end, in seq order.</summary>
    [Theory]
    [MemberData(nameof(AllCaptures))]
    public void Replay_Capture_RecordsAreWellFormedDeltasOfOneFlowEach(string name)
    {
        var capture = Captures.ByName(name);
        var mismatches = new Mismatches();

        RecordChecks.Check(capture.Replay, mismatches);

        Assert.NotEmpty(capture.Replay.FlowsById);
        mismatches.AssertNone(capture.Description, "malformed record(s)");
    }

    /// <summary>
    /// The generators mirror some conversations into two or three VNIs with the same inner 5-tuple
    /// (and the same IP ids): each VNI's copy is its own flow, with its own counts, and the
    /// collector reports the tuple in exactly those VNIs.
    /// </summary>
    [Theory]
    [InlineData("vxlan")]
    [InlineData("gre")]
    [InlineData("scenarios")]
    public void Replay_SameTupleInSeveralVnis_StaysOneFlowPerVni(string name)
    {
        var capture = Captures.ByName(name);
        var groups = capture.Oracle.Flows.Keys
            .GroupBy(key => key.Tuple)
            .Where(group => group.Select(key => key.Vni).Distinct().Count() > 1)
            .ToList();

        Assert.True(groups.Count >= 4, $"only {groups.Count} inner tuples occur in several VNIs");
        Assert.Contains(groups, group => group.Key.Protocol == 6);
        Assert.Contains(groups, group => group.Key.Protocol == 17);
        Assert.Contains(groups, group => group.Key.Protocol == 1);
        Assert.Contains(groups, group => group.Any(key => capture.Oracle.Flows[key].LaterFragments > 0));
        var mismatches = new Mismatches();
        foreach (var group in groups)
        {
            var vnis = group.Select(key => key.Vni).Order().ToList();
            var reported = capture.Replay.FlowsById.Values.Where(flow => flow.Key.Tuple == group.Key).ToList();
            var reportedVnis = reported.Select(flow => flow.Key.Vni).Order().ToList();
            if (!reportedVnis.SequenceEqual(vnis))
            {
                mismatches.Add(group.First(), "VNIs of the tuple's flows", string.Join(",", vnis), $"{string.Join(",", reportedVnis)}: {string.Join("; ", reported.Select(flow => flow.Describe()))}");
                continue;
            }

            foreach (var flow in reported)
            {
                var expected = capture.Oracle.Flows[flow.Key];
                mismatches.Check(flow.Key, "flow_id prefix", $"{flow.Key.Vni}-", flow.FlowId[..(flow.FlowId.IndexOf('-', StringComparison.Ordinal) + 1)]);
                mismatches.Check(flow.Key, $"from {flow.Source} (this VNI only)", expected.Sent(flow.Source, flow.Destination), flow.SentBy(flow.Source));
                mismatches.Check(flow.Key, $"from {flow.Destination} (this VNI only)", expected.Sent(flow.Destination, flow.Source), flow.SentBy(flow.Destination));
            }
        }

        mismatches.AssertNone(capture.Description, "tuple(s) reused in several VNIs that are not one flow per VNI with that VNI's counts");
    }

    /// <summary>A datagram split into IPv4 fragments counts, every fragment, in the flow of its first fragment (same VNI, addresses, protocol, IP id).</summary>
    [Theory]
    [MemberData(nameof(GeneratedCaptures))]
    public void Replay_FragmentedDatagrams_CountInTheFlowOfTheirFirstFragment(string name)
    {
        var capture = Captures.ByName(name);
        var fragmented = capture.Oracle.Flows.Values.Where(flow => flow.LaterFragments > 0).ToList();

        Assert.True(fragmented.Count >= 5, $"{capture.Description}: {fragmented.Count} flows with IPv4 fragments, want at least 5");
        var mismatches = new Mismatches();
        foreach (var expected in fragmented)
        {
            if (!capture.Replay.FlowsByKey.TryGetValue(expected.Key, out var actual))
            {
                mismatches.Add($"{expected.Key}: no flow in the records ({expected.LaterFragments} later fragments)");
                continue;
            }

            foreach (var (from, to) in new[] { (expected.Key.Low, expected.Key.High), (expected.Key.High, expected.Key.Low) })
            {
                mismatches.Check(expected.Key, $"packets, bytes from {from} ({expected.LaterFragments} later fragments in the flow)", expected.Sent(from, to), actual.SentBy(from));
            }
        }

        mismatches.AssertNone(capture.Description, "flow(s) whose IPv4 fragments are not all counted in their datagram's flow");
    }

    /// <summary>
    /// tshark's conversation tables know no VNI, and a SYN on a tuple already seen starts a new row
    /// (the same tuple in another VNI looks like port reuse to tshark), so both sides are summed per
    /// tuple: the rows over rows, the collector's flows over VNIs. Outer tunnel conversations (ports
    /// 4789 and 6081) and tuples with fragments (whose later fragments have no UDP header for
    /// tshark's table) are left out.
    /// </summary>
    [Theory]
    [MemberData(nameof(GeneratedCaptures))]
    public void Replay_Capture_PerTupleFramesMatchTsharkConversationTables(string name)
    {
        var capture = Captures.ByName(name);
        var fragmentedTuples = capture.Oracle.Flows.Values.Where(flow => flow.LaterFragments > 0).Select(flow => flow.Key.Tuple).ToHashSet();
        var tables = new Dictionary<(int Protocol, Endpoint Low, Endpoint High), Dictionary<Endpoint, long>>();
        var rows = 0;
        foreach (var row in capture.Conversations.Where(row => !IsTunnelPort(row.A.Port) && !IsTunnelPort(row.B.Port)))
        {
            rows++;
            var tuple = FlowKey.Create(0, row.Protocol, row.A, row.B).Tuple;
            if (fragmentedTuples.Contains(tuple))
            {
                continue;
            }

            if (!tables.TryGetValue(tuple, out var frames))
            {
                frames = new Dictionary<Endpoint, long> { [tuple.Low] = 0, [tuple.High] = 0 };
                tables.Add(tuple, frames);
            }

            frames[row.A] += row.FramesAToB;
            frames[row.B] += row.FramesBToA;
        }

        var collector = capture.Replay.FlowsById.Values
            .Where(flow => flow.Key.Protocol is 6 or 17 && !fragmentedTuples.Contains(flow.Key.Tuple))
            .GroupBy(flow => flow.Key.Tuple)
            .ToDictionary(group => group.Key, group => group.ToList());
        Assert.True(rows >= 150, $"{capture.Description}: tshark's tables list {rows} inner conversations, want at least 150");

        var mismatches = new Mismatches();
        foreach (var (tuple, frames) in tables)
        {
            var flows = collector.GetValueOrDefault(tuple) ?? [];
            var got = (FromLow: flows.Sum(flow => flow.SentBy(tuple.Low).Packets), FromHigh: flows.Sum(flow => flow.SentBy(tuple.High).Packets));
            if (got != (frames[tuple.Low], frames[tuple.High]))
            {
                mismatches.Add($"proto {tuple.Protocol} {tuple.Low} <-> {tuple.High} (VNIs {string.Join(",", flows.Select(flow => flow.Key.Vni))}): frames from low, from high: "
                    + $"expected (tshark's table) {(frames[tuple.Low], frames[tuple.High])}, collector {got}");
            }
        }

        foreach (var tuple in collector.Keys.Where(tuple => !tables.ContainsKey(tuple)))
        {
            mismatches.Add($"proto {tuple.Protocol} {tuple.Low} <-> {tuple.High}: the collector has a flow, tshark's conversation tables none");
        }

        mismatches.AssertNone(capture.Description, "per-tuple total(s) that differ from tshark's conversation tables");
    }

    /// <summary>Checks of the random mixes themselves, so a generator change cannot quietly drop a case.</summary>
    private static void AssertGeneratedCaptureHasItsIngredients(TsharkOracle oracle)
    {
        var flows = oracle.Flows.Values.ToList();
        Assert.True(flows.Count >= 250, $"only {flows.Count} flows");
        Assert.Equal(new uint[] { 100, 200, 4096, 16777215 }, flows.Select(flow => flow.Key.Vni).Distinct().Order());
        Assert.Contains(flows, flow => flow.First.Vlan != 0);
        Assert.Contains(flows, flow => flow.First.Vlan == 0);
        Assert.Contains(flows, flow => flow.First.IpVersion == 6 && flow.Key.Protocol == 6);
        Assert.Contains(flows, flow => flow.First.IpVersion == 6 && flow.Key.Protocol == 17);
        Assert.Contains(flows, flow => flow.Key.Protocol == 58 && flow.Key.Low.Port is 128 or 129);
        Assert.Contains(flows, flow => flow.Key.Protocol == 1 && flow.Key.Low.Port == 3 && flow.Key.High.Port == 3);
        Assert.Contains(flows, flow => flow.Key.Protocol == 1 && (flow.Key.Low.Port, flow.Key.High.Port) is (0, 8) or (8, 0));
        Assert.Contains(oracle.Packets, packet => packet.LaterFragment && packet.Protocol == 17);
        Assert.Contains(oracle.Packets, packet => packet.LaterFragment && packet.Protocol == 1);
        Assert.Empty(oracle.UnattributedFragments);
        Assert.True(oracle.Frames > oracle.FramesWithInnerIp, "no ARP (a frame without an inner IP packet) in the capture");
    }

    /// <summary>Runs one check on every flow that tshark and the collector both have, and fails once with all the mismatches.</summary>
    private static void AssertEveryMatchedFlow(AnalysedCapture capture, string what, Action<OracleFlow, CollectorFlow, Mismatches> check)
    {
        var mismatches = new Mismatches();
        foreach (var (expected, actual) in FlowComparison.Matched(capture.Oracle, capture.Replay, capture.Description))
        {
            check(expected, actual, mismatches);
        }

        mismatches.AssertNone(capture.Description, what);
    }

    private static bool IsTunnelPort(int port) => port is 4789 or 6081;

    /// <summary>The conn_state a flow must end with, and the frame that decides who initiated it.</summary>
    private sealed record ExpectedState(FlowKey Key, string State, int Frame);

    /// <summary>
    /// The TCP flows whose Zeek state follows from tshark's flags alone (others are not judged):
    /// the initiator sent the first SYN without ACK;
    /// SF: SYN-ACK from the responder, a FIN each way, no RST;
    /// REJ: no SYN-ACK, a RST from the responder, nothing else from it, no FIN;
    /// RSTO/RSTR: SYN-ACK, no FIN, a RST from the initiator (RSTO) or the responder (RSTR) only.
    /// </summary>
    private static IEnumerable<ExpectedState> TcpExpectations(TsharkOracle oracle)
    {
        const int Fin = 0x01, Syn = 0x02, Rst = 0x04, Ack = 0x10;
        foreach (var flow in oracle.Flows.Values.Where(flow => flow.Key.Protocol == 6 && flow.FirstSyn is not null))
        {
            var initiator = flow.Initiator;
            var responder = flow.Responder;
            bool From(Endpoint side, int flag) => flow.Packets.Any(p => p.Source == side && p.TcpFlags is { } f && (f & flag) == flag);
            var synAck = flow.Packets.Any(p => p.Source == responder && p.TcpFlags is { } f && (f & (Syn | Ack)) == (Syn | Ack));
            var fin = From(initiator, Fin) || From(responder, Fin);
            var rstInitiator = From(initiator, Rst);
            var rstResponder = From(responder, Rst);
            string? state = null;
            if (synAck && From(initiator, Fin) && From(responder, Fin) && !rstInitiator && !rstResponder)
            {
                state = "SF";
            }
            else if (!synAck && !fin && rstResponder && !rstInitiator &&
                     flow.Packets.Where(p => p.Source == responder).All(p => (p.TcpFlags!.Value & Rst) != 0))
            {
                state = "REJ";
            }
            else if (synAck && !fin && rstInitiator != rstResponder)
            {
                state = rstInitiator ? "RSTO" : "RSTR";
            }

            if (state is not null)
            {
                yield return new ExpectedState(flow.Key, state, flow.FirstSyn!.Frame);
            }
        }
    }

    /// <summary>Each expected flow is in the records once, with the expected conn_state (its initiator is checked by the initiator test).</summary>
    private static void AssertConnStates(AnalysedCapture capture, IReadOnlyList<ExpectedState> expectations)
    {
        var mismatches = new Mismatches();
        foreach (var expectation in expectations)
        {
            if (!capture.Replay.FlowsByKey.TryGetValue(expectation.Key, out var actual))
            {
                mismatches.Add($"{expectation.Key}: no such flow in the collector's records (want {expectation.State})");
                continue;
            }

            mismatches.Check(expectation.Key, $"conn_state (initiator's first packet: frame {expectation.Frame})", expectation.State, actual.Text("conn_state"));
        }

        mismatches.AssertNone(capture.Description, $"of {expectations.Count} flow(s) with a conn_state other than tshark's flags give");
    }

    private static string? NullableAddress(System.Text.Json.JsonElement record, string field)
    {
        var value = record.GetProperty(field);
        return value.ValueKind == System.Text.Json.JsonValueKind.Null ? null : Endpoint.Canonical(value.GetString()!);
    }
}
