using VtapCollector.Export.Metrics;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>Per-session capture metrics, read at scrape time from each session's counters (sessions still listed by the API).</summary>
internal sealed class CaptureMetrics(CaptureSessions sessions) : IMetricSource
{
    public void CollectMetrics(MetricSet m)
    {
        const string packets = "vtap_capture_packets_total";
        const string bytes = "vtap_capture_bytes_total";
        const string dropped = "vtap_capture_dropped_packets_total";
        const string active = "vtap_capture_active";
        m.Declare(packets, MetricType.Counter, "Packets a capture session wrote to its files.");
        m.Declare(bytes, MetricType.Counter, "Packet bytes a capture session wrote to its files (after its snap length).");
        m.Declare(dropped, MetricType.Counter, "Packets a capture session matched but could not write: its queue was full (the writer behind), its disk was, or their inner frame was not found.");
        m.Declare(active, MetricType.Gauge, "1 while a capture session is running, 0 while it is paused by a full disk or has ended.");
        foreach (var session in sessions.All())
        {
            m.Counter(packets, "", session.Packets, ("session", session.Name));
            m.Counter(bytes, "", session.Bytes, ("session", session.Name));
            m.Counter(dropped, "", session.Dropped, ("session", session.Name));
            m.Gauge(active, "", session.State == CaptureState.Running ? 1 : 0, ("session", session.Name));
        }
    }
}
