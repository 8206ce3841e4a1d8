using System.Buffers.Binary;

namespace VtapCollector.Tests.Oracle;

/// <summary>
/// <c>vtap-collector replay</c> given the same packets another way (pcapng, standard input, a
/// capture cut short, several workers) or no capture at all: the same records as the plain replay
/// that <see cref="ReplayOracleTests"/> checks against tshark, or one clear error line.
/// </summary>
public class ReplayInputTests(OracleCaptures captures) : OracleCaptureTests(captures)
{
    [Theory]
    [InlineData("vxlan")]
    [InlineData("scenarios")]
    public void Replay_PcapngCopy_GivesSameRecords(string name)
    {
        var capture = Captures.ByName(name);
        var pcapng = Captures.NewPath("copy.pcapng");
        ExternalTools.ConvertToPcapng(capture.Path, pcapng);
        var header = File.ReadAllBytes(pcapng).AsSpan(0, 4).ToArray();
        Assert.Equal(0x0A0D0D0Au, BinaryPrimitives.ReadUInt32LittleEndian(header));

        var run = CollectorRun.Replay(pcapng);

        Assert.Equal(0, run.Result.ExitCode);
        Assert.True(run.Lines.Count >= capture.Oracle.Flows.Count, $"{run.Lines.Count} records for tshark's {capture.Oracle.Flows.Count} flows");
        Assert.Equal(capture.Replay.Lines, run.Lines);
    }

