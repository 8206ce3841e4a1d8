using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Networks;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Workers;

/// <summary>
/// One flow worker: a dedicated thread that owns one <see cref="FlowTable"/> (no locks), drains the
/// queues the receivers fill for it in batches (so the table can prefetch), expires flows (once a
/// second of wall time live, at each tick of packet time in a replay), and queues the records for the
/// exporter. When told to finish it drains what the receivers left, ends every flow with the reason it
/// was given (<see cref="EndReason.Shutdown"/> live, <see cref="EndReason.EndOfInput"/> in a replay)
/// and says it is done.
/// </summary>
internal sealed class FlowWorker : IFlowRecordWriter
{
    private const int BatchSize = 32;
    private const long ExpiryIntervalNanos = 1_000_000_000L;

    private readonly SpscQueue<QueuedPacket>[] _inputs;
    private readonly SpscQueue<FlowRecord>[] _recordLanes;
    private readonly OverflowPolicy _recordOverflow;
    private readonly StopSignal _stop;
    private readonly EngineClock _clock;
    private readonly NetworkRoutingHolder _networks;
    private readonly DecodedPacket[] _batch = new DecodedPacket[BatchSize];
    private readonly long[] _times = new long[BatchSize];
    private readonly DecodeStatus[] _statuses = new DecodeStatus[BatchSize];
    private readonly Thread _thread;
    private readonly LabelIndex<IpAddress> _tunnelSources;
    private int _batchCount;
    private volatile bool _receiversStopped;
    private volatile bool _done;
    private EndReason _endReason = EndReason.Shutdown;

    public FlowWorker(
        int index,
        FlowTableOptions options,
        SpscQueue<QueuedPacket>[] inputs,
        int recordQueueCapacity,
        OverflowPolicy recordOverflow,
        StopSignal stop,
        EngineClock clock,
        NetworkRoutingHolder networks,
        NetworkCounters networkCounters,
        DuplicateFilter? dedup = null,
        LabelIndex<IpAddress>? tunnelSources = null,
        int exportLanes = 1)
    {
        _networks = networks;
        NetworkCounters = networkCounters;
        Dedup = dedup;
        _tunnelSources = tunnelSources ?? new LabelIndex<IpAddress>(0);
        Counters = new WorkerCounters(_tunnelSources.Limit);
        Index = index;
        _inputs = inputs;
        // The record queue's memory is shared out among the lanes.
        var laneCapacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(64, recordQueueCapacity / Math.Max(1, exportLanes)));
        _recordLanes = new SpscQueue<FlowRecord>[Math.Max(1, exportLanes)];
        for (var lane = 0; lane < _recordLanes.Length; lane++)
        {
            _recordLanes[lane] = new SpscQueue<FlowRecord>(laneCapacity);
        }

