using System.Globalization;
using Confluent.Kafka;
using VtapCollector.Export;
using VtapCollector.Export.Formats;
using VtapCollector.Export.Metrics;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;
using VtapCollector.Kafka.Spool;

namespace VtapCollector.Kafka;

/// <summary>
/// Produces each flow record to a Kafka topic, one message per record: the value is the record in the
/// sink's format (<see cref="KafkaSinkOptions.Format"/>, the vtap JSON object by default), the key <c>&lt;vni&gt;-&lt;16 hex digits of the flow id&gt;</c> (the
/// record's <c>flow_id</c>), so that all records of one flow go to one partition, in order. It goes through
/// librdkafka's idempotent producer; what the brokers cannot take in time goes to a disk spool and is
/// replayed, in order, when they can.
/// </summary>
/// <remarks>
/// <para>
/// <b>Paths of a record.</b> <see cref="Write"/> hands the record to librdkafka's in-memory queue
/// (<see cref="KafkaSinkOptions.QueueMaxRecords"/> records at most, counted from the oldest record not
/// yet acknowledged). When the queue is full — brokers unreachable or slow — the record goes to the
/// spool, and so does every later record until the spool has been replayed, so that records never
/// overtake older ones. A thread of the sink replays the spool oldest first, keeping the queue full,
/// and deletes a segment once every record in it is acknowledged. At start the sink replays whatever
/// the spool holds before anything new. Only when the spool is at <see cref="KafkaSinkOptions.SpoolMaxBytes"/>
/// are records dropped, per <see cref="KafkaSinkOptions.SpoolOverflow"/>, counted in <see cref="SpoolDropped"/>
/// and reported as errors.
/// </para>
/// <para>
/// <b>Delivery guarantee.</b> At least once: a record that <see cref="Write"/> accepted (returned true) is
/// delivered unless the broker rejects it for good (<see cref="DeliveryFailed"/>: record too large, not
/// authorised, unknown topic; reported with the broker's reason, not retried), the spool drops it at its
/// size bound (<see cref="SpoolDropped"/>), or the host loses it before it is on disk (a crash of the
/// process loses what had not reached the spool's files, about a second of spooled records plus the
/// records in memory; a power loss, see <see cref="SpoolFsyncPolicy"/>). Records are not duplicated
/// while one process runs and no delivery fails: the idempotent producer
/// (<c>enable.idempotence=true</c>, <c>acks=all</c>, no message timeout) makes its own retries, through any
/// broker outage, exactly once and in order per partition, and every spooled record is read once.
/// Duplicates arise only (a) when a delivery fails after the broker may have written the record (a
/// fatal producer error, or a message timeout configured in <c>Kafka:Producer</c>): the record is spooled
/// and sent again; (b) after a crash, for spooled records delivered since the last checkpoint (about a
/// second of replay); (c) at shutdown with brokers unreachable, for records in flight whose
/// acknowledgement did not arrive within <see cref="KafkaSinkOptions.ShutdownTimeout"/> (they are spooled
/// and sent again after the restart), and for replayed records acknowledged after an older replayed
/// record that was not (the checkpoint only moves over a gapless prefix). Exactly once therefore holds per partition within one process
/// lifetime without fatal producer errors; across restarts and failures it is at least once, and
/// consumers that need exactly once deduplicate on (<c>flow_id</c>, <c>seq</c>).
/// </para>
/// <para>
/// <b>Order.</b> The records of one flow arrive in the order written, through outages and restarts,
/// except for records whose delivery failed and were spooled again, and records still in memory at a
/// shutdown with brokers unreachable: those are spooled after the records already in the spool.
/// Each record's <c>seq</c> orders a flow's records in any case.
/// </para>
/// <para>
/// <b>Threads.</b> <see cref="Write"/> and <see cref="Flush"/> are called by the one exporter thread and
/// never wait for a broker: <see cref="Write"/> costs a copy into librdkafka's queue or into the spool's
/// buffer. librdkafka's background thread delivers acknowledgements; the sink's own thread replays the
/// spool and syncs it every second. The counters may be read from any thread.
/// </para>
/// </remarks>
public sealed class KafkaSink : IRecordSink
{
    /// <summary>The longest message key: the flow id's text form.</summary>
    public const int MaxKeyLength = FlowIdText.MaxLength;

    private const int ReplayBatch = 1024;

