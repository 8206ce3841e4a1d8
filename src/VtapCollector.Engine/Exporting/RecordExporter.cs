using VtapCollector.Engine.Workers;
using VtapCollector.Export.Formats;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Exporting;

/// <summary>Records one sink took or refused, by the exporter's thread; read by the scrape.</summary>
internal sealed class SinkCounters(IRecordSink sink)
{
    public IRecordSink Sink { get; } = sink;
    public long Updates;
    public long Ends;
    public long Dropped;
}

/// <summary>
/// The exporter thread: takes records from every worker's queue, encodes each once per format the
/// sinks carry (off the packet path), and hands every sink the bytes of its format. A flow's records
/// come from one worker's queue, in order; records of different workers interleave as they arrive. Sinks are flushed once a second, and at the
/// end, after the workers have queued their last (shutdown) records.
/// </summary>
internal sealed class RecordExporter
{
    private const long FlushIntervalMilliseconds = 1000;

    private readonly FlowWorker[] _workers;
    private readonly FormatBuffer[] _formats;
    private readonly Thread _thread;
    private volatile bool _done;

    public RecordExporter(FlowWorker[] workers, IReadOnlyList<IRecordSink> sinks)
    {
        _workers = workers;
        Sinks = sinks.Select(s => new SinkCounters(s)).ToArray();

        // One encoding per format in use, however many sinks carry it.
        _formats = sinks.GroupBy(s => s.Encoder.Name, StringComparer.Ordinal)
            .Select(g => new FormatBuffer(g.First().Encoder, Sinks.Where(c => c.Sink.Encoder.Name == g.Key).ToArray()))
            .ToArray();
        _thread = new Thread(Run) { Name = "vtap-exporter", IsBackground = true };
    }

    public SinkCounters[] Sinks { get; }

    public long Heartbeat = Environment.TickCount64;

    /// <summary>True once every worker finished and its last record reached the sinks.</summary>
    public bool IsDone => _done;

    public Exception? Failure { get; private set; }

    public void Start() => _thread.Start();

    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    private void Run()
    {
        try
        {
            var lastFlush = Environment.TickCount64;
            var unflushed = false;
            while (true)
            {
                var allDone = true;
                foreach (var worker in _workers)
                {
                    allDone &= worker.IsDone;
                }

                var exported = 0;
                foreach (var worker in _workers)
                {
                    exported += Drain(worker.Records);
                }

                unflushed |= exported > 0;
                var now = Environment.TickCount64;
                Volatile.Write(ref Heartbeat, now);
                if (unflushed && now - lastFlush >= FlushIntervalMilliseconds)
                {
                    FlushSinks();
                    lastFlush = now;
                    unflushed = false;
                }

                if (exported == 0)
                {
                    // Every worker had finished before this pass emptied their queues: nothing more can come.
                    if (allDone)
                    {
                        break;
                    }

                    Thread.Sleep(2);
                }
            }

            FlushSinks();
        }
        catch (Exception error)
        {
            Failure = error;
        }
        finally
        {
            _done = true;
        }
    }

    private int Drain(SpscQueue<FlowRecord> records)
    {
        var available = records.Available(out var first);
        for (var i = 0; i < available; i++)
        {
            ref readonly var record = ref records[records.Next(first, i)];
            foreach (var format in _formats)
            {
                var length = format.Encoder.Encode(record, format.Buffer);
                ReadOnlySpan<byte> encoded = format.Buffer.AsSpan(0, length);
                foreach (var sink in format.Sinks)
                {
                    if (!sink.Sink.Write(record, encoded))
                    {
                        sink.Dropped++;
                    }
                    else if (record.Type == FlowRecordType.End)
                    {
                        sink.Ends++;
                    }
                    else
                    {
                        sink.Updates++;
                    }
                }
            }
        }

        if (available > 0)
        {
            records.Release(available);
        }

        return available;
    }

    private void FlushSinks()
    {
        foreach (var sink in Sinks)
        {
            sink.Sink.Flush();
        }
    }
}

/// <summary>One format in use: its encoder, the buffer a record is encoded into, and the sinks that carry it.</summary>
internal sealed class FormatBuffer(IRecordEncoder encoder, SinkCounters[] sinks)
{
    public IRecordEncoder Encoder { get; } = encoder;
    public byte[] Buffer { get; } = new byte[encoder.MaxRecordLength];
    public SinkCounters[] Sinks { get; } = sinks;
}
