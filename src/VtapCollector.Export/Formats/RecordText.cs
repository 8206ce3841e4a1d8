using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Export.Formats;

/// <summary>Values that several record formats derive the same way from a <see cref="FlowRecord"/>.</summary>
internal static class RecordText
{
    /// <summary>Protocol 132 (RFC 4960), which <see cref="IpProtocol"/> does not name.</summary>
    public const byte Sctp = 132;

    /// <summary>
    /// Milliseconds since the Unix epoch, rounded down like the native schema's microseconds, so a
    /// millisecond value is always the native timestamp cut to its first three fractional digits.
    /// </summary>
    public static long UnixMillis(long unixNanos)
    {
        var millis = Math.DivRem(unixNanos, 1_000_000L, out var rest);
        return rest < 0 ? millis - 1 : millis;
    }

    /// <summary>
    /// The IANA protocol keyword in lower case (the "Keyword" column of the IANA protocol numbers
    /// registry, as ECS <c>network.transport</c> asks), or an empty span for a protocol without one here.
    /// </summary>
    public static ReadOnlySpan<byte> TransportName(byte protocol) => protocol switch
    {
        IpProtocol.Tcp => "tcp"u8,
        IpProtocol.Udp => "udp"u8,
        IpProtocol.Icmp => "icmp"u8,
        IpProtocol.Icmpv6 => "ipv6-icmp"u8,
        Sctp => "sctp"u8,
        _ => default,
    };

    /// <summary>
    /// ICMP and ICMPv6 carry a type and a code or counterpart type in the port fields of the native
    /// schema (docs/schema.md); the SIEM schemas mean real ports there, so those formats move them aside.
    /// </summary>
    public static bool PortsAreIcmp(byte protocol) => protocol is IpProtocol.Icmp or IpProtocol.Icmpv6;

    /// <summary>Writes a signed whole number.</summary>
    public static void AppendSigned(ref Utf8Buffer json, long value)
    {
        if (value < 0)
        {
            json.Append((byte)'-');
            json.AppendNumber(value == long.MinValue ? (ulong)long.MaxValue + 1 : (ulong)-value);
            return;
        }

        json.AppendNumber((ulong)value);
    }

    /// <summary>Writes an address in quotes.</summary>
    public static void AppendQuotedAddress(ref Utf8Buffer json, IpAddress address, int ipVersion)
    {
        json.Append((byte)'"');
        IpText.Append(ref json, address, ipVersion);
        json.Append((byte)'"');
    }

    /// <summary>The sum of two counters, held at the maximum instead of wrapping (a sum past 2^64 is not a real count).</summary>
    public static ulong SaturatingSum(ulong a, ulong b) => a + b < a ? ulong.MaxValue : a + b;

    /// <summary>The extension objects' tunnel fields (ecs <c>vtap</c>, ocsf <c>unmapped.vtap</c>): the tunnel kind, and its endpoints when there is a tunnel.</summary>
    public static void AppendTunnel(ref Utf8Buffer json, in FlowRecord record)
    {
        json.Append(",\"tunnel\":\""u8);
        json.Append(FlowRecordJsonEncoder.TunnelLabel(record.Tunnel));
        json.Append((byte)'"');
        if (record.Tunnel != TunnelKind.None)
        {
            json.Append(",\"tunnel_src\":"u8);
            AppendQuotedAddress(ref json, record.TunnelSource, record.TunnelIpVersion);
            json.Append(",\"tunnel_dst\":"u8);
            AppendQuotedAddress(ref json, record.TunnelDestination, record.TunnelIpVersion);
        }

        AppendObservationPoints(ref json, record);
    }

    /// <summary>
    /// Double-tap deduplication's fields, only when it is on (<see cref="FlowRecord.ObservationPoints"/>
    /// above 0), so records of a collector without it are unchanged: the taps the flow was seen from
    /// (up to two addresses), their count (3: three or more), and the copies removed each way. The
    /// vtap, ecs and ocsf records carry the same fields.
    /// </summary>
    /// <param name="json">Where the fields go.</param>
    /// <param name="record">The record.</param>
    /// <param name="camelCase">The field names as azure-flowtuple spells its own (<c>observationPoints</c>), not snake_case.</param>
    public static void AppendObservationPoints(ref Utf8Buffer json, in FlowRecord record, bool camelCase = false)
    {
        if (record.ObservationPoints == 0)
        {
            return;
        }

        json.Append(camelCase ? ",\"observationPoints\":["u8 : ",\"observation_points\":["u8);

        // Without a tunnel (a SPAN port) there is no tap address to name.
        if (record.Tunnel != TunnelKind.None)
        {
            AppendQuotedAddress(ref json, record.TunnelSource, record.TunnelSource.IsIPv4Mapped ? 4 : 6);
        }

        if (record.ObservationPoints >= 2)
        {
            json.Append((byte)',');
            AppendQuotedAddress(ref json, record.SecondTunnelSource, record.SecondTunnelSource.IsIPv4Mapped ? 4 : 6);
        }

        json.Append(camelCase ? "],\"observationPointCount\":"u8 : "],\"observation_point_count\":"u8);
        json.AppendNumber(record.ObservationPoints);
        json.Append(camelCase ? ",\"copiesRemovedSrcToDst\":"u8 : ",\"copies_removed_src_to_dst\":"u8);
        json.AppendNumber(record.CopiesRemovedSrcToDst);
        json.Append(camelCase ? ",\"copiesRemovedDstToSrc\":"u8 : ",\"copies_removed_dst_to_src\":"u8);
        json.AppendNumber(record.CopiesRemovedDstToSrc);
    }

    /// <summary>The extension objects' TCP fields, and ICMP's type and code where the schema's ports cannot carry them.</summary>
    public static void AppendStateFlagsAndIcmpTypes(ref Utf8Buffer json, in FlowRecord record, bool icmp)
    {
        json.Append(",\"conn_state\":\""u8);
        json.Append(FlowRecordJsonEncoder.ConnStateLabel(record.ConnState));
        json.Append("\",\"tcp_flags_src_to_dst\":"u8);
        json.AppendNumber(record.TcpFlagsSrcToDst);
        json.Append(",\"tcp_flags_dst_to_src\":"u8);
        json.AppendNumber(record.TcpFlagsDstToSrc);
        if (icmp)
        {
            json.Append(",\"icmp_src_port\":"u8);
            json.AppendNumber(record.SourcePort);
            json.Append(",\"icmp_dst_port\":"u8);
            json.AppendNumber(record.DestinationPort);
        }
    }

    /// <summary>
    /// The extension objects' network fields: each end's configured network when it matched one, and
    /// the flow-log view (<c>I</c>/<c>O</c>) when the tapped interface is an endpoint.
    /// </summary>
    public static void AppendNetworks(ref Utf8Buffer json, in FlowRecord record)
    {
        if (record.SourceNetwork is { } source)
        {
            json.Append(",\"src_network\":"u8);
            FlowRecordJsonEncoder.AppendQuoted(ref json, source.Utf8Name);
        }

        if (record.DestinationNetwork is { } destination)
        {
            json.Append(",\"dst_network\":"u8);
            FlowRecordJsonEncoder.AppendQuoted(ref json, destination.Utf8Name);
        }

        if (FlowLogDirection.Of(record) is var flowLog and not 0)
        {
            json.Append(",\"flowlog_direction\":\""u8);
            json.Append(flowLog);
            json.Append((byte)'"');
        }
    }
}
