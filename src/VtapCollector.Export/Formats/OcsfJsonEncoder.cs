using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Export.Formats;

/// <summary>
/// The <c>ocsf</c> format: one JSON object per record as an OCSF 1.8.0 Network Activity event
/// (class_uid 4001, category_uid 4). Source is the initiator, as the class defines
/// <c>src_endpoint</c>; <c>traffic</c> holds this record's deltas (the class keeps running totals
/// for <c>cumulative_traffic</c>). What OCSF has no attribute for (VNI, tunnel, connection state,
/// per-direction TCP flags, sequence) goes in <c>unmapped</c>. The mapping is in docs/schema.md.
/// </summary>
public sealed class OcsfJsonEncoder(ushort communityIdSeed = 0) : IRecordEncoder
{
    /// <summary>The format's configuration name.</summary>
    public const string FormatName = "ocsf";

    /// <summary>The OCSF schema version the records follow, written in <c>metadata.version</c>.</summary>
    public const string SchemaVersion = "1.8.0";

    /// <summary>Network Activity's class_uid.</summary>
    public const int ClassUid = 4001;

    private const int Length = 1792;

    /// <inheritdoc/>
    public string Name => FormatName;

    /// <inheritdoc/>
    public int MaxRecordLength => Length;

    /// <summary>
    /// The class's activity_id: 6 Traffic for an interim report; for the end of a flow, 5 Refuse when
    /// the responder rejected the connection (Zeek REJ), 3 Reset when a RST ended it, 2 Close otherwise.
    /// </summary>
    public static int ActivityId(in FlowRecord record) => record.Type != FlowRecordType.End ? 6
        : record.ConnState == ConnState.REJ ? 5
        : record.EndReason == EndReason.Rst ? 3
        : 2;

    /// <summary>
    /// The base event's status_id from what the TCP handshake showed: 1 Success once established,
    /// 2 Failure when it never completed, 0 Unknown when the handshake was not seen or for other
    /// protocols (a datagram flow has no success to observe).
    /// </summary>
    public static int StatusId(in FlowRecord record)
    {
        if (record.Protocol != IpProtocol.Tcp)
        {
            return 0;
        }

        return record.ConnState switch
        {
            ConnState.S1 or ConnState.SF or ConnState.S2 or ConnState.S3 or ConnState.RSTO or ConnState.RSTR => 1,
            ConnState.S0 or ConnState.REJ or ConnState.RSTOS0 or ConnState.SH => 2,
            _ => 0,
        };
    }

