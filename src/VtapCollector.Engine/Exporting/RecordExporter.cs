using VtapCollector.Engine.Workers;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Exporting;

/// <summary>Records one sink took or refused, by the export lanes; read by the scrape.</summary>
internal sealed class SinkCounters(IRecordSink sink)
{
    public IRecordSink Sink { get; } = sink;

    /// <summary>Serialises the lanes' writes and flushes: a sink sees one caller at a time.</summary>
    public Lock Gate { get; } = new();

    public long Updates;
    public long Ends;
    public long Dropped;
}

/// <summary>
/// The exporter: one or more lanes (<see cref="ExportLane"/>), each a thread that takes records from
/// its queue of every worker, encodes them once per format the sinks carry (off the packet path)
/// and hands every sink the bytes of its format. A flow's records always travel one worker's queue
/// of one lane, in order; records of different flows interleave as they arrive. With two lanes the
/// end of a replay, when every flow ends at once, is encoded on two cores.
/// </summary>
internal sealed class RecordExporter
{
    private readonly ExportLane[] _lanes;

    public RecordExporter(FlowWorker[] workers, IReadOnlyList<IRecordSink> sinks)
    {
        Sinks = sinks.Select(s => new SinkCounters(s)).ToArray();
        var laneCount = workers.Length == 0 ? 1 : workers[0].RecordLanes.Count;
        _lanes = new ExportLane[laneCount];
        for (var lane = 0; lane < laneCount; lane++)
        {
            var queues = workers.Select(w => w.RecordLanes[lane]).ToArray();
            _lanes[lane] = new ExportLane(lane == 0 ? "vtap-exporter" : $"vtap-exporter-{lane}", workers, queues, Sinks);
        }
    }

    public SinkCounters[] Sinks { get; }

    /// <summary>The number of export threads.</summary>
    public int LaneCount => _lanes.Length;

    /// <summary>True once every lane has exported the workers' last records and flushed the sinks.</summary>
    public bool IsDone => _lanes.All(l => l.IsDone);

    public Exception? Failure => _lanes.Select(l => l.Failure).FirstOrDefault(f => f is not null);

    /// <summary>The name of a lane whose loop has not turned since <paramref name="oldest"/> (TickCount64), or null.</summary>
    public string? Stalled(long oldest) => _lanes.FirstOrDefault(l => Volatile.Read(ref l.Heartbeat) < oldest)?.Name;

    public void Start()
    {
        foreach (var lane in _lanes)
        {
            lane.Start();
        }
    }

    public bool Join(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            foreach (var lane in _lanes)
            {
                lane.Join(Timeout.InfiniteTimeSpan);
            }

            return true;
        }

        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var joined = true;
        foreach (var lane in _lanes)
        {
            joined &= lane.Join(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)));
        }

        return joined;
    }
}
