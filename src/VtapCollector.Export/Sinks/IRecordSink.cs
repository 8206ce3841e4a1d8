using VtapCollector.Export.Formats;
using VtapCollector.Export.Metrics;
using VtapCollector.Flows;

namespace VtapCollector.Export.Sinks;

/// <summary>
/// A destination for flow records (stdout, rotating files, Kafka). The sink names the format it
/// carries (<see cref="Encoder"/>); the exporter encodes each record once per format in use and hands
/// every sink the bytes of its own format. Every call comes from the one exporter thread, never from
/// the packet path, so an implementation needs no locking of its own for these calls. A sink reports
/// its own metrics (<see cref="IMetricSource"/>), with its <see cref="Name"/> as the <c>sink</c> label.
/// </summary>
public interface IRecordSink : IMetricSource, IDisposable
{
    /// <summary>A short stable name, used as the <c>sink</c> label of the metrics.</summary>
    string Name { get; }

    /// <summary>The format this sink carries: the encoder whose bytes <see cref="Write"/> receives.</summary>
    IRecordEncoder Encoder { get; }

    /// <summary>
    /// False while the sink cannot deliver (disk full, file not writable, broker unreachable):
    /// <c>/readyz</c> reports it and the exporter counts what it could not write.
    /// </summary>
    bool IsHealthy { get; }

    /// <summary>
    /// Whether an unhealthy sink fails <c>/readyz</c>. True for a destination of this collector's own
    /// (its disk, its Kafka backlog), where a load balancer moving traffic to another collector helps;
    /// false where every collector shares the destination, so failing them all would only black out the
    /// other sinks too (an IPFIX collector). <see cref="IsHealthy"/> is reported in the metrics either way.
    /// </summary>
    bool GatesReadiness => true;

    /// <summary>
    /// Takes one record. <paramref name="encoded"/> is the record in the sink's <see cref="Encoder"/>'s
    /// format, without framing (a line sink adds its newline), valid only during the call. Returns
    /// false when the record could not be accepted; the caller counts it as dropped for this sink.
    /// </summary>
    bool Write(in FlowRecord record, ReadOnlySpan<byte> encoded);

    /// <summary>Pushes buffered records to their destination (called about once a second and at shutdown).</summary>
    void Flush();
}
