using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Export;

/// <summary>
/// Encodes a <see cref="FlowRecord"/> as one JSON object on one line (JSON Lines), schema
/// <see cref="Schema"/> documented in docs/schema.md. Written by hand into a caller's buffer: every
/// value is a number, null, or ASCII text that needs no escaping (addresses, enum labels,
/// base64), so this is both exact and allocation-free.
/// </summary>
public static class FlowRecordJsonEncoder
{
    /// <summary>Schema name and version written in every record's <c>schema</c> field.</summary>
    public const string Schema = "vtap-flow/1";

    /// <summary>Upper bound of one encoded record (a line sink's newline not included).</summary>
    public const int MaxRecordLength = 1280;

    private static readonly byte[] SchemaPrefix = System.Text.Encoding.ASCII.GetBytes("{\"schema\":\"" + Schema + "\",\"type\":\"");

    /// <summary>Writes the record as one JSON object, without a newline (line sinks add their own); returns the bytes written.</summary>
    public static int Encode(in FlowRecord record, Span<byte> destination, ushort communityIdSeed = 0)
    {
        var json = new Utf8Buffer(destination);
        json.Append(SchemaPrefix);
        json.Append(record.Type == FlowRecordType.End ? "end"u8 : "update"u8);
        json.Append("\",\"end_reason\":"u8);
        if (record.Type == FlowRecordType.End)
        {
            json.Append((byte)'"');
            json.Append(EndReasonLabel(record.EndReason));
            json.Append((byte)'"');
        }
        else
        {
            json.Append("null"u8);
        }

        json.Append(",\"flow_id\":\""u8);
        json.Advance(Formats.FlowIdText.Format(record, json.Free));
        json.Append("\",\"community_id\":\""u8);
        json.Advance(CommunityId.Format(record.IpVersion, record.Source, record.Destination, record.Protocol, record.SourcePort, record.DestinationPort, communityIdSeed, json.Free));
        json.Append("\",\"vni\":"u8);
        json.AppendNumber(record.Vni);
        json.Append(",\"tunnel\":\""u8);
        json.Append(TunnelLabel(record.Tunnel));
        json.Append("\",\"tunnel_src\":"u8);
        AppendAddressOrNull(ref json, record.Tunnel != TunnelKind.None, record.TunnelSource, record.TunnelIpVersion);
        json.Append(",\"tunnel_dst\":"u8);
        AppendAddressOrNull(ref json, record.Tunnel != TunnelKind.None, record.TunnelDestination, record.TunnelIpVersion);
        json.Append(",\"vlan\":"u8);
        json.AppendNumber(record.Vlan);
        json.Append(",\"ip_version\":"u8);
        json.AppendNumber(record.IpVersion);
        json.Append(",\"src_ip\":"u8);
        AppendAddressOrNull(ref json, true, record.Source, record.IpVersion);
        json.Append(",\"src_port\":"u8);
        json.AppendNumber(record.SourcePort);
        json.Append(",\"dst_ip\":"u8);
        AppendAddressOrNull(ref json, true, record.Destination, record.IpVersion);
        json.Append(",\"dst_port\":"u8);
        json.AppendNumber(record.DestinationPort);
        json.Append(",\"protocol\":"u8);
        json.AppendNumber(record.Protocol);
        json.Append(",\"first_seen\":\""u8);
        AppendTimestamp(ref json, record.FirstSeenNanos);
        json.Append("\",\"last_seen\":\""u8);
        AppendTimestamp(ref json, record.LastSeenNanos);
        json.Append("\",\"packets_src_to_dst\":"u8);
        json.AppendNumber(record.PacketsSrcToDst);
        json.Append(",\"bytes_src_to_dst\":"u8);
        json.AppendNumber(record.BytesSrcToDst);
        json.Append(",\"packets_dst_to_src\":"u8);
        json.AppendNumber(record.PacketsDstToSrc);
        json.Append(",\"bytes_dst_to_src\":"u8);
        json.AppendNumber(record.BytesDstToSrc);
        json.Append(",\"tcp_flags_src_to_dst\":"u8);
        json.AppendNumber(record.TcpFlagsSrcToDst);
        json.Append(",\"tcp_flags_dst_to_src\":"u8);
        json.AppendNumber(record.TcpFlagsDstToSrc);
        json.Append(",\"conn_state\":\""u8);
        json.Append(ConnStateLabel(record.ConnState));
        json.Append("\",\"seq\":"u8);
        json.AppendNumber(record.Sequence);
        json.Append(",\"src_network\":"u8);
        AppendQuoted(ref json, NetworkName(record.SourceNetwork));
        json.Append(",\"dst_network\":"u8);
        AppendQuoted(ref json, NetworkName(record.DestinationNetwork));
        json.Append(",\"direction\":"u8);
        AppendQuoted(ref json, TrafficDirections.Label(record.Direction));
        json.Append(",\"app\":"u8);
        AppendQuoted(ref json, ServiceNames.OfResponder(record));
        json.Append(",\"flowlog_direction\":\""u8);
        if (FlowLogDirection.Of(record) is var flowLog and not 0)
        {
            json.Append(flowLog);
        }

        json.Append("\"}"u8);
        return json.Length;
    }

