using System.Text;
using VtapCollector.Export.Formats;
using VtapCollector.Export.Metrics;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Tests;

/// <summary>A sink that keeps every record and its encoded bytes, and can be told to refuse records (a failing destination).</summary>
internal sealed class RecordingSink(string name = "memory", IRecordEncoder? encoder = null) : IRecordSink
{
    private readonly List<(FlowRecord Record, string Encoded)> _records = [];

    public string Name { get; } = name;

    public IRecordEncoder Encoder { get; } = encoder ?? new VtapJsonEncoder();

    public bool IsHealthy => !Refuse;

    /// <summary>While true, Write refuses every record.</summary>
    public volatile bool Refuse;

    public int Flushes { get; private set; }

    public bool Disposed { get; private set; }

    public IReadOnlyList<(FlowRecord Record, string Encoded)> Records
    {
        get
        {
            lock (_records)
            {
                return [.. _records];
            }
        }
    }

    /// <summary>Times a Write or Flush began while another was still running: the exporter promises none.</summary>
    public int Overlaps => Volatile.Read(ref _overlaps);

    private int _inside;
    private int _overlaps;

    public bool Write(in FlowRecord record, ReadOnlySpan<byte> encoded)
    {
        if (Refuse)
        {
            return false;
        }

        if (Interlocked.Exchange(ref _inside, 1) != 0)
        {
            Interlocked.Increment(ref _overlaps);
        }

        lock (_records)
        {
            _records.Add((record, Encoding.UTF8.GetString(encoded)));
        }

        // Long enough for a second lane to arrive while this write is still in progress.
        Thread.SpinWait(20);
        Volatile.Write(ref _inside, 0);
        return true;
    }

    public void Flush() => Flushes++;

    public void CollectMetrics(MetricSet metrics) => metrics.Counter("test_sink_records_total", "Records the test sink kept.", Records.Count, ("sink", Name));

    public void Dispose() => Disposed = true;
}
