using VtapCollector.Engine;
using VtapCollector.Export.Metrics;

namespace VtapCollector.Service.Metrics;

/// <summary>
/// Renders <c>/metrics</c>: asks every component for its own metrics at scrape time (the build and
/// process, the engine, each sink, configuration reloads) and writes them in the Prometheus text
/// format. The README's metrics table lists the same families; a test checks the two agree.
/// </summary>
internal sealed class CollectorMetrics(LiveCollector collector, ReloadCounters reloads)
{
    private readonly IMetricSource[] _sources = [new ProcessMetrics(), new EngineMetrics(collector.Engine), new Engine.Networks.NetworkMetrics(collector.Engine), new Engine.PacketCapture.CaptureMetrics(collector.Captures), .. collector.Engine.Sinks, reloads];

    public string Render()
    {
        var metrics = new MetricSet();
        foreach (var source in _sources)
        {
            source.CollectMetrics(metrics);
        }

        return metrics.Render();
    }
}

/// <summary>Configuration reloads, by result.</summary>
internal sealed class ReloadCounters : IMetricSource
{
    public long Succeeded;
    public long Failed;

    public void CollectMetrics(MetricSet metrics)
    {
        const string name = "vtap_config_reloads_total";
        const string help = "Configuration reloads (SIGHUP or a changed file), by result.";
        metrics.Counter(name, help, Volatile.Read(ref Succeeded), ("result", "success"));
        metrics.Counter(name, help, Volatile.Read(ref Failed), ("result", "failure"));
    }
}
