using Microsoft.Win32.SafeHandles;
using VtapCollector.Export.Storage;

namespace VtapCollector.Kafka;

/// <summary>
/// The sink's thread: reads the write-ahead log in order and feeds librdkafka through the
/// <see cref="ProducerLedger"/>, retires settled records (which consumes the log up to them, so that its
/// checkpoint moves over the gapless prefix of acknowledged records), writes failed ones to the log
/// again, syncs the log about once a second and recreates the producer after a fatal error.
/// </summary>
/// <remarks>
/// The log is shared with the exporter's thread, which appends to it: every call to it is under the
/// sink's log lock, held for a batch at a time, never while librdkafka is called. Records read from
/// the log are copied to a staging buffer first and produced from there, outside the lock.
/// </remarks>
internal sealed class LogPump : IDisposable
{
    private const int Batch = 1024;
    private const int StagingBytes = 1024 * 1024;
    private const int RecordBytes = SegmentLog.MaxKeyBytes + SegmentLog.MaxValueBytes;

    // When the log has nothing to read, the pump looks again after this long: the most a record waits
    // in the log's buffer before the pump writes it to the file and reads it (librdkafka's linger.ms
    // then adds its own), and at most this many small writes a second when the record rate is low.
    private const int IdleWaitMilliseconds = 5;
    private const int FullWaitMilliseconds = 1;
    private static readonly TimeSpan SyncInterval = TimeSpan.FromSeconds(1);

    private readonly SegmentLog _log;
    private readonly Lock _gate;
    private readonly ProducerLedger _ledger;
    private readonly KafkaCounters _counters;
    private readonly KafkaReporter _reports;
    private readonly TimeProvider _time;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly byte[] _staging = new byte[StagingBytes + RecordBytes];
    private readonly Staged[] _staged = new Staged[Batch];

    private int _stagedCount;
    private int _stagedNext;
    private long _lastSync;
    private volatile bool _spooling;
    private volatile bool _stopping;
    private volatile bool _caughtUp;

    public LogPump(SegmentLog log, Lock gate, ProducerLedger ledger, KafkaCounters counters, KafkaReporter reports, TimeProvider time)
    {
        _log = log;
        _gate = gate;
        _ledger = ledger;
        _counters = counters;
        _reports = reports;
        _time = time;
        _lastSync = time.GetTimestamp();
        _spooling = log.UnreadRecords > 0;
        _thread = new Thread(Run) { Name = "vtap-kafka-log", IsBackground = true };
    }

    /// <summary>
    /// True while records wait in the log for the producer: from the moment librdkafka's queue had no room
    /// for the next one (or a failed record was written to the log again) until the pump has caught up with
    /// the log; after a start, until what the log held is handed over.
    /// </summary>
    public bool IsSpooling => _spooling;

    public void Start() => _thread.Start();

