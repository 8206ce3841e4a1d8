using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using VtapCollector.Service.Metrics;

namespace VtapCollector.Service;

/// <summary>
/// Runs the <see cref="CollectorPipeline"/> inside the host: starts it (sources opened, or one clear
/// error), tells systemd it is ready once the metrics endpoint listens too, keeps the watchdog fed
/// while every thread makes progress, reports status and rising drops every few seconds, reloads the
/// allow-list and the networks on SIGHUP or a changed file, and on stop ends every flow and flushes the sinks.
/// </summary>
internal sealed class CollectorService : IHostedService, IDisposable
{
    private const int StatusIntervalSeconds = 10;

    /// <summary>A warning about the same kind of drop at most this often.</summary>
    private const long WarningIntervalMilliseconds = 60_000;

    private readonly LiveCollector _pipeline;
    private readonly IConfigurationRoot _configuration;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly SystemdNotifier _systemd;
    private readonly ReloadCounters _reloads;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, long> _lastWarning = [];
    private readonly Dictionary<string, long> _previous = [];
    private readonly HashSet<string> _unhealthySinks = [];
    private IDisposable? _reloadRegistration;
    private PosixSignalRegistration? _sighup;
    private Task _background = Task.CompletedTask;
    private volatile bool _started;
    private int _stopRequested;
    private string _startedWith = string.Empty;

