using VtapCollector.Flows;

namespace VtapCollector.Export.Formats;

/// <summary>The native format, <c>vtap</c>: one JSON object per record in the <c>vtap-flow/1</c> schema (docs/schema.md).</summary>
public sealed class VtapJsonEncoder(ushort communityIdSeed = 0) : IRecordEncoder
{
    /// <summary>The format's configuration name.</summary>
    public const string FormatName = "vtap";

    /// <inheritdoc/>
    public string Name => FormatName;

    /// <inheritdoc/>
    public int MaxRecordLength => FlowRecordJsonEncoder.MaxRecordLength;

    /// <inheritdoc/>
    public int Encode(in FlowRecord record, Span<byte> destination) => FlowRecordJsonEncoder.Encode(record, destination, communityIdSeed);
}