    /// <summary>
    /// The capture as a collector behind two taps would have taken it: every frame a second time, a
    /// nanosecond later (so the replay's ticks of packet time fall where they did), from another
    /// outer source and with the inner TTL one lower. <c>--dedup</c> gives the records of the
    /// capture itself, plus the fields that name both taps and count the copies removed. The capture
    /// already holds one conversation mirrored under two VNIs (100 and 200) from two sources: without
    /// a VNI group those stay two flows, each with its own copies removed.
    /// </summary>
    [Fact]
    public void Replay_BothEndsTappedCopyWithDedup_GivesTheOneTapRecords()
    {
        var capture = Captures.Vxlan;
        var doubled = Captures.NewPath("double-tap.pcap");
        var copies = WriteDoubleTapped(capture.Path, doubled);

        var run = CollectorRun.Replay(doubled, ["--dedup", "--dedup-window-us", "1000"]);

        Assert.Equal(0, run.Result.ExitCode);
        long removed = 0;
        var lines = new List<string>();
        foreach (var line in run.Lines)
        {
            var record = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
            Assert.Equal(2, record["observation_point_count"]!.GetValue<int>());
            removed += record["copies_removed_src_to_dst"]!.GetValue<long>() + record["copies_removed_dst_to_src"]!.GetValue<long>();
            foreach (var field in new[] { "observation_points", "observation_point_count", "copies_removed_src_to_dst", "copies_removed_dst_to_src" })
            {
                record.Remove(field);
            }

            lines.Add(record.ToJsonString());
        }

        var expected = capture.Replay.Lines.Select(line => System.Text.Json.Nodes.JsonNode.Parse(line)!.ToJsonString()).ToList();
        var missing = expected.Except(lines).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} records differ, such as\n{missing.FirstOrDefault()}\n{string.Join("\n", run.Lines.Where(l => missing.Count > 0 && l.Contains(System.Text.Json.Nodes.JsonNode.Parse(missing[0])!["community_id"]!.GetValue<string>(), StringComparison.Ordinal)))}");
        Assert.Equal(expected.Count, lines.Count);
        Assert.Equal(copies, removed);
    }

    /// <summary>Writes every IPv4-outer frame of <paramref name="source"/> twice (see above); returns the copies whose inner packet the replay decodes.</summary>
    private static long WriteDoubleTapped(string source, string destination)
    {
        var frames = new FrameCollector();
        using (var input = File.OpenRead(source))
        {
            Assert.Equal(global::VtapCollector.Capture.CaptureError.None, new global::VtapCollector.Capture.CaptureReader(input).ReadAllAsync(frames).GetAwaiter().GetResult());
        }

        using var output = File.Create(destination);
        using var writer = new global::VtapCollector.Capture.PcapWriter(output, Decoding.LinkType.Ethernet, nanoseconds: true);
        var decoder = new Decoding.PacketDecoder();
        long copies = 0;
        foreach (var (time, frame) in frames.Frames)
        {
            writer.Write(time, frame);
            if (decoder.Decode(Decoding.LinkType.Ethernet, frame, out var packet) != Decoding.DecodeStatus.Ok || packet.Tunnel == Decoding.TunnelKind.None
                || BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) != 0x0800)
            {
                continue;
            }

            // The other NIC's tap: outer source address + 100; one hop further, so the inner TTL is one lower.
            var copy = (byte[])frame.Clone();
            copy[14 + 15] += 100;
            var inner = frame.Length - (int)packet.IpBytes;
            if (packet.IpVersion == 4 && copy[inner + 8] > 1)
            {
                copy[inner + 8]--;
            }

            writer.Write(time + 1, copy);
            copies++;
        }

        return copies;
    }

    private readonly struct FrameCollector() : global::VtapCollector.Capture.IPacketHandler
    {
        public List<(long Time, byte[] Frame)> Frames { get; } = [];

        public void OnPacket(in global::VtapCollector.Capture.CapturedPacket packet, ReadOnlySpan<byte> data) => Frames.Add((packet.TimestampNanos, data.ToArray()));
    }

    [Fact]
    public void Replay_FromStdin_GivesSameRecords()
    {
        var capture = Captures.Vxlan;

        var run = CollectorRun.Replay("-", standardInputFile: capture.Path);

        Assert.Equal(0, run.Result.ExitCode);
        Assert.NotEmpty(run.Lines);
        Assert.Equal(capture.Replay.Lines, run.Lines);
    }

    /// <summary>
    /// Workers split the flows between them (each flow in one worker), so the order of records
    /// across flows may change with the worker count, but not the records themselves, nor the seq
    /// order of each flow's records.
    /// </summary>
    [Theory]
    [InlineData("mixed")]
    [InlineData("scenarios")]
    public void Replay_EveryWorkerCount_GivesTheSameRecordSet(string name)
    {
        var capture = Captures.ByName(name);
        var runs = new[] { 1, 2, 3 }.ToDictionary(workers => workers, workers => CollectorRun.Replay(capture.Path, ["--workers", $"{workers}"]));
        var reference = runs[1].Lines.Order(StringComparer.Ordinal).ToList();

        Assert.True(reference.Count >= capture.Oracle.Flows.Count, $"{reference.Count} records with one worker for tshark's {capture.Oracle.Flows.Count} flows");
        foreach (var (workers, run) in runs)
        {
            Assert.True(run.Result.ExitCode == 0, $"--workers {workers}: exit {run.Result.ExitCode}: {run.Result.StandardError}");
            Assert.True(run.Problems.Count == 0, $"--workers {workers}: records out of seq order or inconsistent:\n  " + string.Join("\n  ", run.Problems.Take(40)));
            Assert.Equal(reference, run.Lines.Order(StringComparer.Ordinal).ToList());
        }
    }

    /// <summary>
    /// Export threads encode in parallel but never reorder a flow's records nor change the set; with
    /// one worker and the default single export thread, two replays are byte for byte alike (the
    /// single-table order).
    /// </summary>
    [Fact]
    public void Replay_ExportThreads_SameRecordSetAndOneWorkerDefaultIsDeterministic()
    {
        var capture = Captures.ByName("mixed");
        var first = CollectorRun.Replay(capture.Path, ["--workers", "1"]);
        var second = CollectorRun.Replay(capture.Path, ["--workers", "1"]);
        Assert.Equal(first.Lines, second.Lines);
        foreach (var threads in new[] { 2, 3 })
        {
            var run = CollectorRun.Replay(capture.Path, ["--workers", "1", "--export-threads", $"{threads}"]);
            Assert.True(run.Result.ExitCode == 0, $"--export-threads {threads}: exit {run.Result.ExitCode}: {run.Result.StandardError}");
            Assert.True(run.Problems.Count == 0, $"--export-threads {threads}: records out of seq order or inconsistent:\n  " + string.Join("\n  ", run.Problems.Take(40)));
            Assert.Equal(first.Lines.Order(StringComparer.Ordinal), run.Lines.Order(StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// The capture cut in the middle of a packet's data: the records hold exactly the packets
    /// before that packet (tshark's oracle over those frames), then exit code 1 and one sentence.
    /// </summary>
    [Fact]
    public void Replay_TruncatedCapture_WritesRecordsBeforeTheCutAndExitsOne()
    {
        var capture = Captures.Vxlan;
        var bytes = File.ReadAllBytes(capture.Path);
        var records = PcapRecordOffsets(bytes);
        var cutPacket = records.Count / 2; // 0-based: frame cutPacket + 1 is cut
        var (offset, length) = records[cutPacket];
        var truncated = Captures.NewPath("truncated.pcap");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, offset + 16 + (length / 2)).ToArray());

        var run = CollectorRun.Replay(truncated);
        var oracle = TsharkOracle.FromRows(capture.TsharkRows, beforeFrame: cutPacket + 1);

        Assert.Equal(1, run.Result.ExitCode);
        Assert.Contains(Path.GetFileName(truncated), Assert.Single(run.Result.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(cutPacket, oracle.Frames);
        Assert.True(oracle.Flows.Count > 50, $"only {oracle.Flows.Count} flows before the cut");
        FlowComparison.AssertSameFlows(oracle, run, $"{capture.Description} cut in frame {cutPacket + 1}");
    }

    [Fact]
    public void Replay_MissingFile_ExitsOneWithOneLine()
    {
        var missing = Captures.NewPath("does-not-exist.pcap");

        var result = CollectorRun.RunReplay(missing);

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.StandardOutput);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(Path.GetFileName(missing), line, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_NotACapture_ExitsOneWithOneLine()
    {
        var text = Captures.NewPath("notes.txt");
        File.WriteAllText(text, "this is a text file, not a packet capture\n");

        var result = CollectorRun.RunReplay(text);

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.StandardOutput);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(Path.GetFileName(text), line, StringComparison.Ordinal);
    }

    /// <summary>Offsets and captured lengths of the records of a classic little-endian pcap file.</summary>
    private static List<(int Offset, int Length)> PcapRecordOffsets(byte[] pcap)
    {
        Assert.Equal(0xA1B2C3D4u, BinaryPrimitives.ReadUInt32LittleEndian(pcap));
        var records = new List<(int, int)>();
        for (var offset = 24; offset + 16 <= pcap.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(pcap.AsSpan(offset + 8));
            records.Add((offset, length));
            offset += 16 + length;
        }

        return records;
    }
}
