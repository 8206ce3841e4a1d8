using VtapCollector.Flows;

namespace VtapCollector.Export.Sinks;

/// <summary>
/// A destination for flow records (stdout, rotating files, Kafka). Every call comes from the one
/// exporter thread, never from the packet path, so an implementation needs no locking of its own.
/// </summary>
public interface IRecordSink : IDisposable
{
    /// <summary>A short stable name, used as the <c>sink</c> label of the metrics.</summary>
    string Name { get; }

    /// <summary>
    /// False while the sink cannot deliver (disk full, file not writable, broker unreachable):
    /// <c>/readyz</c> reports it and the exporter counts what it could not write.
    /// </summary>
    bool IsHealthy { get; }

    /// <summary>
    /// Takes one record. <paramref name="line"/> is its JSON Lines encoding, newline included,
    /// valid only during the call. Returns false when the record could not be accepted; the
    /// caller counts it as dropped for this sink.
    /// </summary>
    bool Write(in FlowRecord record, ReadOnlySpan<byte> line);

    /// <summary>Pushes buffered records to their destination (called about once a second and at shutdown).</summary>
    void Flush();
}
