using VtapCollector.Export;
using VtapCollector.Export.Formats;
using VtapCollector.Export.Metrics;
using VtapCollector.Export.Sinks;
using VtapCollector.Export.Storage;
using VtapCollector.Flows;

namespace VtapCollector.Kafka;

/// <summary>
/// Produces each flow record to a Kafka topic, one message per record: the value is the record in the
/// sink's format (<see cref="KafkaSinkOptions.Format"/>, the vtap JSON object by default), the key <c>&lt;vni&gt;-&lt;16 hex digits of the flow id&gt;</c> (the
/// record's <c>flow_id</c>), so that all records of one flow go to one partition, in order. Every record
/// goes through a write-ahead log on disk first, then through librdkafka's idempotent producer.
/// </summary>
/// <remarks>
/// <para>
/// <b>Paths of a record.</b> <see cref="Write"/> appends the record to the write-ahead log (a
/// <see cref="SegmentLog"/> in <see cref="KafkaSinkOptions.SpoolDirectory"/>) and returns. The sink's
/// thread (<see cref="LogPump"/>) reads the log in order and hands its records to librdkafka, at most
/// <see cref="KafkaSinkOptions.QueueMaxRecords"/> unacknowledged at a time; while the brokers are away
/// or slow the rest simply waits in the log (<see cref="IsSpooling"/>). Acknowledged records are consumed
/// from the log in order, its checkpoint saved about once a second, and a segment is deleted once every
/// record in it is consumed. Only when the log is at <see cref="KafkaSinkOptions.SpoolMaxBytes"/> are
/// records dropped, per <see cref="KafkaSinkOptions.SpoolOverflow"/>, counted and reported.
/// </para>
/// <para>
/// <b>Durability.</b> The log's buffer reaches the file (one <c>write</c>) at every <see cref="Flush"/>,
/// whenever it fills (256 KiB), and when the sink's thread has caught up with it (at most every 5 ms).
/// So once <see cref="Flush"/> has returned, every record <see cref="Write"/> accepted before it survives
/// a crash of the process, kill -9 included, and is delivered after the restart; a crash loses at most
/// the records accepted since the last <see cref="Flush"/> (the exporter flushes about once a second).
/// A power loss loses what the kernel had not written to the disk: <see cref="SpoolFsyncPolicy"/>.
/// What a restart finds torn or damaged in the log is cut, counted (<see cref="RecoveryTruncatedSegments"/>)
/// and reported as an error, never silently.
/// </para>
/// <para>
/// <b>Delivery guarantee.</b> At least once: a record that <see cref="Write"/> accepted is delivered
/// unless the broker rejects it for good (<see cref="DeliveryFailed"/>: record too large, not authorised,
/// unknown topic; reported with the broker's reason, not retried), the log drops it at its size bound
/// (<see cref="SpoolDropped"/>), or the host loses it as said above. Within one process lifetime records
/// are not duplicated: the idempotent producer (<c>enable.idempotence=true</c>, <c>acks=all</c>, no
/// message timeout) retries through any outage exactly once and in order per partition. Duplicates arise
/// (a) when a delivery fails after the broker may have written the record (a fatal producer error, or a
/// message timeout configured in <c>Sinks:Kafka:Producer</c>): the record is written to the log again and
/// resent; (b) after a crash or a shutdown with unacknowledged records, for records handed to librdkafka
/// after the last checkpoint write (at most about a second of records plus those in flight), since a
/// restart replays everything past the checkpoint. Consumers that need exactly once deduplicate on
/// (<c>flow_id</c>, <c>seq</c>).
/// </para>
/// <para>
/// <b>Order.</b> The records of one flow arrive in the order written, through outages and restarts,
/// except for records whose delivery failed and were written to the log again (after newer ones).
/// </para>
/// <para>
/// <b>Threads.</b> <see cref="Write"/> and <see cref="Flush"/> are called by the one exporter thread and
/// never wait for a broker: <see cref="Write"/> costs a copy into the log's buffer (and a <c>write</c>
/// per 256 KiB). The log pump is the sink's one thread; librdkafka's threads deliver acknowledgements.
/// Getters have no side effects and may be called from any thread.
/// </para>
/// </remarks>
public sealed class KafkaSink : IRecordSink
{
    /// <summary>The longest message key: the flow id's text form.</summary>
    public const int MaxKeyLength = FlowIdText.MaxLength;

