namespace VtapCollector.Kafka;

/// <summary>
/// The sink's running counts, written by the exporter's thread, the log pump and librdkafka's
/// threads alike (hence <see cref="Interlocked"/>), read by a scrape from any thread.
/// </summary>
internal sealed class KafkaCounters
{
    private long _produced;
    private long _delivered;
    private long _deliveryFailed;
    private long _spooled;
    private long _respooled;
    private long _replayed;
    private long _lost;
    private long _refused;
    private long _producerRestarts;

    public long Produced => Interlocked.Read(ref _produced);

    public long Delivered => Interlocked.Read(ref _delivered);

    public long DeliveryFailed => Interlocked.Read(ref _deliveryFailed);

    public long Spooled => Interlocked.Read(ref _spooled);

    public long Respooled => Interlocked.Read(ref _respooled);

    public long Replayed => Interlocked.Read(ref _replayed);

    public long Lost => Interlocked.Read(ref _lost);

    public long Refused => Interlocked.Read(ref _refused);

    public long ProducerRestarts => Interlocked.Read(ref _producerRestarts);

    public void AddProduced() => Interlocked.Increment(ref _produced);

    public void AddDelivered() => Interlocked.Increment(ref _delivered);

    public void AddDeliveryFailed() => Interlocked.Increment(ref _deliveryFailed);

    public void AddSpooled() => Interlocked.Increment(ref _spooled);

    public void AddRespooled() => Interlocked.Increment(ref _respooled);

    public void AddReplayed() => Interlocked.Increment(ref _replayed);

    public void AddLost(long count = 1) => Interlocked.Add(ref _lost, count);

    public void AddRefused() => Interlocked.Increment(ref _refused);

    public void AddProducerRestart() => Interlocked.Increment(ref _producerRestarts);
}