    /// <summary>
    /// At shutdown: waits until the pump has handed every record of the log to the producer (so a clean
    /// stop with the brokers up delivers everything), or until <paramref name="timeout"/> has passed;
    /// true when it caught up. What it could not hand over stays in the log for the next start.
    /// </summary>
    public bool WaitCaughtUp(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            lock (_gate)
            {
                if (_caughtUp && _log.UnreadRecords == 0)
                {
                    return true;
                }
            }

            if (Environment.TickCount64 >= deadline || !_thread.IsAlive)
            {
                return false;
            }

            _wake.Set();
            Thread.Sleep(1);
        }
    }

    /// <summary>Stops the thread after its current step; records staged but not produced stay in the log, unconsumed.</summary>
    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        _wake.Dispose();
    }

    /// <summary>Retires every settled record from the ledger's head: consumes the log up to it, and writes a failed one to the log again. Under the log lock.</summary>
    public void RetireLocked()
    {
        var lost = 0L;
        while (_ledger.TryRetire(out var end, out var failed))
        {
            if (failed)
            {
                if (_log.Append(_ledger.RetiredKey, _ledger.RetiredValue) == LogAppendResult.Appended)
                {
                    // It waits in the log again, behind newer records, until the pump comes to it.
                    _spooling = true;
                    _counters.AddSpooled();
                    _counters.AddRespooled();
                }
                else
                {
                    lost++;
                }
            }

            _log.Complete(end);
        }

        if (lost > 0)
        {
            _counters.AddLost(lost);
            _reports.RespoolFailed(lost);
        }
    }

    private void Run()
    {
        while (!_stopping)
        {
            if (_ledger.IsFatal && !_ledger.Recreate())
            {
                _wake.Wait(1000);
                _wake.Reset();
                continue;
            }

            SafeFileHandle? fsync;
            lock (_gate)
            {
                RetireLocked();
                fsync = SyncIfDueLocked();
            }

            if (fsync is not null && SegmentLog.ForceToDisk(fsync) is { } error)
            {
                _reports.SpoolIo("spool-io", $"Kafka spool: fsync failed ({error}); the records of the last second may not survive a power loss.");
            }

            if (!Feed())
            {
                // A full ledger frees up as acknowledgements come, thousands a millisecond: look again soon.
                _wake.Wait(_ledger.Room == 0 ? FullWaitMilliseconds : IdleWaitMilliseconds);
                _wake.Reset();
            }
        }
    }

    /// <summary>Produces staged records, reading the next batch from the log when all are; false if nothing moved.</summary>
    private bool Feed()
    {
        if (_stagedNext == _stagedCount && !Stage(Math.Min(Batch, _ledger.Room)))
        {
            return false;
        }

        _caughtUp = false;

        var moved = false;
        while (_stagedNext < _stagedCount && !_stopping)
        {
            ref readonly var record = ref _staged[_stagedNext];
            var key = _staging.AsSpan(record.Offset, record.KeyLength);
            var value = _staging.AsSpan(record.Offset + record.KeyLength, record.ValueLength);
            if (_ledger.TryProduce(key, value, record.End) == ProduceResult.QueueFull)
            {
                if (!_spooling)
                {
                    _spooling = true;
                    _reports.Spooling();
                }

                return moved;
            }

            _counters.AddReplayed();
            _stagedNext++;
            moved = true;
        }

        return moved;
    }

    /// <summary>
    /// Copies up to <paramref name="count"/> records (no more than the ledger has room for, so that what
    /// waits stays in the log) from the log to the staging buffer; false if there were none.
    /// </summary>
    private bool Stage(int count)
    {
        _stagedNext = 0;
        _stagedCount = 0;
        var used = 0;
        lock (_gate)
        {
            if (count == 0)
            {
                if (!_spooling && _log.UnreadRecords > 0)
                {
                    _spooling = true;
                    _reports.Spooling();
                }

                return false;
            }

            while (_stagedCount < count && used <= StagingBytes && _log.TryRead(out var key, out var value, out var end))
            {
                key.CopyTo(_staging.AsSpan(used));
                value.CopyTo(_staging.AsSpan(used + key.Length));
                _staged[_stagedCount++] = new Staged(used, key.Length, value.Length, end);
                used += key.Length + value.Length;
            }

            // Set under the lock with the log's count, so WaitCaughtUp sees both together.
            _caughtUp = _stagedCount == 0 && _log.UnreadRecords == 0;
            if (_stagedCount == 0 && _spooling && _log.UnreadRecords == 0)
            {
                // Every record of the log is in librdkafka's hands.
                _spooling = false;
                _reports.Replayed(_counters.Replayed);
            }
        }

        return _stagedCount > 0;
    }

    /// <summary>Syncs the log once a second; returns the file to force to disk, outside the lock, if the policy asks for it.</summary>
    private SafeFileHandle? SyncIfDueLocked()
    {
        var now = _time.GetTimestamp();
        if (_time.GetElapsedTime(_lastSync, now) < SyncInterval)
        {
            return null;
        }

        _lastSync = now;
        return _log.Sync();
    }

    private readonly record struct Staged(int Offset, int KeyLength, int ValueLength, LogPosition End);
}