    // Values up to this length go to librdkafka through one reused array per length (it copies them).
    private const int ScratchLengths = 4096;
    private static readonly TimeSpan SyncInterval = TimeSpan.FromSeconds(1);

    private readonly KafkaSinkOptions _options;
    private readonly string _topic;
    private readonly ReportLimiter _reports;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Ticket?[] _ring;
    private readonly InFlightBytes _bytes;
    private readonly byte[]?[] _scratch = new byte[]?[ScratchLengths];
    private readonly byte[]?[] _keyScratch = new byte[]?[MaxKeyLength + 1];
    private readonly byte[] _respoolBuffer = new byte[MaxKeyLength + DiskSpool.MaxValueBytes];
    private readonly Message<Ticket, byte[]> _message = new();
    private readonly Action<DeliveryReport<Ticket, byte[]>> _onDelivery;
    private readonly DiskSpool? _spool;
    private readonly Thread _pump;
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Lock _statisticsGate = new();

    private IProducer<Ticket, byte[]> _producer;
    private byte[] _currentKey = [];
    private int _ringHead;
    private int _ringCount;
    private long _lastSync;
    private volatile bool _spooling;
    private volatile bool _fatal;
    private volatile bool _stopping;
    private bool _closing;
    private bool _disposed;
    private KafkaStatistics _statistics;

    private long _produced;
    private long _delivered;
    private long _deliveryFailed;
    private long _spooled;
    private long _respooled;
    private long _replayed;
    private long _lost;
    private long _refused;
    private long _producerRestarts;

    /// <summary>
    /// Creates the producer and opens the spool, replaying what it holds. Does not wait for a broker: with
    /// none reachable the sink starts all the same, keeps records in memory, then spools them, and reports so.
    /// </summary>
    /// <param name="options">Valid options; <see cref="KafkaSinkOptions.Validate"/> must return null.</param>
    /// <param name="report">Receives state changes, warnings and errors, rate-limited per cause; null to discard them.</param>
    /// <param name="timeProvider">The clock for rate limits and spool syncs. Default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid, or librdkafka refuses a property; the message says which.</exception>
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
        _topic = options.Topic;
        _time = timeProvider ?? TimeProvider.System;
        _reports = new ReportLimiter(report, options.ReportInterval, _time);
        _ring = new Ticket?[options.QueueMaxRecords];
        _bytes = new InFlightBytes((long)options.QueueMaxRecords * (MaxKeyLength + FlowRecordJsonEncoder.MaxRecordLength));
        _onDelivery = OnDelivery;
        KafkaNativeLibrary.EnsureLoaded();
        _producer = CreateProducer();

        try
        {
            _spool = new DiskSpool(options.SpoolDirectory, options.SpoolMaxBytes, options.SpoolSegmentBytes, options.SpoolFsync, options.SpoolOverflow, SpoolReport);
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            // Kafka itself may be fine: run without a spool rather than not at all, and say what that costs.
            LastError = failure.Message;
            _reports.Report(KafkaReportSeverity.Error, "spool-io",
                $"Kafka spool directory {options.SpoolDirectory} is not usable ({failure.Message}); running without a spool: records that do not fit in memory are dropped.");
        }