    /// <summary>A network's name as written in records: empty when the address matched no configured network.</summary>
    internal static ReadOnlySpan<byte> NetworkName(FlowNetwork? network) => network is null ? default : network.Utf8Name;

    /// <summary>Writes ASCII text that needs no escaping (names, labels) in quotes.</summary>
    internal static void AppendQuoted(ref Utf8Buffer json, scoped ReadOnlySpan<byte> text)
    {
        json.Append((byte)'"');
        json.Append(text);
        json.Append((byte)'"');
    }

    internal static void AppendAddressOrNull(ref Utf8Buffer json, bool present, IpAddress address, int ipVersion)
    {
        if (!present)
        {
            json.Append("null"u8);
            return;
        }

        json.Append((byte)'"');
        json.Advance(IpText.Format(address, ipVersion, json.Free));
        json.Append((byte)'"');
    }

    /// <summary>RFC 3339 in UTC with microseconds, e.g. 2013-05-18T20:21:44.837063Z, written digit by digit.</summary>
    internal static void AppendTimestamp(ref Utf8Buffer json, long unixNanos)
    {
        var seconds = Math.DivRem(unixNanos, 1_000_000_000L, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += 1_000_000_000L;
        }

        var time = DateTime.UnixEpoch.AddSeconds(seconds);
        var (date, _) = time;
        var (year, month, day) = date;
        var digits = json.Free;
        WriteDigits(digits, year, 4);
        digits[4] = (byte)'-';
        WriteDigits(digits[5..], month, 2);
        digits[7] = (byte)'-';
        WriteDigits(digits[8..], day, 2);
        digits[10] = (byte)'T';
        WriteDigits(digits[11..], time.Hour, 2);
        digits[13] = (byte)':';
        WriteDigits(digits[14..], time.Minute, 2);
        digits[16] = (byte)':';
        WriteDigits(digits[17..], time.Second, 2);
        digits[19] = (byte)'.';
        WriteDigits(digits[20..], (int)(nanos / 1_000), 6);
        digits[26] = (byte)'Z';
        json.Advance(27);
    }

    private static void WriteDigits(Span<byte> destination, int value, int count)
    {
        for (var i = count - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }

    internal static ReadOnlySpan<byte> TunnelLabel(TunnelKind tunnel) => tunnel switch
    {
        TunnelKind.Vxlan => "vxlan"u8,
        TunnelKind.Geneve => "geneve"u8,
        TunnelKind.Erspan => "erspan"u8,
        TunnelKind.Gre => "gre"u8,
        _ => "none"u8,
    };

    internal static ReadOnlySpan<byte> EndReasonLabel(EndReason reason) => reason switch
    {
        EndReason.Fin => "fin"u8,
        EndReason.Rst => "rst"u8,
        EndReason.IdleTimeout => "idle_timeout"u8,
        EndReason.Evicted => "evicted"u8,
        EndReason.EndOfInput => "end_of_input"u8,
        EndReason.Shutdown => "shutdown"u8,
        _ => "unknown"u8,
    };

    internal static ReadOnlySpan<byte> ConnStateLabel(ConnState state) => state switch
    {
        ConnState.S0 => "S0"u8,
        ConnState.S1 => "S1"u8,
        ConnState.SF => "SF"u8,
        ConnState.REJ => "REJ"u8,
        ConnState.S2 => "S2"u8,
        ConnState.S3 => "S3"u8,
        ConnState.RSTO => "RSTO"u8,
        ConnState.RSTR => "RSTR"u8,
        ConnState.RSTOS0 => "RSTOS0"u8,
        ConnState.RSTRH => "RSTRH"u8,
        ConnState.SH => "SH"u8,
        ConnState.SHR => "SHR"u8,
        _ => "OTH"u8,
    };
}