    public CollectorService(
        LiveCollector pipeline,
        IConfigurationRoot configuration,
        IHostApplicationLifetime lifetime,
        SystemdNotifier systemd,
        ReloadCounters reloads,
        ILogger<CollectorService> logger)
    {
        _pipeline = pipeline;
        _configuration = configuration;
        _lifetime = lifetime;
        _systemd = systemd;
        _reloads = reloads;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _startedWith = WithoutReloadable(_configuration);
        _pipeline.Start();
        _started = true;
        var settings = _pipeline.Settings;
        var sources = DescribeSources();
        var sinks = string.Join(", ", _pipeline.Engine.Exporter!.Sinks.Select(s => s.Sink.Name));
        var capacity = _pipeline.Workers.Sum(w => (long)w.Table.Capacity);
        var memory = _pipeline.Workers.Sum(w => w.Table.MemoryBytes) / (1024 * 1024);
        Log.Started(_logger, sources, _pipeline.Workers.Count, capacity, memory, sinks, settings.MetricsListen.ToString());
        Log.WarmedUp(_logger, (long)_pipeline.WarmupDuration.TotalMilliseconds);
        if (settings.AllowList.AnySource)
        {
            Log.AllowListOpen(_logger, sources);
        }
        else
        {
            Log.AllowListInForce(_logger, settings.AllowList.Describe());
        }

        Log.NetworksInForce(_logger, settings.Networks.Describe());

        var udp = _pipeline.Sources.Receivers.Where(r => r.Counters.Source == "udp").Select(r => r.Counters.ReceiveBufferBytes).DefaultIfEmpty(long.MaxValue).Min();
        if (udp < settings.Sections.Sources.Udp.ReceiveBufferBytes)
        {
            Log.ReceiveBufferSmall(_logger, udp, settings.Sections.Sources.Udp.ReceiveBufferBytes);
        }

        _pipeline.CaptureWriter.StateChanged += (_, sentence) => Log.CaptureStateChanged(_logger, sentence);
        StartCaptures(settings.CaptureSessions ?? []);
        _reloadRegistration = ChangeToken.OnChange(_configuration.GetReloadToken, Reload);
        _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            // SIGHUP reloads instead of ending the process (its default action).
            context.Cancel = true;
            _configuration.Reload();
        });

        _lifetime.ApplicationStarted.Register(() =>
        {
            _systemd.Ready();
            _systemd.Status($"Collecting from {sources}");
        });
        _background = Task.Run(() => MonitorAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Called by the host, and again by the command after the host ends (for a stop that came
        // while the host was starting): only the first call after a start does the work.
        if (!_started || Interlocked.Exchange(ref _stopRequested, 1) == 1)
        {
            return;
        }

        _systemd.Stopping();
        _systemd.Status("Stopping: ending every flow and flushing the sinks");
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _background.ConfigureAwait(false);
        Log.Stopping(_logger, _pipeline.Workers.Sum(w => (long)w.Table.Count));
        var timeout = _pipeline.Settings.Sections.Pipeline.ShutdownTimeoutSeconds;
        var finished = await Task.Run(() => _pipeline.Stop(TimeSpan.FromSeconds(timeout)), CancellationToken.None).ConfigureAwait(false);
        if (finished)
        {
            Log.Stopped(_logger, _pipeline.Engine.Exporter?.Sinks.Sum(s => s.Updates + s.Ends) ?? 0);
        }
        else
        {
            Log.StopTimedOut(_logger, timeout);
            Environment.ExitCode = 1;
        }
    }

    public void Dispose()
    {
        _sighup?.Dispose();
        _reloadRegistration?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>The health endpoints' view: null when healthy, else why not.</summary>
    public string? Liveness()
    {
        if (_pipeline.Failure is not null)
        {
            return "a collector thread failed";
        }

        return StalledThread(TimeSpan.FromSeconds(10)) is { } stalled ? $"thread {stalled} has made no progress for 10 s" : null;
    }

    /// <summary>Null when ready for traffic (receiving, every sink healthy), else why not.</summary>
    public string? Readiness()
    {
        if (Liveness() is { } notAlive)
        {
            return notAlive;
        }

        if (_pipeline.Engine.Exporter is null)
        {
            return "starting";
        }

        foreach (var sink in _pipeline.Engine.Exporter.Sinks)
        {
            if (sink.Sink.GatesReadiness && !sink.Sink.IsHealthy)
            {
                return $"sink {sink.Sink.Name} cannot deliver";
            }
        }

        var maxIdle = _pipeline.Settings.Sections.Metrics.ReadyMaxIdleSeconds;
        if (maxIdle > 0)
        {
            var last = _pipeline.Workers.Max(w => Volatile.Read(ref w.Counters.LastPacketNanos));
            if (last == 0 || Engine.Workers.WallClock.NowNanos() - last > maxIdle * 1_000_000_000L)
            {
                return $"no packet received for {maxIdle} s";
            }
        }

        return null;
    }

    private string DescribeSources() =>
        string.Join(", ", _pipeline.Sources.UdpEndPoints.Select(e => $"udp {e}").Concat(
            _pipeline.Sources.Receivers.Where(r => r.Counters.Source is not ("udp" or "xdp")).Select(r => r.Counters.Source).Distinct()).Concat(_pipeline.Sources.Details))
        + $" ({_pipeline.Sources.Receivers.Count} receiving threads)";

    private string? StalledThread(TimeSpan limit)
    {
        var oldest = Environment.TickCount64 - (long)limit.TotalMilliseconds;
        foreach (var receiver in _pipeline.Sources.Receivers)
        {
            if (Volatile.Read(ref receiver.Counters.Heartbeat) < oldest)
            {
                return receiver.Name;
            }
        }

        foreach (var worker in _pipeline.Workers)
        {
            if (Volatile.Read(ref worker.Counters.Heartbeat) < oldest)
            {
                return worker.Name;
            }
        }

        return _pipeline.Engine.Exporter?.Stalled(oldest);
    }

    private async Task MonitorAsync(CancellationToken stopping)
    {
        var watchdog = _systemd.WatchdogInterval;
        var tick = watchdog is { } interval ? TimeSpan.FromTicks(Math.Min(interval.Ticks / 2, TimeSpan.TicksPerSecond)) : TimeSpan.FromSeconds(1);
        var nextStatus = Environment.TickCount64 + (StatusIntervalSeconds * 1000);
        using var timer = new PeriodicTimer(tick);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                if (_pipeline.Failure is { } failure)
                {
                    Log.ThreadFailed(_logger, failure);
                    Environment.ExitCode = 1;
                    _lifetime.StopApplication();
                    return;
                }

                // Keep-alives only while every thread turns its loop: a wedged thread gets us restarted.
                if (watchdog is { } limit && StalledThread(limit) is null)
                {
                    _systemd.Watchdog();
                }

                if (Environment.TickCount64 >= nextStatus)
                {
                    nextStatus += StatusIntervalSeconds * 1000;
                    ReportStatus();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void ReportStatus()
    {
        var receivers = _pipeline.Sources.Receivers;
        var packets = Delta("packets", receivers.Sum(r => Volatile.Read(ref r.Counters.Packets)));
        var kernelDrops = Delta("kernel", receivers.Sum(r => Volatile.Read(ref r.Counters.KernelDrops)));
        var dispatchDrops = Delta("dispatch", receivers.Sum(r => Volatile.Read(ref r.Counters.DispatchDropped)));
        var queueDrops = Delta("records", _pipeline.Workers.Sum(w => Volatile.Read(ref w.Counters.RecordQueueDropped)));
        var sinkDrops = Delta("sinks", _pipeline.Engine.Exporter?.Sinks.Sum(s => Volatile.Read(ref s.Dropped)) ?? 0);
        var flows = _pipeline.Workers.Sum(w => (long)w.Table.Count);
        _systemd.Status(string.Create(CultureInfo.InvariantCulture,
            $"{packets / StatusIntervalSeconds} packets/s, {flows} active flows, drops in {StatusIntervalSeconds} s: kernel {kernelDrops}, dispatch {dispatchDrops}, records {queueDrops + sinkDrops}"));

        if (kernelDrops > 0 && MayWarn("kernel"))
        {
            Log.KernelDrops(_logger, kernelDrops, StatusIntervalSeconds);
        }

        if (dispatchDrops > 0 && MayWarn("dispatch"))
        {
            Log.DispatchDropped(_logger, dispatchDrops, StatusIntervalSeconds);
        }

        if (queueDrops > 0 && MayWarn("records"))
        {
            Log.RecordsDropped(_logger, queueDrops, StatusIntervalSeconds, "the exporter's queue was full");
        }

        if (sinkDrops > 0 && MayWarn("sinks"))
        {
            Log.RecordsDropped(_logger, sinkDrops, StatusIntervalSeconds, "a sink could not accept them");
        }

        foreach (var sink in _pipeline.Engine.Exporter?.Sinks ?? [])
        {
            var name = sink.Sink.Name;
            if (!sink.Sink.IsHealthy && _unhealthySinks.Add(name))
            {
                Log.SinkUnhealthy(_logger, name);
            }
            else if (sink.Sink.IsHealthy && _unhealthySinks.Remove(name))
            {
                Log.SinkRecovered(_logger, name);
            }
        }
    }

    private long Delta(string key, long total)
    {
        var delta = total - _previous.GetValueOrDefault(key);
        _previous[key] = total;
        return delta;
    }

    private bool MayWarn(string key)
    {
        var now = Environment.TickCount64;
        if (_lastWarning.TryGetValue(key, out var last) && now - last < WarningIntervalMilliseconds)
        {
            return false;
        }

        _lastWarning[key] = now;
        return true;
    }

    private void Reload()
    {
        var settings = SettingsLoader.TryLoad(_configuration, out var error);
        if (settings is null)
        {
            Interlocked.Increment(ref _reloads.Failed);
            Log.ReloadRejected(_logger, error!);
            return;
        }

        // A whole valid configuration or nothing: a bad network entry was rejected above, and the
        // previous allow-list and networks stay in force.
        _pipeline.AllowList.Current = settings.AllowList;
        _pipeline.Engine.SetNetworks(settings.Networks);
        _pipeline.CaptureToken = settings.CaptureToken;
        StartCaptures(settings.CaptureSessions ?? []);
        Interlocked.Increment(ref _reloads.Succeeded);
        Log.Reloaded(_logger, settings.AllowList.Describe(), settings.Networks.Describe());
        var current = WithoutReloadable(_configuration);
        if (current != _startedWith)
        {
            Log.ReloadNeedsRestart(_logger);
        }
    }

    /// <summary>Makes the configured capture sessions those of the configuration, saying what started, stopped or could not start.</summary>
    private void StartCaptures(IReadOnlyList<Engine.PacketCapture.CaptureSpec> configured)
    {
        var before = _pipeline.Captures.All().Where(s => s.IsActive).ToHashSet();
        foreach (var problem in _pipeline.Captures.Reconcile(configured))
        {
            Log.CaptureNotStarted(_logger, problem);
        }

        foreach (var session in _pipeline.Captures.All())
        {
            if (session.IsActive && !before.Contains(session))
            {
                Log.CaptureStarted(_logger, session.Name, session.Filter.ToString() is { Length: > 0 } filter ? filter : "every packet", session.Directory);
            }
            else if (!session.IsActive && before.Contains(session))
            {
                Log.CaptureStopped(_logger, session.Name, session.Reason ?? "stopped");
            }
        }
    }

    /// <summary>The capture keys a reload applies: the configured sessions and the API token (the folder and the session bound need a restart).</summary>
    private static bool IsReloadableCaptureKey(string key) =>
        key.StartsWith("Capture:Sessions", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("Capture:Token", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every configuration value except the reloadable ones (allow-list, networks, capture sessions and token), as sorted key=value lines: what a reload cannot change in place.</summary>
    private static string WithoutReloadable(IConfiguration configuration) =>
        string.Join('\n', configuration.AsEnumerable()
            .Where(entry => entry.Value is not null
                && !entry.Key.StartsWith("AllowList", StringComparison.OrdinalIgnoreCase)
                && !entry.Key.StartsWith("Networks", StringComparison.OrdinalIgnoreCase)
                && !IsReloadableCaptureKey(entry.Key))
            .Select(entry => $"{entry.Key.ToUpperInvariant()}={entry.Value}")
            .Order(StringComparer.Ordinal));
}
