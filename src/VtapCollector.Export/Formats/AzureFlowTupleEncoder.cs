using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Export.Formats;

/// <summary>
/// The <c>azure-flowtuple</c> format: one JSON object per record whose <c>flowTuple</c> string has
/// the thirteen comma-separated fields of an Azure virtual network flow log (version 4) tuple, so
/// parsers written for those logs read our records unchanged. Beside it: the record's time, our
/// flow id, Community ID, VNI and sequence, which a VNet tuple has no place for. docs/schema.md
/// says what every field means.
/// </summary>
/// <remarks>
/// A VNet log writes a B (begin) tuple with no counters when a flow starts; we report a flow only
/// with counters, at the active timeout (C) and at its end (E), so no B is written: summing the
/// tuples of a flow gives the same totals either way.
/// </remarks>
public sealed class AzureFlowTupleEncoder(ushort communityIdSeed = 0) : IRecordEncoder
{
    /// <summary>The format's configuration name.</summary>
    public const string FormatName = "azure-flowtuple";

    private const int Length = 896;

    /// <inheritdoc/>
    public string Name => FormatName;

    /// <inheritdoc/>
    public int MaxRecordLength => Length;

    /// <summary>
    /// The tuple's direction, seen from the tapped interface, which is the tunnel's source (an Azure
    /// TAP copy leaves from the tapped VM's own address): <c>O</c> when that interface is the
    /// initiator, <c>I</c> when it is the responder, and <c>0</c> (no byte) when it is neither, as
    /// without a tunnel or when the VM's public address is the inner one (<see cref="FlowLogDirection"/>).
    /// </summary>
    public static byte Direction(in FlowRecord record) => FlowLogDirection.Of(record);

    /// <inheritdoc/>
    public int Encode(in FlowRecord record, Span<byte> destination)
    {
        var json = new Utf8Buffer(destination);
        json.Append("{\"time\":\""u8);
        FlowRecordJsonEncoder.AppendTimestamp(ref json, record.LastSeenNanos);
        json.Append("\",\"flowLogVersion\":4,\"flowTuple\":\""u8);
        RecordText.AppendSigned(ref json, RecordText.UnixMillis(record.LastSeenNanos));
        json.Append((byte)',');
        IpText.Append(ref json, record.Source, record.IpVersion);
        json.Append((byte)',');
        IpText.Append(ref json, record.Destination, record.IpVersion);
        json.Append((byte)',');
        json.AppendNumber(record.SourcePort);
        json.Append((byte)',');
        json.AppendNumber(record.DestinationPort);
        json.Append((byte)',');
        json.AppendNumber(record.Protocol);
        json.Append((byte)',');
        var direction = Direction(record);
        if (direction != 0)
        {
            json.Append(direction);
        }

        json.Append((byte)',');
        json.Append(record.Type == FlowRecordType.End ? (byte)'E' : (byte)'C');

        // NX, not encrypted: the copies a TAP delivers are the packets as the VM sent them, and
        // nothing here sees Azure's virtual network encryption.
        json.Append(",NX,"u8);
        json.AppendNumber(record.PacketsSrcToDst);
        json.Append((byte)',');
        json.AppendNumber(record.BytesSrcToDst);
        json.Append((byte)',');
        json.AppendNumber(record.PacketsDstToSrc);
        json.Append((byte)',');
        json.AppendNumber(record.BytesDstToSrc);
        json.Append("\",\"flowId\":\""u8);
        json.Advance(FlowIdText.Format(record, json.Free));
        json.Append("\",\"communityId\":\""u8);
        json.Advance(CommunityId.Format(record.IpVersion, record.Source, record.Destination, record.Protocol, record.SourcePort, record.DestinationPort, communityIdSeed, json.Free));
        json.Append("\",\"vni\":"u8);
        json.AppendNumber(record.Vni);
        json.Append(",\"seq\":"u8);
        json.AppendNumber(record.Sequence);

        // Beside the tuple, as Traffic Analytics adds them: the two ends' networks, the direction
        // from their Local flags, and the responder port's service name (its L7 protocol).
        json.Append(",\"srcNetwork\":"u8);
        FlowRecordJsonEncoder.AppendQuoted(ref json, FlowRecordJsonEncoder.NetworkName(record.SourceNetwork));
        json.Append(",\"dstNetwork\":"u8);
        FlowRecordJsonEncoder.AppendQuoted(ref json, FlowRecordJsonEncoder.NetworkName(record.DestinationNetwork));
        json.Append(",\"direction\":"u8);
        FlowRecordJsonEncoder.AppendQuoted(ref json, TrafficDirections.Label(record.Direction));
        json.Append(",\"app\":"u8);
        FlowRecordJsonEncoder.AppendQuoted(ref json, ServiceNames.OfResponder(record));
        RecordText.AppendObservationPoints(ref json, record, camelCase: true);
        json.Append((byte)'}');
        return json.Length;
    }
}