    /// <inheritdoc/>
    public int Encode(in FlowRecord record, Span<byte> destination)
    {
        var json = new Utf8Buffer(destination);
        var activity = ActivityId(record);
        var status = StatusId(record);
        var icmp = RecordText.PortsAreIcmp(record.Protocol);

        json.Append("{\"class_uid\":4001,\"class_name\":\"Network Activity\",\"category_uid\":4,\"category_name\":\"Network Activity\",\"activity_id\":"u8);
        json.AppendNumber((ulong)activity);
        json.Append(",\"activity_name\":\""u8);
        json.Append(ActivityName(activity));
        json.Append("\",\"type_uid\":"u8);
        json.AppendNumber((ulong)((ClassUid * 100) + activity));
        json.Append(",\"type_name\":\"Network Activity: "u8);
        json.Append(ActivityName(activity));
        json.Append("\",\"severity_id\":1,\"severity\":\"Informational\",\"status_id\":"u8);
        json.AppendNumber((ulong)status);
        json.Append(",\"status\":\""u8);
        json.Append(status switch { 1 => "Success"u8, 2 => "Failure"u8, _ => "Unknown"u8 });
        json.Append("\",\"time\":"u8);
        RecordText.AppendSigned(ref json, RecordText.UnixMillis(record.LastSeenNanos));
        json.Append(",\"start_time\":"u8);
        RecordText.AppendSigned(ref json, RecordText.UnixMillis(record.FirstSeenNanos));
        json.Append(",\"end_time\":"u8);
        RecordText.AppendSigned(ref json, RecordText.UnixMillis(record.LastSeenNanos));
        json.Append(",\"metadata\":{\"version\":\"1.8.0\",\"product\":{\"name\":\"VtapCollector\",\"vendor_name\":\"VtapCollector\"}},\"src_endpoint\":{\"ip\":"u8);
        RecordText.AppendQuotedAddress(ref json, record.Source, record.IpVersion);
        AppendPort(ref json, icmp, record.SourcePort);
        AppendNetwork(ref json, record, record.SourceNetwork);
        json.Append("},\"dst_endpoint\":{\"ip\":"u8);
        RecordText.AppendQuotedAddress(ref json, record.Destination, record.IpVersion);
        AppendPort(ref json, icmp, record.DestinationPort);
        AppendNetwork(ref json, record, record.DestinationNetwork);

        json.Append("},\"connection_info\":{\"uid\":\""u8);
        json.Advance(FlowIdText.Format(record, json.Free));
        json.Append("\",\"community_uid\":\""u8);
        json.Advance(CommunityId.Format(record.IpVersion, record.Source, record.Destination, record.Protocol, record.SourcePort, record.DestinationPort, communityIdSeed, json.Free));
        json.Append("\",\"protocol_num\":"u8);
        json.AppendNumber(record.Protocol);
        var name = RecordText.TransportName(record.Protocol);
        if (!name.IsEmpty)
        {
            json.Append(",\"protocol_name\":\""u8);
            json.Append(name);
            json.Append((byte)'"');
        }

        // protocol_ver_id: 4 Internet Protocol version 4, 6 version 6.
        json.Append(",\"protocol_ver_id\":"u8);
        json.AppendNumber(record.IpVersion);
        json.Append(DirectionAttributes(record.Direction));
        if (record.Protocol == IpProtocol.Tcp)
        {
            json.Append(",\"tcp_flags\":"u8);
            json.AppendNumber((byte)(record.TcpFlagsSrcToDst | record.TcpFlagsDstToSrc));
        }

        // out = sent by the source endpoint (the initiator), in = sent by the destination.
        json.Append("},\"traffic\":{\"bytes_out\":"u8);
        json.AppendNumber(record.BytesSrcToDst);
        json.Append(",\"packets_out\":"u8);
        json.AppendNumber(record.PacketsSrcToDst);
        json.Append(",\"bytes_in\":"u8);
        json.AppendNumber(record.BytesDstToSrc);
        json.Append(",\"packets_in\":"u8);
        json.AppendNumber(record.PacketsDstToSrc);
        json.Append(",\"bytes\":"u8);
        json.AppendNumber(RecordText.SaturatingSum(record.BytesSrcToDst, record.BytesDstToSrc));
        json.Append(",\"packets\":"u8);
        json.AppendNumber(RecordText.SaturatingSum(record.PacketsSrcToDst, record.PacketsDstToSrc));

        json.Append((byte)'}');
        var app = ServiceNames.OfResponder(record);
        if (!app.IsEmpty)
        {
            json.Append(",\"app_protocol_name\":"u8);
            FlowRecordJsonEncoder.AppendQuoted(ref json, app);
        }

        json.Append(",\"unmapped\":{\"vtap\":{\"type\":\""u8);
        json.Append(record.Type == FlowRecordType.End ? "end"u8 : "update"u8);
        json.Append((byte)'"');
        if (record.Type == FlowRecordType.End)
        {
            json.Append(",\"end_reason\":\""u8);
            json.Append(FlowRecordJsonEncoder.EndReasonLabel(record.EndReason));
            json.Append((byte)'"');
        }

        json.Append(",\"seq\":"u8);
        json.AppendNumber(record.Sequence);
        json.Append(",\"vni\":"u8);
        json.AppendNumber(record.Vni);
        RecordText.AppendTunnel(ref json, record);

        json.Append(",\"vlan\":"u8);
        json.AppendNumber(record.Vlan);
        RecordText.AppendStateFlagsAndIcmpTypes(ref json, record, icmp);
        RecordText.AppendNetworks(ref json, record);

        json.Append("}}}"u8);
        return json.Length;
    }

    /// <summary>
    /// connection_info's direction: Inbound (1) and Outbound (2) as ours; internal is OCSF's Lateral
    /// (3, between internal hosts); external has no OCSF value, so Other (99) with our word; Unknown
    /// (0) when no networks are configured.
    /// </summary>
    private static ReadOnlySpan<byte> DirectionAttributes(TrafficDirection direction) => direction switch
    {
        TrafficDirection.Inbound => ",\"direction_id\":1,\"direction\":\"Inbound\""u8,
        TrafficDirection.Outbound => ",\"direction_id\":2,\"direction\":\"Outbound\""u8,
        TrafficDirection.Internal => ",\"direction_id\":3,\"direction\":\"Lateral\""u8,
        TrafficDirection.External => ",\"direction_id\":99,\"direction\":\"External\""u8,
        _ => ",\"direction_id\":0,\"direction\":\"Unknown\""u8,
    };

    /// <summary>
    /// An endpoint's network: its name as <c>zone</c> (OCSF: the network zone or LAN segment) and,
    /// once networks are configured, <c>network_scope_id</c> 1 Internal for a local network, 2 External
    /// for any other address.
    /// </summary>
    private static void AppendNetwork(ref Utf8Buffer json, in FlowRecord record, FlowNetwork? network)
    {
        if (network is not null)
        {
            json.Append(",\"zone\":"u8);
            FlowRecordJsonEncoder.AppendQuoted(ref json, network.Utf8Name);
        }

        if (record.Direction != TrafficDirection.Unknown)
        {
            json.Append(network?.IsLocal == true ? ",\"network_scope_id\":1,\"network_scope\":\"Internal\""u8 : ",\"network_scope_id\":2,\"network_scope\":\"External\""u8);
        }
    }

    private static ReadOnlySpan<byte> ActivityName(int activity) => activity switch
    {
        2 => "Close"u8,
        3 => "Reset"u8,
        5 => "Refuse"u8,
        _ => "Traffic"u8,
    };

    /// <summary>An endpoint's <c>port</c> is a transport port: ICMP's type and code stay out of it (they go in <c>unmapped</c>).</summary>
    private static void AppendPort(ref Utf8Buffer json, bool icmp, ushort port)
    {
        if (!icmp)
        {
            json.Append(",\"port\":"u8);
            json.AppendNumber(port);
        }
    }
}
