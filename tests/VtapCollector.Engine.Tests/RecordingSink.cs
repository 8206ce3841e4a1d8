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

    public bool Write(in FlowRecord record, ReadOnlySpan<byte> encoded)
    {
        if (Refuse)
        {
            return false;
        }

        lock (_records)
        {
            _records.Add((record, Encoding.UTF8.GetString(encoded)));
        }

        return true;
    }

    public void Flush() => Flushes++;

    public void CollectMetrics(MetricSet metrics) => metrics.Counter("test_sink_records_total", "Records the test sink kept.", Records.Count, ("sink", Name));

    public void Dispose() => Disposed = true;
}
