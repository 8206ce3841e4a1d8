using Confluent.Kafka;
using VtapCollector.Export;
using VtapCollector.Export.Storage;

namespace VtapCollector.Kafka;

/// <summary>What became of a record handed to <see cref="ProducerLedger.TryProduce"/>.</summary>
internal enum ProduceResult
{
    /// <summary>librdkafka has it; its acknowledgement will retire it.</summary>
    Produced,

    /// <summary>No room (the ledger holds <see cref="KafkaSinkOptions.QueueMaxRecords"/> records, or librdkafka refused for now): try it again later.</summary>
    QueueFull,

    /// <summary>librdkafka rejected it for good (counted and reported); it is retired in its place.</summary>
    Rejected,
}

/// <summary>
/// librdkafka's producer and the ledger of the records it holds: one ticket per record, in produce
/// order, each keeping where the record is in the log and (in <see cref="InFlightBytes"/>) its bytes,
/// so that a failed delivery can be written to the log again. Acknowledgements only flag tickets; the
/// owner retires them from the head, in order (<see cref="TryRetire"/>), which is what lets the log's
/// checkpoint move over a gapless prefix.
/// </summary>
/// <remarks>
/// Every method is called by the one log pump thread, except the delivery, error, log and statistics
/// callbacks, which run on librdkafka's threads and touch only a ticket's flags, the counters and the
/// reporter. <see cref="InFlight"/> and <see cref="IsFatal"/> may be read from any thread.
/// </remarks>
internal sealed class ProducerLedger : IDisposable
{
    // Values up to this length go to librdkafka through one reused array per length (it copies them).
    private const int ScratchLengths = 4096;

    private readonly KafkaSinkOptions _options;
    private readonly KafkaCounters _counters;
    private readonly KafkaReporter _reports;
    private readonly LatestStatistics _statistics;
    private readonly Ticket?[] _ring;
    private readonly InFlightBytes _bytes;
    private readonly byte[]?[] _scratch = new byte[]?[ScratchLengths];
    private readonly byte[]?[] _keyScratch = new byte[]?[KafkaSink.MaxKeyLength + 1];
    private readonly byte[] _retired = new byte[SegmentLog.MaxKeyBytes + SegmentLog.MaxValueBytes];
    private readonly Message<Ticket, byte[]> _message = new();
    private readonly Action<DeliveryReport<Ticket, byte[]>> _onDelivery;

    private IProducer<Ticket, byte[]> _producer;
    private int _head;
    private int _count;
    private int _retiredKeyLength;
    private int _retiredValueLength;
    private volatile bool _fatal;
    private volatile bool _closing;

    /// <exception cref="ArgumentException">librdkafka refuses a property; the message says which.</exception>
    public ProducerLedger(KafkaSinkOptions options, KafkaCounters counters, KafkaReporter reports, LatestStatistics statistics)
    {
        _options = options;
        _counters = counters;
        _reports = reports;
        _statistics = statistics;
        _ring = new Ticket?[options.QueueMaxRecords];
        _bytes = new InFlightBytes((long)options.QueueMaxRecords * (KafkaSink.MaxKeyLength + FlowRecordJsonEncoder.MaxRecordLength));
        _onDelivery = OnDelivery;
        _producer = CreateProducer();
    }

    /// <summary>Records handed to librdkafka and not yet retired (acknowledged behind an older one that is not, included).</summary>
    public int InFlight => Volatile.Read(ref _count);

    /// <summary>Records the ledger can take before it holds <see cref="KafkaSinkOptions.QueueMaxRecords"/>.</summary>
    public int Room => _ring.Length - _count;

    /// <summary>True from a fatal producer error until <see cref="Recreate"/>.</summary>
    public bool IsFatal => _fatal;

    /// <summary>The key of the record <see cref="TryRetire"/> last retired as failed.</summary>
    public ReadOnlySpan<byte> RetiredKey => _retired.AsSpan(0, _retiredKeyLength);

    /// <summary>The value of the record <see cref="TryRetire"/> last retired as failed.</summary>
    public ReadOnlySpan<byte> RetiredValue => _retired.AsSpan(_retiredKeyLength, _retiredValueLength);