        _recordOverflow = recordOverflow;
        _stop = stop;
        _clock = clock;
        Table = new FlowTable(options, this);
        _thread = new Thread(Run) { Name = $"vtap-flows-{index}", IsBackground = true };
    }

    public int Index { get; }

    /// <summary>The thread's name, as the watchdog reports it.</summary>
    public string Name => _thread.Name!;

    /// <summary>Read by the metrics scrape only (counts written by this worker's thread).</summary>
    public FlowTable Table { get; }

    public WorkerCounters Counters { get; }

    /// <summary>This worker's double-tap filter, or null with deduplication off; its counts are read by the metrics scrape.</summary>
    public DuplicateFilter? Dedup { get; }

    /// <summary>Traffic by network pair and direction, from this worker's records (read by the scrape).</summary>
    public NetworkCounters NetworkCounters { get; }

    /// <summary>
    /// Records for the exporter, one queue per export lane (this worker produces, the lane's thread
    /// consumes). A flow's records always take the same lane, so they stay in order.
    /// </summary>
    public IReadOnlyList<SpscQueue<FlowRecord>> RecordLanes => _recordLanes;

    /// <summary>The queues this worker reads, one per receiver.</summary>
    public IReadOnlyList<SpscQueue<QueuedPacket>> Inputs => _inputs;

    /// <summary>True once every flow has been ended and queued after the receivers stopped.</summary>
    public bool IsDone => _done;

    /// <summary>The thread ended with an exception (a bug): the collector stops.</summary>
    public Exception? Failure { get; private set; }

    public void Start() => _thread.Start();

    /// <summary>The receivers have stopped: drain, end every flow with <paramref name="reason"/>, finish.</summary>
    public void BeginDrain(EndReason reason)
    {
        _endReason = reason;
        _receiversStopped = true;
    }

    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    /// <summary>
    /// Queues one record for the exporter; called by the flow table on this thread. With networks
    /// configured the record is classified first (two lookups, per record, never per packet) and
    /// counted by network pair, whether or not the exporter's queue then has room for it.
    /// </summary>
    public void Write(in FlowRecord record)
    {
        var routing = _networks.Current;
        if (routing.Map.IsEmpty)
        {
            Enqueue(record);
            return;
        }

        var classified = routing.Map.Classify(record);
        NetworkCounters.Add(classified, routing.LabelOf(classified.SourceNetwork), routing.LabelOf(classified.DestinationNetwork));
        Enqueue(classified);
    }

    private void Enqueue(in FlowRecord record)
    {
        var records = _recordLanes.Length == 1 ? _recordLanes[0] : _recordLanes[(int)(record.FlowId % (ulong)_recordLanes.Length)];
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
            var nextExpiry = WallClock.NowNanos() + ExpiryIntervalNanos;
            while (true)
            {
                var drainedAll = _receiversStopped;
                var handled = 0;
                foreach (var input in _inputs)
                {
                    handled += Drain(input);
                }

                Volatile.Write(ref Counters.Heartbeat, Environment.TickCount64);
                if (_clock == EngineClock.Wall)
                {
                    var now = WallClock.NowNanos();
                    if (now >= nextExpiry)
                    {
                        Table.Expire(now);
                        nextExpiry = now + ExpiryIntervalNanos;
                    }
                }

                if (handled > 0)
                {
                    continue;
                }

                // The receivers had stopped before this pass found every queue empty: finish.
                if (drainedAll)
                {
                    break;
                }

                // Queues empty: nap. Spinning cost CPU per datagram live and gained nothing; in a replay
                // the yields took the core from the mapping thread and the export lanes, while a
                // millisecond's nap leaves the reading thread room to queue about 10 000 packets (of
                // 65 536) for one larger, better-prefetched drain: 5-million-packet replay, 7 alternating
                // rounds, 0.662 s yielding 64 times before the nap, 0.648 s yielding once (one worker);
                // 0.727 s and 0.681 s with two.
                Thread.Sleep(1);
            }

            Table.FlushAll(_endReason);
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

    /// <summary>How many queued packets ahead the worker brings a slot into its cache.</summary>
    private const int SlotPrefetchDistance = 8;

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
                break;
            }

            var count = Math.Min(available, MaxPerTurn - total);
            for (var i = 0; i < count; i++)
            {
                if (i + SlotPrefetchDistance < count)
                {
                    // The slot was last written on the ingress's core: start its transfer early.
                    input.PrefetchSlot(first + i, SlotPrefetchDistance);
                }

                ref var item = ref input[input.Next(first, i)];
                if (item.IsTick)
                {
                    // Every packet before the tick counts before the flows are expired at its time.
                    UpdateBatch();
                    Table.Expire(item.TimestampNanos);
                    continue;
                }

                _batch[_batchCount] = item.Packet;
                _times[_batchCount++] = item.TimestampNanos;
                if (_batchCount == BatchSize)
                {
                    UpdateBatch();
                }
            }

            input.Release(count);
            total += count;
        }

        UpdateBatch();
        return total;
    }

    private void UpdateBatch()
    {
        var count = _batchCount;
        if (count == 0)
        {
            return;
        }

        _batchCount = 0;
        if (Dedup is { } dedup)
        {
            RemoveCopies(dedup, count);
        }

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

        if (_clock == EngineClock.Wall)
        {
            Volatile.Write(ref Counters.LagNanos, WallClock.NowNanos() - newest);
        }
    }

    /// <summary>
    /// Marks the batch's packets that are another tap's view of a packet already counted, in arrival
    /// order, before the flow table sees them; the table then counts them as removed copies only.
    /// </summary>
    /// <remarks>
    /// The VNI (the group's, after <c>Dedup:VniGroups</c>) is part of what must match: copies under
    /// two VNIs that are not grouped stay two flows, as without deduplication, instead of one VNI's
    /// flow losing its packets to the other's. It also keeps the result independent of the worker
    /// count, since the worker is chosen by VNI too.
    /// </remarks>
    private void RemoveCopies(DuplicateFilter dedup, int count)
    {
        for (var i = 0; i < count; i++)
        {
            ref var packet = ref _batch[i];
            var source = packet.TunnelSource;
            var hash = LabelHash.Of(source);
            if (dedup.IsDuplicate(DuplicateFilter.Key(packet.Signature, packet.Vni), (uint)hash, _times[i]))
            {
                packet.Flags |= PacketFlags.DuplicateCopy;
                Counters.Duplicates[_tunnelSources.IndexOf(source, hash)]++;
            }
        }
    }
}