    private readonly KafkaSinkOptions _options;
    private readonly KafkaReporter _reports;
    private readonly KafkaCounters _counters = new();
    private readonly LatestStatistics _statistics;
    private readonly Lock _gate = new();
    private readonly SegmentLog _log;
    private readonly ProducerLedger _ledger;
    private readonly LogPump _pump;
    private bool _disposed;

    /// <summary>
    /// Opens the write-ahead log (recovering what it holds, replayed first) and creates the producer. Does
    /// not wait for a broker: with none reachable the sink starts all the same and keeps records in the log.
    /// </summary>
    /// <param name="options">Valid options; <see cref="KafkaSinkOptions.Validate"/> must return null.</param>
    /// <param name="report">Receives state changes, warnings and errors, rate-limited per cause; null to discard them.</param>
    /// <param name="timeProvider">The clock for rate limits, log syncs and retries. Default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid, or librdkafka refuses a property; the message says which.</exception>
    /// <exception cref="IOException">The spool directory cannot be created or read; the message names it.</exception>
    /// <exception cref="DllNotFoundException">librdkafka cannot be loaded.</exception>
    public KafkaSink(KafkaSinkOptions options, Action<KafkaSinkReport>? report = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } error)
        {
            throw new ArgumentException(error, nameof(options));
        }

        _options = options;
        Encoder = RecordFormats.Create(options.Format)!;
        var time = timeProvider ?? TimeProvider.System;
        _reports = new KafkaReporter(options, report, time);
        _statistics = new LatestStatistics(options.Topic);
        KafkaNativeLibrary.EnsureLoaded();
        try
        {
            _log = new SegmentLog(options.ToLogOptions(), _reports.SpoolIo, time);
        }
        catch (Exception failure) when (IoRetry.IsFileError(failure))
        {
            // Without its log the sink could not keep what it accepts: a startup error, not a degraded mode.
            throw new IOException($"{KafkaSinkOptions.Section}:SpoolDirectory {options.SpoolDirectory} is not usable ({failure.Message}); the Kafka sink keeps every record there first.", failure);
        }

        try
        {
            _ledger = new ProducerLedger(options, _counters, _reports, _statistics);
        }
        catch
        {
            _log.Dispose();
            throw;
        }

        SpoolRecovered = _log.RecoveredRecords;
        SpoolTruncatedBytes = _log.TruncatedBytes;
        RecoveryTruncatedSegments = _log.TruncatedSegments;
        if (RecoveryTruncatedSegments > 0)
        {
            _reports.Recovered(RecoveryTruncatedSegments, SpoolTruncatedBytes);
        }

        _reports.Started(KafkaNativeLibrary.Version, _log.PendingRecords, _log.Bytes);
        _pump = new LogPump(_log, _gate, _ledger, _counters, _reports, time);
        _pump.Start();
    }

    /// <inheritdoc/>
    public string Name => "kafka";

    /// <inheritdoc/>
    public IRecordEncoder Encoder { get; }

    /// <summary>
    /// False while the records waiting in the log for librdkafka take more than <see cref="KafkaSinkOptions.ReadyWatermarkBytes"/>,
    /// while the log cannot be written, and while the producer is being recreated after a fatal error.
    /// An unreachable cluster alone does not make the sink unhealthy: its records are kept.
    /// </summary>
    public bool IsHealthy
    {
        get
        {
            lock (_gate)
            {
                return !_ledger.IsFatal && _log.IsHealthy && BacklogBytesLocked() <= _options.ReadyWatermarkBytes;
            }
        }
    }

    /// <summary>True while records wait in the log because librdkafka's queue is full (from the first full queue until the log is caught up), and after a start until what the log held is handed over.</summary>
    public bool IsSpooling => _pump.IsSpooling;

    /// <summary>Records handed to librdkafka, all read from the log.</summary>
    public long Produced => _counters.Produced;

    /// <summary>Records the brokers acknowledged.</summary>
    public long Delivered => _counters.Delivered;

    /// <summary>Records rejected for good, by a broker (not authorised, too large, unknown topic) or by librdkafka before sending; dropped and reported.</summary>
    public long DeliveryFailed => _counters.DeliveryFailed;

    /// <summary>Records written to the write-ahead log: every record <see cref="Write"/> accepted, and again each one <see cref="Respooled"/>.</summary>
    public long Spooled => _counters.Spooled;

    /// <summary>Records written to the log again because their delivery failed for a passing reason, or the producer was recreated after a fatal error.</summary>
    public long Respooled => _counters.Respooled;

    /// <summary>Records read from the log and handed to librdkafka (all of them: the log is how records reach the producer).</summary>
    public long Replayed => _counters.Replayed;

    /// <summary>Records the log dropped: at its size bound (either policy), or unreadable after damage on disk.</summary>
    public long SpoolDropped
    {
        get
        {
            lock (_gate)
            {
                return _log.DroppedRecords;
            }
        }
    }

    /// <summary>Records <see cref="Write"/> refused (returned false): log full with drop-newest, log not writable, or record too long.</summary>
    public long Refused => _counters.Refused;

    /// <summary>Records accepted earlier that could not be kept: a delivery failed and the log could not take the record again.</summary>
    public long Lost => _counters.Lost;

    /// <summary>Bytes of the records waiting in the log because librdkafka's queue is full (zero while <see cref="IsSpooling"/> is false).</summary>
    public long SpoolBytes
    {
        get
        {
            lock (_gate)
            {
                return BacklogBytesLocked();
            }
        }
    }

    /// <summary>Records waiting in the log because librdkafka's queue is full (zero while <see cref="IsSpooling"/> is false).</summary>
    public long SpoolRecords
    {
        get
        {
            lock (_gate)
            {
                return _pump.IsSpooling ? _log.UnreadRecords : 0;
            }
        }
    }

    /// <summary>Bytes of the write-ahead log's segment files (records not yet consumed, and consumed ones of segments not yet deleted).</summary>
    public long LogBytes
    {
        get
        {
            lock (_gate)
            {
                return _log.Bytes;
            }
        }
    }

    /// <summary>Records in the write-ahead log not yet acknowledged (waiting, or in librdkafka's hands).</summary>
    public long LogRecords
    {
        get
        {
            lock (_gate)
            {
                return _log.PendingRecords;
            }
        }
    }

    /// <summary>Bytes appended to the write-ahead log since start (record headers included).</summary>
    public long LogBytesWritten
    {
        get
        {
            lock (_gate)
            {
                return _log.AppendedBytes;
            }
        }
    }

    /// <summary>Acknowledged records the log's saved checkpoint covers: a crash now would send at most <see cref="Produced"/> minus these again.</summary>
    public long Checkpointed
    {
        get
        {
            lock (_gate)
            {
                return _log.CheckpointedRecords;
            }
        }
    }

    /// <summary>Records found in the log at start, past its checkpoint (replayed before new records).</summary>
    public long SpoolRecovered { get; }

    /// <summary>Bytes cut from the log's segment tails at start because a record there was torn or damaged.</summary>
    public long SpoolTruncatedBytes { get; }

    /// <summary>Segments whose tail was torn or damaged at start and was cut: each cut lost the records from there to the segment's end.</summary>
    public long RecoveryTruncatedSegments { get; }

    /// <summary>Records handed to librdkafka and not yet retired (acknowledged behind an older one that is not, included).</summary>
    public long InFlight => _ledger.InFlight;

    /// <summary>Times the producer was recreated after a fatal error.</summary>
    public long ProducerRestarts => _counters.ProducerRestarts;

    /// <summary>librdkafka's latest statistics: broker round trip, batch sizes, queue depth.</summary>
    public KafkaStatistics Statistics => _statistics.Value;

    /// <summary>Mean round-trip time of the slowest broker in the last statistics interval, in microseconds (<see cref="Statistics"/>).</summary>
    public long BrokerRoundTripMicros => Statistics.BrokerRoundTripMicros;

    /// <summary>Reports held back by the rate limit, over all causes.</summary>
    public long ReportsSuppressed => _reports.Suppressed;

    /// <summary>The last error of the log's files, or null while they work.</summary>
    public string? LastError => _log.LastError;

    /// <summary>
    /// Appends the record to the write-ahead log's buffer. Returns false, counting it in <see cref="Refused"/>,
    /// when the log is full (<see cref="SpoolOverflowPolicy.DropNewest"/>), not writable, or the record too long.
    /// </summary>
    public bool Write(in FlowRecord record, ReadOnlySpan<byte> encoded)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (encoded.Length > SegmentLog.MaxValueBytes)
        {
            _counters.AddRefused();
            _reports.LineTooLong(encoded.Length, SegmentLog.MaxValueBytes);
            return false;
        }

        Span<byte> keyBuffer = stackalloc byte[MaxKeyLength];
        var key = keyBuffer[..FlowIdText.Format(record, keyBuffer)];
        LogAppendResult result;
        long bytes = 0, dropped = 0;
        lock (_gate)
        {
            result = _log.Append(key, encoded);
            if (result == LogAppendResult.Full)
            {
                bytes = _log.Bytes;
                dropped = _log.DroppedRecords;
            }
        }

        switch (result)
        {
            case LogAppendResult.Appended:
                _counters.AddSpooled();
                return true;
            case LogAppendResult.Full:
                _counters.AddRefused();
                _reports.SpoolFull(bytes, dropped);
                return false;
            default:
                _counters.AddRefused();
                return false;
        }
    }

    /// <summary>
    /// Writes the log's buffer to its file: from the return on, every record accepted so far survives a
    /// crash of the process. Never waits for brokers; the fsync of <see cref="KafkaSinkOptions.SpoolFsync"/>
    /// is the sink's thread's, about once a second.
    /// </summary>
    public void Flush()
    {
        if (_disposed)
        {
            return;
        }

        lock (_gate)
        {
            _log.Flush();
        }
    }

    /// <summary>
    /// Stops the log pump, waits up to <see cref="KafkaSinkOptions.ShutdownTimeout"/> for librdkafka to
    /// deliver what it holds, consumes what was acknowledged and closes the log (saving its checkpoint):
    /// records still unacknowledged stay in the log and are sent after a restart. A second call does nothing.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;

        // With the brokers up, a clean stop delivers everything: the pump first hands the log's last
        // records (the shutdown records come in one burst) to the producer, which then flushes them.
        var started = Environment.TickCount64;
        _pump.WaitCaughtUp(_options.ShutdownTimeout);
        _pump.Dispose();
        var left = _options.ShutdownTimeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - started);
        _ledger.Flush(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        _ledger.BeginClosing();
        lock (_gate)
        {
            _pump.RetireLocked();
            if (_ledger.InFlight > 0)
            {
                _reports.ShutdownUnacknowledged(_ledger.InFlight);
            }

            _log.Dispose();
        }

        _ledger.Dispose();
    }

    /// <inheritdoc/>
    public void CollectMetrics(MetricSet metrics) => KafkaMetrics.Collect(this, metrics);

    private long BacklogBytesLocked() => _pump.IsSpooling ? _log.UnreadBytes : 0;
}