    /// <summary>Keeps the record's bytes, adds its ticket to the ledger and hands it to librdkafka.</summary>
    public ProduceResult TryProduce(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, LogPosition end)
    {
        if (_fatal || _count == _ring.Length || !_bytes.TryAppend(key, value, out var position))
        {
            return ProduceResult.QueueFull;
        }

        var ticket = new Ticket(position, key.Length, value.Length, end) { WireKey = Scratch(key, _keyScratch) };

        // In the ledger before Produce: the acknowledgement may come on librdkafka's thread at once.
        _ring[(_head + _count) % _ring.Length] = ticket;
        Volatile.Write(ref _count, _count + 1);
        _message.Key = ticket;
        _message.Value = value.Length < ScratchLengths ? Scratch(value, _scratch) : value.ToArray();
        try
        {
            _producer.Produce(_options.Topic, _message, _onDelivery);
            _counters.AddProduced();
            return ProduceResult.Produced;
        }
        catch (ProduceException<Ticket, byte[]> failure) when (failure.Error.Code == ErrorCode.Local_QueueFull)
        {
            RemoveLast();
            return ProduceResult.QueueFull;
        }
        catch (ProduceException<Ticket, byte[]> failure) when (IsPermanent(failure.Error.Code))
        {
            _counters.AddDeliveryFailed();
            _reports.Rejected(failure.Error);

            // Retired in its place, so the log's checkpoint still moves in order.
            ticket.Done = true;
            return ProduceResult.Rejected;
        }
        catch (Exception failure) when (failure is KafkaException or ObjectDisposedException or InvalidOperationException)
        {
            RemoveLast();
            if (failure is KafkaException { Error.IsFatal: true })
            {
                _fatal = true;
            }

            _reports.ProduceFailed(failure.Message);
            return ProduceResult.QueueFull;
        }
        finally
        {
            // The key is the serializer's only for the length of Produce.
            ticket.WireKey = null;
        }
    }

    /// <summary>
    /// Retires the oldest ticket if it is settled: acknowledged or rejected for good (<paramref name="failed"/>
    /// false), or failed for a passing reason (<paramref name="failed"/> true: its bytes are in
    /// <see cref="RetiredKey"/> and <see cref="RetiredValue"/> until the next call, to be written to the log again).
    /// </summary>
    public bool TryRetire(out LogPosition end, out bool failed)
    {
        end = default;
        failed = false;
        if (_count == 0)
        {
            return false;
        }

        var head = _ring[_head]!;
        if (!head.Done)
        {
            return false;
        }

        if (head.Failed)
        {
            failed = true;
            _retiredKeyLength = head.KeyLength;
            _retiredValueLength = head.ValueLength;
            _bytes.Read(head.Position, _retired.AsSpan(0, head.KeyLength + head.ValueLength));
        }

        end = head.End;
        _ring[_head] = null;
        _head = (_head + 1) % _ring.Length;
        Volatile.Write(ref _count, _count - 1);
        _bytes.ReleaseTo(head.Position + head.KeyLength + head.ValueLength);
        return true;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for librdkafka to deliver what it holds (at shutdown).</summary>
    public void Flush(TimeSpan timeout)
    {
        try
        {
            _producer.Flush(timeout);
        }
        catch (Exception failure) when (failure is KafkaException or ObjectDisposedException)
        {
            // A producer in a fatal state cannot flush; its records stay in the log, past the checkpoint.
        }
    }

    /// <summary>
    /// After a fatal error (the idempotent producer lost its state): disposes the producer, marks every
    /// unsettled ticket failed (so that it is written to the log again when retired) and creates a new one.
    /// Returns false if the new producer could not be created (tried again on the next call).
    /// </summary>
    public bool Recreate()
    {
        try
        {
            _producer.Dispose();
        }
        catch (Exception failure) when (failure is KafkaException or ObjectDisposedException)
        {
            // It is being replaced because it failed; its state no longer matters.
        }

        for (var i = 0; i < _count; i++)
        {
            var ticket = _ring[(_head + i) % _ring.Length]!;
            if (!ticket.Done)
            {
                ticket.Failed = true;
                ticket.Done = true;
            }
        }

        try
        {
            _producer = CreateProducer();
        }
        catch (ArgumentException)
        {
            // The same configuration worked at start; the pump tries again on its next turn.
            return false;
        }

        _fatal = false;
        _counters.AddProducerRestart();
        return true;
    }

    /// <summary>Disposes the producer; failures reported from now on (the purge of what it still holds) leave their records in the log.</summary>
    public void Dispose()
    {
        _closing = true;
        try
        {
            _producer.Dispose();
        }
        catch (Exception failure) when (failure is KafkaException or ObjectDisposedException)
        {
            // Already disposed by a recreation that then failed.
        }
    }

    /// <summary>Stops treating delivery failures as retriable: from now on the records they name stay in the log for a restart.</summary>
    public void BeginClosing() => _closing = true;

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
        // the record's bytes stay in the ledger until it is retired.
        config.DeliveryReportFields = "key";
        try
        {
            return new ProducerBuilder<Ticket, byte[]>(config)
                .SetKeySerializer(TicketSerializer.Instance)
                .SetValueSerializer(Serializers.ByteArray)
                .SetErrorHandler(OnError)
                .SetLogHandler(OnLog)
                .SetStatisticsHandler((_, json) => _statistics.Update(json))
                .Build();
        }
        catch (Exception failure) when (failure is ArgumentException or KafkaException or InvalidOperationException)
        {
            throw new ArgumentException($"{KafkaSinkOptions.Section}:Producer: librdkafka refused the configuration: {failure.Message}", nameof(_options), failure);
        }
    }

