using System.Diagnostics;
using VtapCollector.Capture;
using VtapCollector.Cli;
using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.PacketCapture;
using VtapCollector.Engine.Sources;
using VtapCollector.Engine.Workers;
using VtapCollector.Export.Ipfix;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;

namespace VtapCollector.Replay;

/// <summary>
/// <c>vtap-collector replay</c>: a capture in, flow records out, a summary on stderr. The same engine
/// as the daemon, fed by the capture reader on this thread, with <c>--workers</c> flow workers and
/// packet time as its clock: the set of records does not depend on the number of workers.
/// </summary>
internal static class ReplayCommand
{
    /// <summary>Name of the bundled sample capture (an embedded resource).</summary>
    public const string SampleName = "sample-vxlan.pcap";

    /// <summary>Packets a worker's queue holds in a replay: a burst of decoding never waits on a worker's cache misses.</summary>
    private const int ReplayQueueCapacity = 1 << 16;

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

        var networks = ReplayNetworks.Load(options.NetworksFile, options.ConfigFile, out var networksError);
        if (networks is null)
        {
            await input.DisposeAsync().ConfigureAwait(false);
            await log.WriteLineAsync($"vtap-collector: {networksError}").ConfigureAwait(false);
            return 1;
        }

        var captures = OpenCapture(options);
        using var captureWriter = captures is null ? null : new CaptureWriter(captures);
        captureWriter?.Start();
        var stopwatch = Stopwatch.StartNew();
        await using (input.ConfigureAwait(false))
        {
            var output = new StreamSink(OpenOutput(options.Output), options.Output == "-" ? "stdout" : "file", leaveOpen: false, encoder: Export.Formats.RecordFormats.Create(options.Format));
            using var ipfix = OpenIpfix(options.Ipfix, options.Dedup.Enabled);
            using var engine = new FlowEngine(new EngineSetup(
                new PipelineOptions
                {
                    Workers = options.Workers,
                    ExportThreads = options.EffectiveExportThreads(options.Workers == 0 ? PipelineOptions.DefaultWorkers : options.Workers),
                    DispatchQueueCapacity = ReplayQueueCapacity,

                    // A replay loses nothing: the reader waits for the workers, the workers for the sink.
                    DispatchOverflow = OverflowPolicy.Block,
                    RecordOverflow = OverflowPolicy.Block,
                },
                options.ToFlowTableOptions(),
                options.ToDecoderOptions(),
                AllowList.Open,
                ipfix is null ? [output] : [output, ipfix],
                EngineClock.Packet,
                Networks: networks,
                Dedup: options.Dedup,

                Captures: captures));
            var reader = new CaptureReader(input);
            var ingress = engine.AddIngress("file");
            engine.Start();
            CaptureError error;
            try
            {
                error = await CaptureFileSource.ReadAsync(reader, ingress).ConfigureAwait(false);
            }
            finally
            {
                engine.Finish(EndReason.EndOfInput, long.MaxValue);
            }

            if (engine.Failure is { } failure)
            {
                throw new InvalidOperationException("A flow worker or the exporter failed.", failure);
            }

            output.Flush();
            ipfix?.Dispose();
            var captureError = FinishCapture(captures, captureWriter);
            stopwatch.Stop();
            if (captureError is not null)
            {
                await log.WriteLineAsync($"vtap-collector: cannot write the capture to '{options.CaptureOutput}': {captureError}").ConfigureAwait(false);
                return 1;
            }

            if (error is not CaptureError.None and not CaptureError.RecordTruncated)
            {
                await log.WriteLineAsync($"vtap-collector: '{inputName}': {error.Describe(reader)}").ConfigureAwait(false);
                return 1;
            }

            if (!output.IsHealthy)
            {
                await log.WriteLineAsync($"vtap-collector: cannot write the records to '{options.Output}': {output.LastError}").ConfigureAwait(false);
                return 1;
            }

            if (ipfix is not null && IpfixDropped(ipfix) is var dropped and > 0)
            {
                await log.WriteLineAsync($"vtap-collector: {dropped} IPFIX records could not be delivered to '{options.Ipfix}'.").ConfigureAwait(false);
                return 1;
            }

            if (!options.Quiet)
            {
                await log.WriteAsync(ReplaySummary.Format(inputName, reader, engine, stopwatch.Elapsed)).ConfigureAwait(false);
                if (captures?.All() is [var kept])
                {
                    await log.WriteLineAsync($"  captured packets:      {kept.Packets} ({kept.Bytes} bytes) to {options.CaptureOutput}").ConfigureAwait(false);
                }
            }

            if (error == CaptureError.RecordTruncated)
            {
                // The records of everything before the cut were written; say so, and fail the exit code.
                await log.WriteLineAsync($"vtap-collector: '{inputName}': {error.Describe(reader)}").ConfigureAwait(false);
                return 1;
            }
        }

        return 0;
    }

    /// <summary>The one capture session of <c>--capture-output</c>: a single file, and a replay that waits for its writer rather than drop.</summary>
    private static CaptureSessions? OpenCapture(ReplayOptions options)
    {
        if (options.CaptureOutput is null)
        {
            return null;
        }

        var path = Path.GetFullPath(options.CaptureOutput);
        // The replay's reading thread is the sessions' only producer.
        var sessions = new CaptureSessions(Path.GetDirectoryName(path) ?? ".", 1, options.ToDecoderOptions()) { SingleProducer = true };
        var spec = new CaptureSpec
        {
            Name = "replay",
            Filter = options.CaptureFilter,
            SnapLength = options.CaptureSnapLength,
            Outer = options.CaptureOuter,
            SingleFile = path,
            WaitWhenFull = true,
        };
        return sessions.TryStart(spec, out _, out var error) is null ? throw new InvalidOperationException(error) : sessions;
    }

    /// <summary>Ends the capture and waits for its file; a sentence when it could not be written whole.</summary>
    private static string? FinishCapture(CaptureSessions? captures, CaptureWriter? writer)
    {
        if (captures is null || writer is null)
        {
            return null;
        }

        captures.StopAll("the capture was read to its end");
        writer.Dispose();
        if (writer.Failure is { } failure)
        {
            return failure.Message;
        }

        var session = captures.All()[0];
        return session.State == CaptureState.Failed ? session.Reason
            : session.Dropped > 0 ? $"{session.Dropped} packets could not be written."
            : null;
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

        if (Directory.Exists(path))
        {
            throw new IOException("it is a directory; name a pcap or pcapng file in it (or - for standard input).");
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException("no such file.", path);
        }

        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
    }

    /// <summary>The IPFIX sink of <c>--ipfix</c>: a collector address, or else a file written whole.</summary>
    private static IpfixSink? OpenIpfix(string? destination, bool dedup)
    {
        if (destination is null)
        {
            return null;
        }

        if (destination.Contains("://", StringComparison.Ordinal))
        {
            // A replay loses nothing it can keep: a TCP collector gets a deep buffer and time to take it.
            return new IpfixSink(new IpfixSinkOptions { Collectors = [destination], TcpBufferMessages = 65_536, ShutdownDrain = TimeSpan.FromSeconds(30), Dedup = dedup });
        }

        return new IpfixSink(new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 64 * 1024), dedup: dedup);
    }

    private static long IpfixDropped(IpfixSink sink)
    {
        long dropped = 0;
        foreach (var exporter in sink.Exporters)
        {
            dropped += exporter.Transport.Counters.DroppedBufferFull + exporter.Transport.Counters.DroppedNotConnected;
        }

        return dropped;
    }

    private static Stream OpenOutput(string path) =>
        path == "-" ? Console.OpenStandardOutput() : new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1);
}
