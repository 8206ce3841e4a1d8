using VtapCollector.Flows;

namespace VtapCollector.Export.Formats;

/// <summary>
/// Turns a <see cref="FlowRecord"/> into the bytes of one output format (the vtap JSON schema, ECS, OCSF,
/// VNet flow tuples; IPFIX next). A sink names the encoder it carries, and the exporter encodes each record
/// once per encoder in use, so adding a format is one new encoder and touches no sink.
/// </summary>
/// <remarks>Called once per record on the exporter's thread, never per packet: an interface call is fine here.</remarks>
public interface IRecordEncoder
{
    /// <summary>The format's configuration name (<c>Sinks:*:Format</c>), e.g. <c>vtap</c>.</summary>
    string Name { get; }

    /// <summary>Upper bound of one encoded record in bytes: the size of the buffer the exporter gives <see cref="Encode"/>.</summary>
    int MaxRecordLength { get; }

    /// <summary>
    /// Writes one record into <paramref name="destination"/> (at least <see cref="MaxRecordLength"/> bytes)
    /// and returns the bytes written. No framing: a line-oriented sink adds its own newline, a message
    /// sink (Kafka) sends exactly these bytes.
    /// </summary>
    int Encode(in FlowRecord record, Span<byte> destination);
}
