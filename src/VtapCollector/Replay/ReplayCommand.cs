using System.Diagnostics;
using System.Globalization;
using VtapCollector.Capture;
using VtapCollector.Cli;
using VtapCollector.Decoding;
using VtapCollector.Export;
using VtapCollector.Flows;

namespace VtapCollector.Replay;

/// <summary>
/// <c>vtap-collector replay</c>: a capture in, flow records out, a summary on stderr. Deterministic:
/// time comes from packet timestamps only.
/// </summary>
internal static class ReplayCommand
{
    /// <summary>Name of the bundled sample capture (an embedded resource).</summary>
    public const string SampleName = "sample-vxlan.pcap";

    public static async Task<int> RunAsync(ReplayOptions options, TextWriter log)
    {
        var inputName = options.Input ?? $"bundled sample ({SampleName})";
        Stream input;
        try
        {
            input = OpenInput(options.Input);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            await log.WriteLineAsync($"vtap-collector: cannot read '{options.Input}': {error.Message}").ConfigureAwait(false);
            return 1;
        }

        var stopwatch = Stopwatch.StartNew();
        await using (input.ConfigureAwait(false))
        {
            using var writer = new JsonLinesRecordWriter(OpenOutput(options.Output), ownsStream: options.Output != "-");
            var flows = new FlowTable(FlowOptions(options), writer);
            var state = new ReplayState();
            var reader = new CaptureReader(input);
            var handler = new ReplayHandler(new PacketDecoder(options.ToDecoderOptions()), flows, state);
            var error = await reader.ReadAllAsync(handler).ConfigureAwait(false);
            handler.Flush();
            flows.FlushAll(EndReason.EndOfInput);
            writer.Flush();
            stopwatch.Stop();

            if (error is not CaptureError.None and not CaptureError.RecordTruncated)
            {
                await log.WriteLineAsync($"vtap-collector: '{inputName}': {error.Describe(reader.Magic)}").ConfigureAwait(false);
                return 1;
            }

            if (!options.Quiet)
            {
                await log.WriteAsync(ReplaySummary.Format(inputName, reader, state, flows, writer, stopwatch.Elapsed)).ConfigureAwait(false);
            }

            if (error == CaptureError.RecordTruncated)
            {
                // The records of everything before the cut were written; say so, and fail the exit code.
                await log.WriteLineAsync($"vtap-collector: '{inputName}': {error.Describe()}").ConfigureAwait(false);
                return 1;
            }
        }

        return 0;
    }

    private static Stream OpenInput(string? path)
    {
        if (path is null)
        {
            return typeof(ReplayCommand).Assembly.GetManifestResourceStream(SampleName)
                ?? throw new IOException($"the bundled sample {SampleName} is missing from this build.");
        }

        if (path == "-")
        {
            return Console.OpenStandardInput();
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException("no such file.", path);
        }

        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
    }

    private static Stream OpenOutput(string path) =>
        path == "-" ? Console.OpenStandardOutput() : new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1);

    private static FlowTableOptions FlowOptions(ReplayOptions options) => new()
    {
        Capacity = options.MaxFlows,
        ActiveTimeout = options.ActiveTimeout,
        IdleTimeout = options.IdleTimeout,
        TcpIdleTimeout = options.TcpIdleTimeout,
        TcpClosingTimeout = options.TcpClosingTimeout,
    };
}

/// <summary>The end-of-replay summary: what came in, what was decoded, each reason, what went out.</summary>
internal static class ReplaySummary
{
    public static string Format(string input, CaptureReader reader, ReplayState state, FlowTable flows, JsonLinesRecordWriter writer, TimeSpan elapsed)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new System.Text.StringBuilder();
        text.Append(c, $"replay of {input}{Environment.NewLine}");
        text.Append(c, $"  packets      {reader.Packets,12:N0}   ({reader.CapturedBytes:N0} bytes captured){Environment.NewLine}");
        text.Append(c, $"  decoded      {state.Counters[DecodeStatus.Ok],12:N0}{Environment.NewLine}");
        foreach (var (status, count) in state.Counters.Problems())
        {
            text.Append(c, $"  {status.ToLabel(),-28} {count,12:N0}{Environment.NewLine}");
        }

        if (state.TruncatedCopies > 0)
        {
            text.Append(c, $"  truncated copies (counted by IP length) {state.TruncatedCopies,12:N0}{Environment.NewLine}");
        }

        text.Append(c, $"  flows        {flows.FlowsCreated,12:N0}   (peak active {flows.PeakCount:N0}, evicted {flows.Evictions:N0}){Environment.NewLine}");
        text.Append(c, $"  flow table   {flows.Capacity,12:N0} flows capacity, {flows.MemoryBytes / (1024.0 * 1024.0):N0} MiB ({flows.BytesPerFlow} bytes per flow){Environment.NewLine}");
        text.Append(c, $"  records      {writer.UpdateRecords + writer.EndRecords,12:N0}   (update {writer.UpdateRecords:N0}, end {writer.EndRecords:N0}){Environment.NewLine}");
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        text.Append(c, $"  elapsed      {elapsed.TotalSeconds,12:F3} s ({reader.Packets / seconds:N0} packets/s){Environment.NewLine}");
        return text.ToString();
    }
}
