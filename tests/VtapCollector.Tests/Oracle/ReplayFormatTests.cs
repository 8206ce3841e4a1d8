using System.Globalization;
using System.Text.Json;

namespace VtapCollector.Tests.Oracle;

/// <summary>
/// <c>vtap-collector replay --format NAME</c> over the bundled sample: every line of every format
/// is one JSON object, and the formats carry the same flows, record for record, as the native one.
/// </summary>
public class ReplayFormatTests
{
    [Fact]
    public void Replay_FormatVtap_IsTheDefault()
    {
        var plain = Replay([]);
        Assert.NotEmpty(plain);
        Assert.Equal(plain, Replay(["--format", "vtap"]));
    }

    [Theory]
    [InlineData("ecs")]
    [InlineData("ocsf")]
    [InlineData("azure-flowtuple")]
    public void Replay_Format_EveryLineParsesAndCarriesTheNativeRecords(string format)
    {
        var native = Replay([]).Select(line => Parse(line)).Select(FromNative).Order().ToList();
        var other = Replay(["--format", format]).Select(line => Parse(line)).Select(record => From(format, record)).Order().ToList();

        Assert.True(native.Count >= 10, $"only {native.Count} records from the bundled sample");
        Assert.Equal(native, other);
    }

    [Fact]
    public void Replay_UnknownFormat_IsAUsageErrorNamingTheFormats()
    {
        var result = ExternalTools.RunCollector(["replay", "--format", "netflow", "--quiet"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("netflow", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("azure-flowtuple", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(result.OutputLines);
    }

    private static List<string> Replay(string[] options)
    {
        var result = ExternalTools.RunCollector(["replay", "--quiet", .. options]);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}");
        return [.. result.OutputLines];
    }

    private static JsonElement Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        return document.RootElement.Clone();
    }

    /// <summary>What every format carries of a record, as one comparable line.</summary>
    private static string Key(string flowId, long seq, string source, string destination, long protocol, string counters, string time) =>
        string.Join(' ', flowId, seq.ToString(CultureInfo.InvariantCulture), source, destination, protocol.ToString(CultureInfo.InvariantCulture), counters, time);

    private static string Counters(ulong packetsOut, ulong bytesOut, ulong packetsIn, ulong bytesIn) =>
        string.Create(CultureInfo.InvariantCulture, $"{packetsOut}/{bytesOut}/{packetsIn}/{bytesIn}");

    private static long Millis(JsonElement timestamp) =>
        DateTimeOffset.Parse(timestamp.GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    private static string FromNative(JsonElement r) => Key(
        r.GetProperty("flow_id").GetString()!,
        r.GetProperty("seq").GetInt64(),
        r.GetProperty("src_ip").GetString()!,
        r.GetProperty("dst_ip").GetString()!,
        r.GetProperty("protocol").GetInt64(),
        Counters(r.GetProperty("packets_src_to_dst").GetUInt64(), r.GetProperty("bytes_src_to_dst").GetUInt64(), r.GetProperty("packets_dst_to_src").GetUInt64(), r.GetProperty("bytes_dst_to_src").GetUInt64()),
        Millis(r.GetProperty("last_seen")).ToString(CultureInfo.InvariantCulture));

    private static string From(string format, JsonElement r) => format switch
    {
        "ecs" => Key(
            r.GetProperty("vtap").GetProperty("flow_id").GetString()!,
            r.GetProperty("vtap").GetProperty("seq").GetInt64(),
            r.GetProperty("source").GetProperty("ip").GetString()!,
            r.GetProperty("destination").GetProperty("ip").GetString()!,
            long.Parse(r.GetProperty("network").GetProperty("iana_number").GetString()!, CultureInfo.InvariantCulture),
            Counters(r.GetProperty("source").GetProperty("packets").GetUInt64(), r.GetProperty("source").GetProperty("bytes").GetUInt64(), r.GetProperty("destination").GetProperty("packets").GetUInt64(), r.GetProperty("destination").GetProperty("bytes").GetUInt64()),
            Millis(r.GetProperty("@timestamp")).ToString(CultureInfo.InvariantCulture)),
        "ocsf" => Key(
            r.GetProperty("connection_info").GetProperty("uid").GetString()!,
            r.GetProperty("unmapped").GetProperty("vtap").GetProperty("seq").GetInt64(),
            r.GetProperty("src_endpoint").GetProperty("ip").GetString()!,
            r.GetProperty("dst_endpoint").GetProperty("ip").GetString()!,
            r.GetProperty("connection_info").GetProperty("protocol_num").GetInt64(),
            Counters(r.GetProperty("traffic").GetProperty("packets_out").GetUInt64(), r.GetProperty("traffic").GetProperty("bytes_out").GetUInt64(), r.GetProperty("traffic").GetProperty("packets_in").GetUInt64(), r.GetProperty("traffic").GetProperty("bytes_in").GetUInt64()),
            r.GetProperty("time").GetInt64().ToString(CultureInfo.InvariantCulture)),
        _ => FromTuple(r),
    };

    private static string FromTuple(JsonElement r)
    {
        var tuple = r.GetProperty("flowTuple").GetString()!.Split(',');
        Assert.Equal(13, tuple.Length);
        return Key(
            r.GetProperty("flowId").GetString()!,
            r.GetProperty("seq").GetInt64(),
            tuple[1],
            tuple[2],
            long.Parse(tuple[5], CultureInfo.InvariantCulture),
            string.Join('/', tuple[9], tuple[10], tuple[11], tuple[12]),
            tuple[0]);
    }
}
