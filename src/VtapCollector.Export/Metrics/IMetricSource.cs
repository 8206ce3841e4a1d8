namespace VtapCollector.Export.Metrics;

/// <summary>
/// A component that reports its own metrics (a sink, a source, a stage of the engine). The
/// <c>/metrics</c> endpoint asks every source at scrape time; nothing here runs on the packet path.
/// </summary>
public interface IMetricSource
{
    /// <summary>Adds the component's current values to <paramref name="metrics"/>. Called from the scrape's thread: read counters with <see cref="Volatile"/> or under the component's own lock.</summary>
    void CollectMetrics(MetricSet metrics);
}
