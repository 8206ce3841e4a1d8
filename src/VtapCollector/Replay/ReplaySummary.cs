using System.Globalization;
using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;

namespace VtapCollector.Replay;

/// <summary>The end-of-replay summary: what came in, what was decoded, each reason, what went out.</summary>
internal static class ReplaySummary
{
    public static string Format(string input, CaptureReader reader, FlowEngine engine, TimeSpan elapsed)
    {
        var c = CultureInfo.InvariantCulture;
        var ingress = engine.Ingresses[0].Counters;
        var workers = engine.Workers;
        var rejected = new long[RejectReason.Count];
        for (var reason = 1; reason < RejectReason.Count; reason++)
        {
            rejected[reason] = ingress.Rejected[reason] + workers.Sum(w => w.Counters.Rejected[reason]);
        }

        var decoded = workers.Sum(w => w.Counters.Packets) - workers.Sum(w => w.Counters.Rejected[(int)DecodeStatus.FragmentWithoutFirst]);
        var text = new System.Text.StringBuilder();
        text.Append(c, $"replay of {input}{Environment.NewLine}");
        text.Append(c, $"  packets      {reader.Packets,12:N0}   ({reader.CapturedBytes:N0} bytes captured){Environment.NewLine}");
        text.Append(c, $"  decoded      {decoded,12:N0}{Environment.NewLine}");
        for (var reason = 1; reason < RejectReason.Count; reason++)
        {
            if (rejected[reason] != 0)
            {
                text.Append(c, $"  {RejectReason.Label(reason),-28} {rejected[reason],12:N0}{Environment.NewLine}");
            }
        }

        if (ingress.TruncatedCopies > 0)
        {
            text.Append(c, $"  truncated copies (counted by IP length) {ingress.TruncatedCopies,12:N0}{Environment.NewLine}");
        }

        if (engine.Dedup is not null)
        {
            var removed = workers.Sum(w => w.Counters.Duplicates.Sum());
            var late = workers.Sum(w => w.Dedup?.LateCopies ?? 0);
            var overwritten = workers.Sum(w => w.Dedup?.Overwritten ?? 0);
            text.Append(c, $"  copies removed {removed,10:N0}   (another tap's view; late copies {late:N0}, overwritten {overwritten:N0}){Environment.NewLine}");
        }

        var created = workers.Sum(w => w.Table.FlowsCreated);
        var peak = workers.Sum(w => (long)w.Table.PeakCount);
        var evicted = workers.Sum(w => w.Table.Evictions);
        var capacity = workers.Sum(w => (long)w.Table.Capacity);
        var memory = workers.Sum(w => w.Table.MemoryBytes);
        text.Append(c, $"  flows        {created,12:N0}   (peak active {peak:N0}, evicted {evicted:N0}){Environment.NewLine}");
        text.Append(c, $"  flow table   {capacity,12:N0} flows capacity, {memory / (1024.0 * 1024.0):N0} MiB ({memory / Math.Max(1, capacity)} bytes per flow), {workers.Count} workers{Environment.NewLine}");
        var sink = engine.Exporter!.Sinks[0];
        text.Append(c, $"  records      {sink.Updates + sink.Ends,12:N0}   (update {sink.Updates:N0}, end {sink.Ends:N0}){Environment.NewLine}");
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        text.Append(c, $"  elapsed      {elapsed.TotalSeconds,12:F3} s ({reader.Packets / seconds:N0} packets/s){Environment.NewLine}");
        return text.ToString();
    }
}
