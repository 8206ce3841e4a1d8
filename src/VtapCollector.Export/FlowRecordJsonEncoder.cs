using System.Runtime.CompilerServices;
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

        json.Append((byte)'"');
        Formats.RecordText.AppendObservationPoints(ref json, record);
        json.Append((byte)'}');
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
        IpText.Append(ref json, address, ipVersion);
        json.Append((byte)'"');
    }

    /// <summary>
    /// RFC 3339 in UTC with microseconds, e.g. 2013-05-18T20:21:44.837063Z, written two digits at a
    /// time. The date comes from the day count by H. Hinnant's days-to-civil algorithm (proleptic
    /// Gregorian, in integers): through <see cref="DateTime"/> the two timestamps were an eighth of a
    /// record's encoding.
    /// </summary>
    internal static void AppendTimestamp(ref Utf8Buffer json, long unixNanos)
    {
        var seconds = Math.DivRem(unixNanos, 1_000_000_000L, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += 1_000_000_000L;
        }

        var days = Math.DivRem(seconds, 86_400L, out var secondOfDay);
        if (secondOfDay < 0)
        {
            days--;
            secondOfDay += 86_400L;
        }

        // Days since 0000-03-01 in 400-year eras of 146 097 days; March-based years put the leap day last.
        var shifted = days + 719_468;
        var era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097;
        var dayOfEra = (int)(shifted - (era * 146_097));
        var yearOfEra = (dayOfEra - (dayOfEra / 1_460) + (dayOfEra / 36_524) - (dayOfEra / 146_096)) / 365;
        var dayOfYear = dayOfEra - ((365 * yearOfEra) + (yearOfEra / 4) - (yearOfEra / 100));
        var monthFromMarch = ((5 * dayOfYear) + 2) / 153;
        var day = dayOfYear - (((153 * monthFromMarch) + 2) / 5) + 1;
        var month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
        var year = (int)(yearOfEra + (era * 400)) + (month <= 2 ? 1 : 0);

        var clock = (int)secondOfDay;
        var micros = (int)(nanos / 1_000);
        var digits = json.Free[..27];
        WritePair(digits, year / 100);
        WritePair(digits[2..], year % 100);
        digits[4] = (byte)'-';
        WritePair(digits[5..], month);
        digits[7] = (byte)'-';
        WritePair(digits[8..], day);
        digits[10] = (byte)'T';
        WritePair(digits[11..], clock / 3600);
        digits[13] = (byte)':';
        WritePair(digits[14..], clock / 60 % 60);
        digits[16] = (byte)':';
        WritePair(digits[17..], clock % 60);
        digits[19] = (byte)'.';
        WritePair(digits[20..], micros / 10_000);
        WritePair(digits[22..], micros / 100 % 100);
        WritePair(digits[24..], micros % 100);
        digits[26] = (byte)'Z';
        json.Advance(27);
    }

    /// <summary>"00" to "99", two bytes each.</summary>
    private static ReadOnlySpan<byte> DigitPairs =>
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"u8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WritePair(Span<byte> destination, int value)
    {
        // Two stores, not a copy: a two-byte copy is a call.
        destination[1] = DigitPairs[(value * 2) + 1];
        destination[0] = DigitPairs[value * 2];
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
