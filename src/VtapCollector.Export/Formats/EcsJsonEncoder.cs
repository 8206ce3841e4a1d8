using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Export.Formats;

/// <summary>
/// The <c>ecs</c> format: one JSON object per record in the Elastic Common Schema (ECS 9.4), nested
/// as Elasticsearch stores it. Source is the initiator, as ECS defines <c>source.*</c> for a
/// connection. Fields ECS has no place for (VNI, tunnel, connection state, per-direction TCP flags,
/// sequence) go under the custom <c>vtap</c> object. The mapping is in docs/schema.md.
/// </summary>
/// <remarks>
/// <c>network.direction</c> is the record's direction (ECS's inbound, outbound, internal, external)
/// when networks are configured, <c>network.protocol</c> the responder port's service name when the
/// table has one; ECS has no field for an endpoint's network name, so those go under <c>vtap</c>.
/// </remarks>
public sealed class EcsJsonEncoder(ushort communityIdSeed = 0) : IRecordEncoder
{
    /// <summary>The format's configuration name.</summary>
    public const string FormatName = "ecs";

    /// <summary>The ECS version the records follow, written in <c>ecs.version</c>.</summary>
    public const string EcsVersion = "9.4.0";

    private const int Length = 1536;

    /// <inheritdoc/>
    public string Name => FormatName;

    /// <inheritdoc/>
    public int MaxRecordLength => Length;

    /// <inheritdoc/>
    public int Encode(in FlowRecord record, Span<byte> destination)
    {
        var json = new Utf8Buffer(destination);
        var end = record.Type == FlowRecordType.End;
        var icmp = RecordText.PortsAreIcmp(record.Protocol);

        json.Append("{\"@timestamp\":\""u8);
        FlowRecordJsonEncoder.AppendTimestamp(ref json, record.LastSeenNanos);
        json.Append("\",\"ecs\":{\"version\":\""u8);
        json.Append("9.4.0"u8);

        // ECS event categorization: a connection record is kind "event", category "network", and
        // type "end" once the connection is over, "info" for an interim report.
        json.Append("\"},\"event\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\""u8);
        json.Append(end ? "end"u8 : "info"u8);
        json.Append("\"],\"action\":\""u8);
        json.Append(end ? "flow-end"u8 : "flow-update"u8);
        json.Append((byte)'"');
        if (end)
        {
            json.Append(",\"reason\":\""u8);
            json.Append(FlowRecordJsonEncoder.EndReasonLabel(record.EndReason));
            json.Append((byte)'"');
        }

        json.Append(",\"start\":\""u8);
        FlowRecordJsonEncoder.AppendTimestamp(ref json, record.FirstSeenNanos);
        json.Append("\",\"end\":\""u8);
        FlowRecordJsonEncoder.AppendTimestamp(ref json, record.LastSeenNanos);
        json.Append("\",\"duration\":"u8);
        RecordText.AppendSigned(ref json, record.LastSeenNanos - record.FirstSeenNanos);

        json.Append("},\"source\":{\"ip\":"u8);
        RecordText.AppendQuotedAddress(ref json, record.Source, record.IpVersion);
        AppendPortAndCounters(ref json, icmp, record.SourcePort, record.BytesSrcToDst, record.PacketsSrcToDst);
        json.Append("},\"destination\":{\"ip\":"u8);
        RecordText.AppendQuotedAddress(ref json, record.Destination, record.IpVersion);
        AppendPortAndCounters(ref json, icmp, record.DestinationPort, record.BytesDstToSrc, record.PacketsDstToSrc);

        json.Append("},\"network\":{"u8);
        var transport = RecordText.TransportName(record.Protocol);
        json.Append("\"transport\":\""u8);
        if (transport.IsEmpty)
        {
            json.AppendNumber(record.Protocol);
        }
        else
        {
            json.Append(transport);
        }

        // iana_number is a keyword in ECS, so a string.
        json.Append("\",\"iana_number\":\""u8);
        json.AppendNumber(record.Protocol);
        json.Append("\",\"type\":\""u8);
        json.Append(record.IpVersion == 4 ? "ipv4"u8 : "ipv6"u8);
        json.Append("\",\"community_id\":\""u8);
        json.Advance(CommunityId.Format(record.IpVersion, record.Source, record.Destination, record.Protocol, record.SourcePort, record.DestinationPort, communityIdSeed, json.Free));
        json.Append("\",\"bytes\":"u8);
        json.AppendNumber(RecordText.SaturatingSum(record.BytesSrcToDst, record.BytesDstToSrc));
        json.Append(",\"packets\":"u8);
        json.AppendNumber(RecordText.SaturatingSum(record.PacketsSrcToDst, record.PacketsDstToSrc));
        var direction = TrafficDirections.Label(record.Direction);
        if (!direction.IsEmpty)
        {
            json.Append(",\"direction\":"u8);
            FlowRecordJsonEncoder.AppendQuoted(ref json, direction);
        }

        var app = ServiceNames.OfResponder(record);
        if (!app.IsEmpty)
        {
            json.Append(",\"protocol\":"u8);
            FlowRecordJsonEncoder.AppendQuoted(ref json, app);
        }

        if (record.Vlan != 0)
        {
            json.Append(",\"vlan\":{\"id\":\""u8);
            json.AppendNumber(record.Vlan);
            json.Append("\"}"u8);
        }

        json.Append("},\"vtap\":{\"flow_id\":\""u8);
        json.Advance(FlowIdText.Format(record, json.Free));
        json.Append("\",\"seq\":"u8);
        json.AppendNumber(record.Sequence);
        json.Append(",\"type\":\""u8);
        json.Append(end ? "end"u8 : "update"u8);
        json.Append("\",\"vni\":"u8);
        json.AppendNumber(record.Vni);
        RecordText.AppendTunnel(ref json, record);
        RecordText.AppendStateFlagsAndIcmpTypes(ref json, record, icmp);
        RecordText.AppendNetworks(ref json, record);

        json.Append("}}"u8);
        return json.Length;
    }

    /// <summary>ECS <c>*.port</c> means a transport port: ICMP's type and code stay out of it (they go under <c>vtap</c>).</summary>
    private static void AppendPortAndCounters(ref Utf8Buffer json, bool icmp, ushort port, ulong bytes, ulong packets)
    {
        if (!icmp)
        {
            json.Append(",\"port\":"u8);
            json.AppendNumber(port);
        }

        json.Append(",\"bytes\":"u8);
        json.AppendNumber(bytes);
        json.Append(",\"packets\":"u8);
        json.AppendNumber(packets);
    }
}