        _lastSync = _time.GetTimestamp();
        SpoolRecovered = _spool?.RecoveredRecords ?? 0;
        SpoolTruncatedBytes = _spool?.TruncatedBytes ?? 0;
        var held = _spool?.PendingRecords ?? 0;
        _spooling = held > 0;
        _reports.Report(KafkaReportSeverity.Information, "started", string.Create(CultureInfo.InvariantCulture,
            $"Kafka sink producing to topic {_topic} at {options.BootstrapServers} (librdkafka {KafkaNativeLibrary.Version}); spool {options.SpoolDirectory} holds {held} records ({_spool?.Bytes ?? 0} bytes){(held > 0 ? ", replayed first" : string.Empty)}."));
        _pump = new Thread(Pump) { Name = "vtap-kafka-spool", IsBackground = true };
        _pump.Start();
    }

    /// <inheritdoc/>
    public string Name => "kafka";

    /// <inheritdoc/>
    public IRecordEncoder Encoder { get; }

    /// <summary>
    /// False while the spool holds more than <see cref="KafkaSinkOptions.ReadyWatermarkBytes"/>, while the
    /// spool cannot be written, and while the producer is being recreated after a fatal error.
    /// An unreachable cluster alone does not make the sink unhealthy: its records are kept.
    /// </summary>
    public bool IsHealthy
    {
        get
        {
            lock (_gate)
            {
                RetireLocked();
                return !_fatal && (_spool is null || (_spool.LastError is null && _spool.Bytes <= _options.ReadyWatermarkBytes));
            }
        }
    }

    /// <summary>True while records go to the spool rather than straight to librdkafka (from the first full queue until the spool is replayed).</summary>
    public bool IsSpooling => _spooling;

    /// <summary>Records handed to librdkafka, from <see cref="Write"/> and from the spool.</summary>
    public long Produced => Interlocked.Read(ref _produced);

    /// <summary>Records the brokers acknowledged.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Records rejected for good, by a broker (not authorised, too large, unknown topic) or by librdkafka before sending; dropped and reported.</summary>
    public long DeliveryFailed => Interlocked.Read(ref _deliveryFailed);

    /// <summary>Records written to the spool: by <see cref="Write"/> while the queue was full, and again after a failed delivery or at shutdown (<see cref="Respooled"/>).</summary>
    public long Spooled => Interlocked.Read(ref _spooled);

    /// <summary>Records spooled again because their delivery failed for a passing reason, or because they were still in memory at shutdown or at a fatal producer error.</summary>
    public long Respooled => Interlocked.Read(ref _respooled);

    /// <summary>Records read back from the spool and handed to librdkafka.</summary>
    public long Replayed => Interlocked.Read(ref _replayed);

    /// <summary>Records the spool dropped: at its size bound (either policy), or unreadable after damage on disk.</summary>
    public long SpoolDropped
    {
        get
        {
            lock (_gate)
            {
                return _spool?.DroppedRecords ?? 0;
            }
        }
    }

    /// <summary>Records <see cref="Write"/> refused (returned false): spool full with drop-newest, spool not writable with the queue full, line too long, or rejected by librdkafka.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Records accepted earlier that could not be kept: a delivery failed or shutdown came while the spool was not writable.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Bytes of the spool's segment files.</summary>
    public long SpoolBytes
    {
        get
        {
            lock (_gate)
            {
                RetireLocked();
                return _spool?.Bytes ?? 0;
            }
        }
    }

    /// <summary>Records in the spool not yet delivered.</summary>
    public long SpoolRecords
    {
        get
        {
            lock (_gate)
            {
                RetireLocked();
                return _spool?.PendingRecords ?? 0;
            }
        }
    }

    /// <summary>Records found in the spool at start (replayed before new records).</summary>
    public long SpoolRecovered { get; }

    /// <summary>Bytes cut from the spool's segment tails at start because a record there was torn or damaged.</summary>
    public long SpoolTruncatedBytes { get; }

    /// <summary>Records handed to librdkafka and not yet acknowledged (or acknowledged behind an older one that is not).</summary>
    public long InFlight
    {
        get
        {
            lock (_gate)
            {
                RetireLocked();
                return _ringCount;
            }
        }
    }

    /// <summary>Times the producer was recreated after a fatal error.</summary>
    public long ProducerRestarts => Interlocked.Read(ref _producerRestarts);

    /// <summary>librdkafka's latest statistics: broker round trip, batch sizes, queue depth.</summary>
    public KafkaStatistics Statistics
    {
        get
        {
            lock (_statisticsGate)
            {
                return _statistics;
            }
        }
    }

    /// <summary>Mean round-trip time of the slowest broker in the last statistics interval, in microseconds (<see cref="Statistics"/>).</summary>
    public long BrokerRoundTripMicros => Statistics.BrokerRoundTripMicros;

    /// <summary>Reports held back by the rate limit, over all causes.</summary>
    public long ReportsSuppressed => _reports.Suppressed;

    /// <summary>The last spool or producer error, or null.</summary>
    public string? LastError { get; private set; }

    /// <inheritdoc/>
    public bool Write(in FlowRecord record, ReadOnlySpan<byte> encoded)
    {
        var line = encoded;
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (line.Length > DiskSpool.MaxValueBytes)
        {
            Interlocked.Increment(ref _refused);
            _reports.Report(KafkaReportSeverity.Error, "line-too-long", string.Create(CultureInfo.InvariantCulture,
                $"Kafka sink refused a record of {line.Length} bytes (at most {DiskSpool.MaxValueBytes})."));
            return false;
        }

        Span<byte> keyBuffer = stackalloc byte[MaxKeyLength];
        var key = keyBuffer[..FlowIdText.Format(record, keyBuffer)];
        lock (_gate)
        {
            if (!_spooling && !_fatal)
            {
                switch (TryProduceLocked(key, line, fromSpool: false, default))
                {
                    case ProduceResult.Produced:
                        return true;
                    case ProduceResult.Rejected:
                        Interlocked.Increment(ref _refused);
                        return false;
                    default:
                        if (_spool is null)
                        {
                            Interlocked.Increment(ref _refused);
                            return false;
                        }

                        EnterSpoolingLocked("librdkafka's in-memory queue is full (brokers unreachable or slow)");
                        break;
                }
            }

            if (SpoolLocked(key, line, respool: false))
            {
                return true;
            }

            // The spool cannot take it (full with drop-newest, or not writable): the queue may still have room.
            if (!_fatal && _spool?.LastError is not null && TryProduceLocked(key, line, fromSpool: false, default) == ProduceResult.Produced)
            {
                return true;
            }

            Interlocked.Increment(ref _refused);
            return false;
        }
    }

    /// <summary>
    /// Writes the spool's buffer to its files (and fsyncs them per <see cref="KafkaSinkOptions.SpoolFsync"/>)
    /// if the sink's thread has not in the last second. Never waits for brokers: librdkafka sends on its
    /// own schedule (<c>linger.ms</c>).
    /// </summary>
    public void Flush()
    {
        if (_disposed)
        {
            return;
        }

        SyncIfDue(_time.GetTimestamp());
    }

    /// <summary>
    /// Stops replaying, waits up to <see cref="KafkaSinkOptions.ShutdownTimeout"/> for queued records to be
    /// delivered, writes those still undelivered to the spool (a restart sends them), and closes the spool
    /// and the producer. A second call does nothing.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping = true;
        _wake.Set();
        _pump.Join();
        try
        {
            _producer.Flush(_options.ShutdownTimeout);
        }
        catch (KafkaException)
        {
            // A producer in a fatal state cannot flush; what it holds is spooled below.
        }
        catch (ObjectDisposedException)
        {
            // Disposed by a failed recreation: nothing is queued in it.
        }

        lock (_gate)
        {
            _closing = true;

            // Acknowledgements that came during the flush move the spool's checkpoint before it is saved.
            RetireLocked();
            var kept = 0L;
            for (var i = 0; i < _ringCount; i++)
            {
                var ticket = _ring[(_ringHead + i) % _ring.Length]!;

                // A replayed record not yet acknowledged is still in its segment, past the checkpoint.
                if (!ticket.Done && !ticket.FromSpool)
                {
                    if (RespoolLocked(ticket))
                    {
                        kept++;
                    }
                    else
                    {
                        Interlocked.Increment(ref _lost);
                    }
                }
            }

            if (kept > 0)
            {
                _reports.Report(KafkaReportSeverity.Warning, "shutdown-spooled", string.Create(CultureInfo.InvariantCulture,
                    $"Kafka sink stopping with {kept} records undelivered after {_options.ShutdownTimeout.TotalSeconds} s: they are in the spool and will be sent after a restart."));
            }

            _spool?.Dispose();
        }

        try
        {
            _producer.Dispose();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed by a recreation that then failed.
        }

        _wake.Dispose();
    }

    /// <inheritdoc/>
    public void CollectMetrics(MetricSet metrics)
    {
        var statistics = Statistics;
        metrics.Counter("vtap_kafka_produced_total", "Records handed to the Kafka producer (first sends and replays from the spool).", Produced);
        metrics.Counter("vtap_kafka_delivered_total", "Records the brokers acknowledged.", Delivered);
        metrics.Counter("vtap_kafka_delivery_failed_total", "Records a broker rejected for good (authorisation, record too large): reported with the broker's reason and dropped.", DeliveryFailed);
        metrics.Counter("vtap_kafka_respooled_total", "Records whose delivery failed in a retriable way and were put back in the spool.", Respooled);
        metrics.Counter("vtap_kafka_spooled_total", "Records written to the disk spool while the brokers were unreachable or slow.", Spooled);
        metrics.Counter("vtap_kafka_replayed_total", "Records replayed from the disk spool.", Replayed);
        metrics.Counter("vtap_kafka_spool_dropped_total", "Records dropped because the spool was full (Sinks:Kafka:SpoolOverflow).", SpoolDropped);
        metrics.Counter("vtap_kafka_refused_total", "Records the Kafka sink could not take (spool full or not writable); also counted in vtap_sink_records_dropped_total.", Refused);
        metrics.Counter("vtap_kafka_lost_total", "Records lost by the Kafka sink after it had accepted them (a spool write failed).", Lost);
        metrics.Counter("vtap_kafka_producer_restarts_total", "Times the Kafka producer was recreated after a fatal error (its unacknowledged records were spooled again).", ProducerRestarts);
        metrics.Gauge("vtap_kafka_spool_bytes", "Bytes held in the disk spool.", SpoolBytes);
        metrics.Gauge("vtap_kafka_spool_records", "Records held in the disk spool, not yet delivered.", SpoolRecords);
        metrics.Gauge("vtap_kafka_in_flight", "Records handed to the producer and not yet acknowledged.", InFlight);
        metrics.Gauge("vtap_kafka_brokers_up", "Brokers with an open connection (librdkafka statistics).", statistics.BrokersUp);
        metrics.Gauge("vtap_kafka_broker_rtt_seconds", "Mean request round-trip time of the slowest broker over the last statistics interval.", statistics.BrokerRoundTripMicros / 1e6);
        metrics.Gauge("vtap_kafka_batch_records", "Mean records per batch sent over the last statistics interval.", statistics.BatchRecords);
        metrics.Gauge("vtap_kafka_batch_bytes", "Mean bytes per batch sent over the last statistics interval.", statistics.BatchBytes);
    }

    /// <summary>The key of the record being produced, for <see cref="TicketSerializer"/>.</summary>
    internal byte[] CurrentKey => _currentKey;

    private IProducer<Ticket, byte[]> CreateProducer()
    {
        var config = new ProducerConfig();
        foreach (var (name, value) in KafkaSinkOptions.ProducerDefaults)
        {
            config.Set(name, value);
        }

        foreach (var (name, value) in _options.Producer)
        {
            config.Set(name, value);
        }

        config.BootstrapServers = _options.BootstrapServers;
        config.QueueBufferingMaxMessages = _options.QueueMaxRecords;
        config.EnableDeliveryReports = true;
        config.EnableBackgroundPoll = true;

        // The acknowledgement hands back the ticket object itself, and nothing else is kept or copied:
        // the record's bytes stay in the sink's in-flight buffer until it is acknowledged.
        config.DeliveryReportFields = "key";
        try
        {
            return new ProducerBuilder<Ticket, byte[]>(config)
                .SetKeySerializer(new TicketSerializer(this))
                .SetValueSerializer(Serializers.ByteArray)
                .SetErrorHandler(OnError)
                .SetLogHandler(OnLog)
                .SetStatisticsHandler(OnStatistics)
                .Build();
        }
        catch (Exception failure) when (failure is ArgumentException or KafkaException or InvalidOperationException)
        {
            throw new ArgumentException($"Kafka:Producer: librdkafka refused the configuration: {failure.Message}", nameof(_options), failure);
        }
    }

    /// <summary>
    /// Keeps the record's bytes until it is acknowledged (to spool it again should its delivery fail), adds
    /// its ticket to the in-flight ring and hands it to librdkafka. Under <see cref="_gate"/>.
    /// </summary>
    private ProduceResult TryProduceLocked(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool fromSpool, SpoolPosition end)
    {
        RetireLocked();
        if (_ringCount == _ring.Length || !_bytes.TryAppend(key, value, out var position))
        {
            return ProduceResult.QueueFull;
        }

        var ticket = new Ticket(position, key.Length, value.Length) { FromSpool = fromSpool, End = end };

        // In the ring before Produce: the acknowledgement may come on librdkafka's thread at once.
        _ring[(_ringHead + _ringCount) % _ring.Length] = ticket;
        _ringCount++;
        _message.Key = ticket;
        _message.Value = Scratch(value);
        _currentKey = Scratch(key, keyArray: true);
        try
        {
            _producer.Produce(_topic, _message, _onDelivery);
            Interlocked.Increment(ref _produced);
            if (ticket.FromSpool)
            {
                Interlocked.Increment(ref _replayed);
            }

            return ProduceResult.Produced;
        }
        catch (ProduceException<Ticket, byte[]> failure) when (failure.Error.Code == ErrorCode.Local_QueueFull)
        {
            RemoveLastLocked();
            return ProduceResult.QueueFull;
        }
        catch (ProduceException<Ticket, byte[]> failure) when (IsPermanent(failure.Error.Code))
        {
            Interlocked.Increment(ref _deliveryFailed);
            ReportRejection(failure.Error);

            // Completed in its place, so a replayed record's checkpoint still moves in order.
            MarkDoneLocked(ticket);
            return ProduceResult.Rejected;
        }
        catch (Exception failure) when (failure is KafkaException or ObjectDisposedException or InvalidOperationException)
        {
            RemoveLastLocked();
            if (failure is KafkaException { Error.IsFatal: true })
            {
                _fatal = true;
                _wake.Set();
            }

            _reports.Report(KafkaReportSeverity.Warning, "produce-failed", $"Kafka producer refused a record ({failure.Message}); it goes to the spool.");
            return ProduceResult.QueueFull;
        }
    }

    private void RemoveLastLocked()
    {
        _ringCount--;
        var index = (_ringHead + _ringCount) % _ring.Length;
        _bytes.TruncateTo(_ring[index]!.Position);
        _ring[index] = null;
    }

    /// <summary>
    /// An array of exactly <paramref name="bytes"/>' length holding them: librdkafka copies a record during
    /// Produce, so one array per length serves every record (no allocation per record).
    /// </summary>
    private byte[] Scratch(ReadOnlySpan<byte> bytes, bool keyArray = false)
    {
        byte[] array;
        if (keyArray)
        {
            array = _keyScratch[bytes.Length] ??= new byte[bytes.Length];
        }
        else if (bytes.Length < ScratchLengths)
        {
            array = _scratch[bytes.Length] ??= new byte[bytes.Length];
        }
        else
        {
            array = new byte[bytes.Length];
        }

        bytes.CopyTo(array);
        return array;
    }

    /// <summary>Spools an in-flight record again (its delivery failed, or it is still unacknowledged at shutdown).</summary>
    private bool RespoolLocked(Ticket ticket)
    {
        var key = _respoolBuffer.AsSpan(0, ticket.KeyLength);
        var value = _respoolBuffer.AsSpan(ticket.KeyLength, ticket.ValueLength);
        _bytes.Read(ticket.Position, _respoolBuffer.AsSpan(0, ticket.KeyLength + ticket.ValueLength));
        return SpoolLocked(key, value, respool: true);
    }

    /// <summary>Marks a ticket acknowledged and retires the ring's head while it is: replayed records complete in read order.</summary>
    private void MarkDoneLocked(Ticket ticket)
    {
        ticket.Done = true;
        RetireLocked();
    }

    /// <summary>Retires acknowledged tickets from the ring's head, in produce order: a replayed record's completion moves the spool's checkpoint.</summary>
    private void RetireLocked()
    {
        while (_ringCount > 0)
        {
            var head = _ring[_ringHead]!;
            if (!head.Done)
            {
                return;
            }

            _ring[_ringHead] = null;
            _ringHead = (_ringHead + 1) % _ring.Length;
            _ringCount--;
            _bytes.ReleaseTo(head.Position + head.KeyLength + head.ValueLength);
            if (head.FromSpool)
            {
                _spool?.Complete(head.End);
            }
        }
    }

    private bool SpoolLocked(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool respool)
    {
        if (_spool is null)
        {
            return false;
        }

        switch (_spool.Append(key, value))
        {
            case SpoolAppendResult.Appended:
                Interlocked.Increment(ref _spooled);
                if (respool)
                {
                    Interlocked.Increment(ref _respooled);
                }

                if (!_spooling && !_closing)
                {
                    EnterSpoolingLocked(respool ? "a delivery failed and its record was spooled again" : "the producer is being recreated after a fatal error");
                }

                return true;
            case SpoolAppendResult.Full:
                _reports.Report(KafkaReportSeverity.Error, "spool-full", string.Create(CultureInfo.InvariantCulture,
                    $"Kafka spool full ({_spool.Bytes} of {_options.SpoolMaxBytes} bytes in {_options.SpoolDirectory}): dropping the newest records; {_spool.DroppedRecords} dropped so far."));
                return false;
            default:
                LastError = _spool.LastError;
                return false;
        }
    }

    private void EnterSpoolingLocked(string why)
    {
        _spooling = true;
        _wake.Set();
        _reports.Report(KafkaReportSeverity.Warning, "spooling", $"Kafka sink spooling to {_options.SpoolDirectory}: {why}. Records are replayed in order when the brokers take them.");
    }

    private void OnDelivery(DeliveryReport<Ticket, byte[]> report)
    {
        var ticket = report.Message.Key;
        var error = report.Error;
        if (error.Code == ErrorCode.NoError || IsPermanent(error.Code))
        {
            if (error.Code == ErrorCode.NoError)
            {
                Interlocked.Increment(ref _delivered);
            }
            else
            {
                Interlocked.Increment(ref _deliveryFailed);
                ReportRejection(error);
            }

            // No lock per record on librdkafka's thread: the exporter and the sink's thread retire
            // acknowledged tickets from the ring's head when they next hold the lock.
            ticket.Done = true;
            return;
        }

        lock (_gate)
        {
            if (_closing || ticket.Done)
            {
                return;
            }

            // A passing failure (a configured timeout, a purge): the record goes to the spool's end, sent again later.
            _reports.Report(KafkaReportSeverity.Warning, "delivery-retried:" + error.Code, $"Kafka delivery failed ({error.Reason}); the record is spooled and sent again.");
            if (!RespoolLocked(ticket))
            {
                Interlocked.Increment(ref _lost);
            }

            MarkDoneLocked(ticket);
        }
    }

    private void OnError(IProducer<Ticket, byte[]> producer, Error error)
    {
        if (error.IsFatal)
        {
            _fatal = true;
            LastError = error.Reason;
            _reports.Report(KafkaReportSeverity.Error, "fatal", $"Kafka producer fatal error: {error.Reason} ({error.Code}); recreating the producer, its unacknowledged records are spooled.");
            _wake.Set();
        }
        else if (error.Code == ErrorCode.Local_AllBrokersDown)
        {
            _reports.Report(KafkaReportSeverity.Warning, "brokers-down", string.Create(CultureInfo.InvariantCulture,
                $"No Kafka broker reachable at {_options.BootstrapServers} ({error.Reason}); records wait in memory (up to {_options.QueueMaxRecords}) and then in the spool at {_options.SpoolDirectory}."));
        }
        else
        {
            _reports.Report(KafkaReportSeverity.Warning, "kafka-error:" + error.Code, $"Kafka: {error.Reason} ({error.Code}).");
        }
    }

    private void OnLog(IProducer<Ticket, byte[]> producer, LogMessage message)
    {
        // librdkafka's warnings and errors (connection refused, authentication failed) repeat every retry: rate-limited per facility.
        if (message.Level <= SyslogLevel.Warning)
        {
            _reports.Report(KafkaReportSeverity.Warning, "librdkafka:" + message.Facility, $"librdkafka {message.Facility}: {message.Message}");
        }
    }

    private void OnStatistics(IProducer<Ticket, byte[]> producer, string json)
    {
        try
        {
            var statistics = KafkaStatistics.Parse(json, _topic);
            lock (_statisticsGate)
            {
                _statistics = statistics;
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // A malformed document is skipped; the next one comes within the interval.
        }
    }

    private void ReportRejection(Error error) =>
        _reports.Report(KafkaReportSeverity.Error, "broker-rejected:" + error.Code,
            $"Kafka rejected records for topic {_topic}: {error.Reason} ({error.Code}); they are dropped, not retried.");

    private void SpoolReport(string cause, string message) =>
        _reports.Report(cause is "spool-truncated" ? KafkaReportSeverity.Warning : KafkaReportSeverity.Error, cause, message);

    /// <summary>The sink's thread: replays the spool while there is something to replay, syncs it every second, recreates a failed producer.</summary>
    private void Pump()
    {
        PendingRecord? pending = null;
        while (!_stopping)
        {
            if (_fatal)
            {
                RecreateProducer();
                pending = null;
            }

            SyncIfDue(_time.GetTimestamp());
            if (!_spooling)
            {
                lock (_gate)
                {
                    RetireLocked();
                }

                _wake.Wait(250);
                _wake.Reset();
                continue;
            }

            if (!Replay(ref pending))
            {
                // Queue full or nothing to read yet: the brokers or the exporter have to move first.
                _wake.Wait(5);
                _wake.Reset();
            }
        }
    }

    /// <summary>Hands up to <see cref="ReplayBatch"/> spooled records to librdkafka; false if none could be.</summary>
    private bool Replay(ref PendingRecord? pending)
    {
        for (var i = 0; i < ReplayBatch; i++)
        {
            lock (_gate)
            {
                if (_stopping || _fatal || _spool is null)
                {
                    return i > 0;
                }

                if (pending is null)
                {
                    if (!_spool.TryRead(out var key, out var value, out var end))
                    {
                        if (_spool.UnreadRecords == 0)
                        {
                            // Every spooled record is in librdkafka's hands: new records may go there directly
                            // again without overtaking any. The segment is closed so it can be deleted once acknowledged.
                            _spool.SealActive();
                            _spooling = false;
                            _reports.Report(KafkaReportSeverity.Information, "replayed", string.Create(CultureInfo.InvariantCulture,
                                $"Kafka spool replayed ({Replayed} records replayed so far); producing directly again."));
                        }
                        else if (_spool.LastError is { } readError)
                        {
                            LastError = readError;
                        }

                        return i > 0;
                    }

                    pending = new PendingRecord(key.ToArray(), value.ToArray(), end);
                }

                if (TryProduceLocked(pending.Key, pending.Value, fromSpool: true, pending.End) == ProduceResult.QueueFull)
                {
                    return i > 0;
                }

                pending = null;
            }
        }

        return true;
    }

    private void SyncIfDue(long now)
    {
        lock (_gate)
        {
            if (_spool is null || _time.GetElapsedTime(_lastSync, now) < SyncInterval)
            {
                return;
            }

            _lastSync = now;
            RetireLocked();
            _spool.Sync();
            LastError = _spool.LastError ?? (_fatal ? LastError : null);
        }
    }

    /// <summary>After a fatal error (the idempotent producer lost its state): a new producer, and every unacknowledged record spooled again.</summary>
    private void RecreateProducer()
    {
        IProducer<Ticket, byte[]> old;
        lock (_gate)
        {
            old = _producer;
            if (_spool is not null)
            {
                _spooling = true;
            }
        }

        try
        {
            old.Dispose();
        }
        catch (Exception failure) when (failure is KafkaException or ObjectDisposedException)
        {
            // It is being replaced because it failed; its state no longer matters.
        }

        lock (_gate)
        {
            var lost = 0L;
            while (_ringCount > 0)
            {
                var ticket = _ring[_ringHead]!;
                if (!ticket.Done && !RespoolLocked(ticket))
                {
                    lost++;
                }

                MarkDoneLocked(ticket);
            }

            Interlocked.Add(ref _lost, lost);
            try
            {
                _producer = CreateProducer();
                _fatal = false;
                Interlocked.Increment(ref _producerRestarts);
            }
            catch (ArgumentException failure)
            {
                // The same configuration worked at start; try again on the next turn of the pump.
                LastError = failure.Message;
                Thread.Sleep(1000);
            }
        }
    }

    private static bool IsPermanent(ErrorCode code) => code is
        ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidMsg or ErrorCode.InvalidMsgSize
        or ErrorCode.RecordListTooLarge or ErrorCode.TopicAuthorizationFailed or ErrorCode.ClusterAuthorizationFailed
        or ErrorCode.TopicException or ErrorCode.InvalidRequiredAcks or ErrorCode.PolicyViolation or ErrorCode.InvalidRecord
        or ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic or ErrorCode.Local_UnknownPartition
        or ErrorCode.Local_BadMsg or ErrorCode.Local_InvalidArg;

    private enum ProduceResult
    {
        Produced,
        QueueFull,
        Rejected,
    }
}

/// <summary>One record on its way through librdkafka: where its bytes are kept and, if replayed, where it is in the spool.</summary>
internal sealed class Ticket(long position, int keyLength, int valueLength)
{
    /// <summary>Where the key, then the value, are in the sink's in-flight buffer.</summary>
    public long Position { get; } = position;
    public int KeyLength { get; } = keyLength;
    public int ValueLength { get; } = valueLength;
    public bool FromSpool { get; init; }
    public SpoolPosition End { get; init; }

    /// <summary>Acknowledged, rejected, or spooled again. Set by librdkafka's thread without the sink's lock, hence volatile.</summary>
    public volatile bool Done;
}

/// <summary>A record read from the spool that librdkafka's queue had no room for yet: it is the next one tried.</summary>
internal sealed record PendingRecord(byte[] Key, byte[] Value, SpoolPosition End);

/// <summary>
/// The message key: the bytes the sink put aside for the record being produced (serializers run inside
/// Produce, under the sink's lock). The ticket itself comes back with the acknowledgement.
/// </summary>
internal sealed class TicketSerializer(KafkaSink sink) : ISerializer<Ticket>
{
    public byte[] Serialize(Ticket data, SerializationContext context) => sink.CurrentKey;
}
