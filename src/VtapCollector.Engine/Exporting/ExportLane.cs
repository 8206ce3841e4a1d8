using VtapCollector.Decoding;
using VtapCollector.Engine.Workers;
using VtapCollector.Export.Formats;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Exporting;

/// <summary>
/// One export thread: drains its record queue of every worker in batches, encodes a batch once per
/// format with no lock held, then writes it to each sink of that format under the sink's gate, so
/// lanes encode in parallel and only the writes take turns. Sinks are flushed once a second and when
/// the lane ends, after the workers have queued their last (shutdown) records.
/// </summary>
internal sealed class ExportLane
{
    private const long FlushIntervalMilliseconds = 1000;

    /// <summary>Records encoded before the sinks' gates are taken: the lock is taken once per batch, not per record.</summary>
    private const int BatchRecords = 32;

    private readonly FlowWorker[] _workers;
    private readonly SpscQueue<FlowRecord>[] _queues;
    private readonly SinkCounters[] _sinks;
    private readonly FormatBatch[] _formats;
    private readonly Thread _thread;
    private volatile bool _done;

    public ExportLane(string name, FlowWorker[] workers, SpscQueue<FlowRecord>[] queues, SinkCounters[] sinks)
    {
        _workers = workers;
        _queues = queues;
        _sinks = sinks;

        // One encoding per format in use, however many sinks carry it.
        _formats = sinks.GroupBy(s => s.Sink.Encoder.Name, StringComparer.Ordinal)
            .Select(g => new FormatBatch(g.First().Sink.Encoder, g.ToArray()))
            .ToArray();
        _thread = new Thread(Run) { Name = name, IsBackground = true };
    }

    public string Name => _thread.Name!;

    /// <summary>TickCount64 of the loop's last turn, for the watchdog.</summary>
    public long Heartbeat = Environment.TickCount64;

    public bool IsDone => _done;

    public Exception? Failure { get; private set; }

    public void Start() => _thread.Start();

    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    private void Run()
    {
        try
        {
            // Each format encodes a sample once, into its own buffer, before any record comes: what
            // the first record would otherwise start (type initialisers, the few generic methods the
            // ahead-of-time code lacks) then happens while the lane waits, not in a replay's
            // end-of-input flush, when every lane is busy.
            foreach (var format in _formats)
            {
                format.Warm();
            }

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
                foreach (var queue in _queues)
                {
                    exported += Drain(queue);
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
        for (var start = 0; start < available; start += BatchRecords)
        {
            var count = Math.Min(BatchRecords, available - start);
            foreach (var format in _formats)
            {
                format.Encode(records, first, start, count);
                foreach (var sink in format.Sinks)
                {
                    lock (sink.Gate)
                    {
                        format.Write(records, first, start, count, sink);
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
        foreach (var sink in _sinks)
        {
            lock (sink.Gate)
            {
                sink.Sink.Flush();
            }
        }
    }

    /// <summary>A TCP flow over IPv4 mirrored in VXLAN, as most records are.</summary>
    private static readonly FlowRecord Sample = new()
    {
        Type = FlowRecordType.End,
        EndReason = EndReason.Fin,
        FlowId = 1,
        Vni = 100,
        Tunnel = TunnelKind.Vxlan,
        TunnelIpVersion = 4,
        TunnelSource = IpAddress.FromIPv4(0x0A000001),
        TunnelDestination = IpAddress.FromIPv4(0x0A000002),
        IpVersion = 4,
        Protocol = IpProtocol.Tcp,
        Source = IpAddress.FromIPv4(0xC0A80001),
        SourcePort = 40000,
        Destination = IpAddress.FromIPv4(0xC0A80002),
        DestinationPort = 443,
        FirstSeenNanos = 1_700_000_000_000_000_000,
        LastSeenNanos = 1_700_000_001_000_000_000,
        PacketsSrcToDst = 10,
        BytesSrcToDst = 1_000,
        PacketsDstToSrc = 9,
        BytesDstToSrc = 9_000,
        TcpFlagsSrcToDst = 0x1B,
        TcpFlagsDstToSrc = 0x13,
        ConnState = ConnState.SF,
    };

    /// <summary>A batch of records encoded in one format, and the sinks that carry it.</summary>
    private sealed class FormatBatch(IRecordEncoder encoder, SinkCounters[] sinks)
    {
        private readonly byte[] _buffer = new byte[encoder.MaxRecordLength * BatchRecords];
        private readonly int[] _lengths = new int[BatchRecords];

        public SinkCounters[] Sinks { get; } = sinks;

        public void Warm() => encoder.Encode(Sample, _buffer);

        public void Encode(SpscQueue<FlowRecord> records, int first, int start, int count)
        {
            var offset = 0;
            for (var i = 0; i < count; i++)
            {
                ref readonly var record = ref records[records.Next(first, start + i)];
                _lengths[i] = encoder.Encode(record, _buffer.AsSpan(offset, encoder.MaxRecordLength));
                offset += _lengths[i];
            }
        }

        public void Write(SpscQueue<FlowRecord> records, int first, int start, int count, SinkCounters sink)
        {
            var offset = 0;
            for (var i = 0; i < count; i++)
            {
                ref readonly var record = ref records[records.Next(first, start + i)];
                if (!sink.Sink.Write(record, _buffer.AsSpan(offset, _lengths[i])))
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

                offset += _lengths[i];
            }
        }
    }
}