    private void RemoveLast()
    {
        var index = (_head + _count - 1) % _ring.Length;
        _bytes.TruncateTo(_ring[index]!.Position);
        _ring[index] = null;
        Volatile.Write(ref _count, _count - 1);
    }

    /// <summary>
    /// An array of exactly <paramref name="bytes"/>' length holding them: librdkafka copies a record during
    /// Produce, so one array per length serves every record (no allocation per record).
    /// </summary>
    private static byte[] Scratch(ReadOnlySpan<byte> bytes, byte[]?[] arrays)
    {
        var array = arrays[bytes.Length] ??= new byte[bytes.Length];
        bytes.CopyTo(array);
        return array;
    }

    private void OnDelivery(DeliveryReport<Ticket, byte[]> report)
    {
        var ticket = report.Message.Key;
        var error = report.Error;
        if (error.Code == ErrorCode.NoError)
        {
            _counters.AddDelivered();
        }
        else if (IsPermanent(error.Code))
        {
            _counters.AddDeliveryFailed();
            _reports.Rejected(error);
        }
        else if (_closing)
        {
            // Purged at shutdown: the record stays in the log, past the checkpoint, for the restart.
            return;
        }
        else
        {
            // A passing failure (a configured timeout, a purge): retired as failed, the record is written to the log's end and sent again.
            _reports.DeliveryRetried(error);
            ticket.Failed = true;
        }

        // No lock on librdkafka's thread: the pump retires settled tickets from the head in its own time.
        ticket.Done = true;
    }

    private void OnError(IProducer<Ticket, byte[]> producer, Error error)
    {
        if (error.IsFatal)
        {
            _fatal = true;
            _reports.Fatal(error);
        }
        else if (error.Code == ErrorCode.Local_AllBrokersDown)
        {
            _reports.BrokersDown(error.Reason);
        }
        else
        {
            _reports.KafkaError(error);
        }
    }

    private void OnLog(IProducer<Ticket, byte[]> producer, LogMessage message)
    {
        // librdkafka's warnings and errors (connection refused, authentication failed) repeat every retry: rate-limited per facility.
        if (message.Level <= SyslogLevel.Warning)
        {
            _reports.Librdkafka(message.Facility, message.Message);
        }
    }

    internal static bool IsPermanent(ErrorCode code) => code is
        ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidMsg or ErrorCode.InvalidMsgSize
        or ErrorCode.RecordListTooLarge or ErrorCode.TopicAuthorizationFailed or ErrorCode.ClusterAuthorizationFailed
        or ErrorCode.TopicException or ErrorCode.InvalidRequiredAcks or ErrorCode.PolicyViolation or ErrorCode.InvalidRecord
        or ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic or ErrorCode.Local_UnknownPartition
        or ErrorCode.Local_BadMsg or ErrorCode.Local_InvalidArg;
}

/// <summary>One record on its way through librdkafka: its place in the log, where its bytes are kept, and its key while it is produced.</summary>
internal sealed class Ticket(long position, int keyLength, int valueLength, LogPosition end)
{
    /// <summary>Where the key, then the value, are in the ledger's <see cref="InFlightBytes"/>.</summary>
    public long Position { get; } = position;
    public int KeyLength { get; } = keyLength;
    public int ValueLength { get; } = valueLength;

    /// <summary>Where the record ends in the log: retiring the ticket consumes the log up to here.</summary>
    public LogPosition End { get; } = end;

    /// <summary>The key's bytes for the serializer, set only for the length of Produce (an array shared by keys of one length).</summary>
    public byte[]? WireKey { get; set; }

    /// <summary>Settled: acknowledged, rejected for good, or failed. Set on librdkafka's thread, read by the pump, hence volatile.</summary>
    public volatile bool Done;

    /// <summary>Failed for a passing reason: write it to the log again when retiring it. Set before <see cref="Done"/>.</summary>
    public volatile bool Failed;
}

/// <summary>The message key is the ticket's own key bytes; the ticket itself comes back with the acknowledgement.</summary>
internal sealed class TicketSerializer : ISerializer<Ticket>
{
    public static readonly TicketSerializer Instance = new();

    public byte[] Serialize(Ticket data, SerializationContext context) =>
        data.WireKey ?? throw new InvalidOperationException("A ticket's key is serialized only while it is produced.");
}
