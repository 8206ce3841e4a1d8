using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.PacketCapture;
using VtapCollector.Engine.Sources;
using VtapCollector.Engine.Workers;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;

namespace VtapCollector.Service;

/// <summary>
/// The daemon's collector: the engine on wall time, fed by the live sources. Start opens every source
/// before any thread runs; Stop stops receiving, lets the workers end every flow as
/// <see cref="EndReason.Shutdown"/> and waits for the sinks to be flushed.
/// </summary>
internal sealed class LiveCollector : IDisposable
{
    private readonly ValidatedSettings _settings;
    private readonly EngineSetup _setup;
    private string? _captureToken;

    public LiveCollector(ValidatedSettings settings, IReadOnlyList<IRecordSink> sinks)
    {
        _settings = settings;
        var metrics = settings.Sections.Metrics;
        _setup = new EngineSetup(
            settings.Sections.Pipeline,
            settings.FlowTable,
            settings.Decoder,
            settings.AllowList,
            sinks,
            EngineClock.Wall,
            metrics.MaxVniLabels,
            metrics.MaxTunnelSourceLabels,
            settings.Networks,
            metrics.MaxNetworkLabels,
            Dedup: settings.Sections.Dedup);
        var capture = settings.Sections.Capture;
        Captures = new CaptureSessions(capture.Directory, capture.MaxSessions, settings.Decoder);
        CaptureWriter = new CaptureWriter(Captures);
        _captureToken = settings.CaptureToken;
        Engine = new FlowEngine(_setup with { Captures = Captures });
        Sources = new LiveSources(Engine);
    }

    public FlowEngine Engine { get; }

    /// <summary>The capture sessions (configured and from the API) the ingresses offer packets to.</summary>
    public CaptureSessions Captures { get; }

    /// <summary>The thread that writes every session's files.</summary>
    public CaptureWriter CaptureWriter { get; }

    /// <summary>The bearer token the capture API requires (configured or from its file; a reload may change it); null for none.</summary>
    public string? CaptureToken
    {
        get => Volatile.Read(ref _captureToken);
        set => Volatile.Write(ref _captureToken, value);
    }

    public LiveSources Sources { get; }

    public ValidatedSettings Settings => _settings;

    public AllowListHolder AllowList => Engine.AllowList;

    public IReadOnlyList<FlowWorker> Workers => Engine.Workers;

    /// <summary>How long the warm-up before the first real packet took.</summary>
    public TimeSpan WarmupDuration { get; private set; }

    /// <summary>
    /// Opens the sources (one sentence when one cannot be opened), warms the packet path up with
    /// synthetic traffic on a scratch engine (the kernel buffers what arrives meanwhile), then starts
    /// every thread.
    /// </summary>
    public void Start()
    {
        Sources.Open(_settings.Sections.Sources, _settings.Decoder);
        // The warm-up's synthetic traffic is no one's to capture: its engine has no sessions.
        WarmupDuration = EngineWarmup.Run(_setup);
        Engine.Start();
        CaptureWriter.Start();
        Sources.Start();
    }

    /// <summary>Stops receiving, ends every flow as <c>shutdown</c> and flushes the sinks within <paramref name="timeout"/>; false when something did not finish in time.</summary>
    public bool Stop(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var finished = Sources.Stop(deadline);
        finished &= Engine.Finish(EndReason.Shutdown, deadline);

        // Packets already kept are written and every capture file closed whole.
        Captures.StopAll("the collector stopped");
        CaptureWriter.Dispose();
        return finished;
    }

    /// <summary>The first thread that died of an exception, if any (a bug: the host stops).</summary>
    public Exception? Failure => Sources.Failure ?? Engine.Failure ?? CaptureWriter.Failure;

    public void Dispose()
    {
        Sources.Dispose();
        Engine.Dispose();
    }
}
