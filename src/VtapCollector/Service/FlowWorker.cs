using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Service;

/// <summary>
/// One flow worker: a dedicated thread that owns one <see cref="FlowTable"/> (no locks), drains the
/// queues the receivers fill for it in batches (so the table can prefetch), expires flows once a
/// second of wall time, and queues the records for the exporter. At shutdown it drains what the
/// receivers left, ends every flow with <see cref="EndReason.Shutdown"/> and says it is done.
/// </summary>
internal sealed class FlowWorker : IFlowRecordWriter
{
    private const int BatchSize = 32;
    private const long ExpiryIntervalNanos = 1_000_000_000L;

    private readonly SpscQueue<QueuedPacket>[] _inputs;
    private readonly SpscQueue<FlowRecord> _records;
    private readonly OverflowPolicy _recordOverflow;
    private readonly StopSignal _stop;
    private readonly DecodedPacket[] _batch = new DecodedPacket[BatchSize];
    private readonly long[] _times = new long[BatchSize];
    private readonly DecodeStatus[] _statuses = new DecodeStatus[BatchSize];
    private readonly Thread _thread;
    private volatile bool _receiversStopped;
    private volatile bool _done;

    public FlowWorker(int index, FlowTableOptions options, SpscQueue<QueuedPacket>[] inputs, int recordQueueCapacity, OverflowPolicy recordOverflow, StopSignal stop)
    {
        Index = index;
        _inputs = inputs;
        _records = new SpscQueue<FlowRecord>(recordQueueCapacity);
        _recordOverflow = recordOverflow;
        _stop = stop;
        Table = new FlowTable(options, this);
        _thread = new Thread(Run) { Name = $"vtap-flows-{index}", IsBackground = true };
    }

    public int Index { get; }

    /// <summary>Read by the metrics scrape only (counts written by this worker's thread).</summary>
    public FlowTable Table { get; }

    public WorkerCounters Counters { get; } = new();

    /// <summary>Records for the exporter (this worker produces, the exporter consumes).</summary>
    public SpscQueue<FlowRecord> Records => _records;

    /// <summary>The queues this worker reads, one per receiver.</summary>
    public IReadOnlyList<SpscQueue<QueuedPacket>> Inputs => _inputs;

    /// <summary>True once every flow has been ended and queued after the receivers stopped.</summary>
    public bool IsDone => _done;

    /// <summary>The thread ended with an exception (a bug): the collector stops.</summary>
    public Exception? Failure { get; private set; }

    public void Start() => _thread.Start();

    /// <summary>The receivers have stopped: drain, end every flow, finish.</summary>
    public void BeginDrain() => _receiversStopped = true;

    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    /// <summary>Queues one record for the exporter; called by the flow table on this thread.</summary>
    public void Write(in FlowRecord record)
    {
        var records = _records;
        int slot;
        var waited = 0;
        while (!records.TryClaim(out slot))
        {
            // At shutdown the exporter keeps draining; only a wedged sink could keep us here.
            if (_recordOverflow == OverflowPolicy.DropNewest || (_stop.IsStopping && waited > 10_000))
            {
                Counters.RecordQueueDropped++;
                return;
            }

            waited++;
            Thread.Sleep(waited < 100 ? 0 : 1);
        }

        records[slot] = record;
        records.Publish();
    }

    private void Run()
    {
        try
        {
            var nextExpiry = Clock.NowNanos() + ExpiryIntervalNanos;
            while (true)
            {
                var drainedAll = _receiversStopped;
                var handled = 0;
                foreach (var input in _inputs)
                {
                    handled += Drain(input);
                }

                var now = Clock.NowNanos();
                Volatile.Write(ref Counters.Heartbeat, Environment.TickCount64);
                if (now >= nextExpiry)
                {
                    Table.Expire(now);
                    nextExpiry = now + ExpiryIntervalNanos;
                }

                if (handled == 0)
                {
                    // The receivers had stopped before this pass found every queue empty: finish.
                    if (drainedAll)
                    {
                        break;
                    }

                    Thread.Sleep(1);
                }
            }

            Table.FlushAll(EndReason.Shutdown);
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

    private int Drain(SpscQueue<QueuedPacket> input)
    {
        // Bounded, so a queue that never empties still lets the other queues and expiry have turns.
        const int MaxPerTurn = 4096;
        var total = 0;
        while (total < MaxPerTurn)
        {
            var available = input.Available(out var first);
            if (available == 0)
            {
                return total;
            }

            var count = Math.Min(available, BatchSize);
            for (var i = 0; i < count; i++)
            {
                ref var item = ref input[input.Next(first, i)];
                _batch[i] = item.Packet;
                _times[i] = item.TimestampNanos;
            }

            input.Release(count);
            Table.UpdateBatch(_batch.AsSpan(0, count), _times.AsSpan(0, count), _statuses);
            for (var i = 0; i < count; i++)
            {
                if (_statuses[i] != DecodeStatus.Ok)
                {
                    Counters.Rejected[(int)_statuses[i]]++;
                }
            }

            var newest = _times[count - 1];
            Counters.Packets += count;
            if (newest > Counters.LastPacketNanos)
            {
                Volatile.Write(ref Counters.LastPacketNanos, newest);
            }

            Volatile.Write(ref Counters.LagNanos, Clock.NowNanos() - newest);
            total += count;
        }

        return total;
    }
}

/// <summary>Wall-clock time in ns since the Unix epoch, comparable with kernel receive timestamps.</summary>
internal static class Clock
{
    public static long NowNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
