using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Run;

/// <summary>
/// Named networks in the real daemon on loopback: the records carry the configured networks and
/// direction, <c>/metrics</c> counts exactly the records' counters per network pair, a bad reload is
/// rejected with the previous networks kept, and a good one changes the records emitted after it.
/// </summary>
[Collection(DaemonTests.Name)]
public partial class NetworksDaemonTests(OracleCaptures captures) : IClassFixture<OracleCaptures>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private const string NetworksBefore = """
        "Networks": {
          "vm1": { "Cidrs": [ "10.99.0.1" ], "Local": true },
          "lab": { "Cidrs": [ "10.99.0.0/24", "fe80::/10" ], "Local": true }
        },
        """;

    private const string NetworksAfter = """
        "Networks": {
          "vm2": { "Cidrs": [ "10.99.0.2" ], "Local": false },
          "lab": { "Cidrs": [ "10.99.0.0/24", "fe80::/10" ], "Local": true }
        },
        """;

    [Fact]
    public void Records_and_metrics_carry_the_networks_and_a_sighup_reload_changes_them()
    {
        var capture = captures.Sample;
        var datagrams = RunCommandTests.TunnelDatagrams(capture.Path).Datagrams;
        var config = RunCommandTests.Config().Replace(
            "\"Capacity\": 65536", "\"Capacity\": 65536, \"IdleTimeoutSeconds\": 1, \"TcpIdleTimeoutSeconds\": 1, \"TcpClosingTimeoutSeconds\": 0", StringComparison.Ordinal);
        using var daemon = DaemonProcess.Start(config.Replace("\"AllowList\"", NetworksBefore + "\"AllowList\"", StringComparison.Ordinal));
        Assert.Contains("Networks: 2 networks (lab (local), vm1 (local)), 3 prefixes.", daemon.Logs);

        RunCommandTests.SendAndWait(daemon, capture.Path, datagrams);
        var before = WaitForAllRecords(daemon, capture.Oracle.Flows.Count);
        AssertMetricsEqualRecords(daemon, before);
        var tcp = before.Where(r => r.GetProperty("protocol").GetInt32() == 6 && r.GetProperty("src_ip").GetString() == "10.99.0.1").ToList();
        Assert.NotEmpty(tcp);
        Assert.All(tcp, r => Assert.Equal(("vm1", "lab", "internal"), Networks(r)));
        Assert.Contains(before, r => r.GetProperty("dst_port").GetInt32() == 8080 && r.GetProperty("app").GetString() == "http-alt");

        // A bad entry: the whole reload is refused, the networks in force stay.
        File.WriteAllText(daemon.ConfigPath, File.ReadAllText(daemon.ConfigPath).Replace("\"10.99.0.1\"", "\"10.99.0.1/40\"", StringComparison.Ordinal));
        daemon.Signal(DaemonProcess.SigHup);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Metric("vtap_config_reloads_total{result=\"failure\"}") >= 1, Wait), daemon.Logs);
        Assert.Contains("Configuration reload rejected, the previous settings stay in force: Networks:vm1:Cidrs entry '10.99.0.1/40' is not a CIDR", daemon.Logs);

        File.WriteAllText(daemon.ConfigPath, config.Replace("\"AllowList\"", NetworksAfter + "\"AllowList\"", StringComparison.Ordinal)
            .Replace("{udp}", daemon.UdpPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{metrics}", daemon.MetricsPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        daemon.Signal(DaemonProcess.SigHup);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Logs.Contains("networks now 2 networks (lab (local), vm2), 3 prefixes.", StringComparison.Ordinal), Wait), daemon.Logs);
        Assert.DoesNotContain("take effect at the next restart", daemon.Logs, StringComparison.Ordinal);

        RunCommandTests.SendAndWait(daemon, capture.Path, 2 * datagrams);
        var all = WaitForAllRecords(daemon, 2 * capture.Oracle.Flows.Count);
        AssertMetricsEqualRecords(daemon, all);
        var after = all.Skip(before.Count).Where(r => r.GetProperty("protocol").GetInt32() == 6 && r.GetProperty("src_ip").GetString() == "10.99.0.1").ToList();
        Assert.NotEmpty(after);
        Assert.All(after, r => Assert.Equal(("lab", "vm2", "outbound"), Networks(r)));
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    private static (string?, string?, string?) Networks(JsonElement record) =>
        (record.GetProperty("src_network").GetString(), record.GetProperty("dst_network").GetString(), record.GetProperty("direction").GetString());

    /// <summary>Waits until every flow of the sends has ended (one-second timeouts) and its records reached stdout.</summary>
    private static List<JsonElement> WaitForAllRecords(DaemonProcess daemon, int flows)
    {
        Assert.True(DaemonProcess.WaitFor(() => daemon.Metric("vtap_flows_created_total") == flows && daemon.Metric("vtap_flows_active") == 0, Wait), daemon.Get("/metrics").Body);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Records.Count == daemon.Metric("vtap_records_total{sink=\"stdout\",type=\"end\"}") + daemon.Metric("vtap_records_total{sink=\"stdout\",type=\"update\"}"), Wait));
        return [.. daemon.Records.Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }

    /// <summary>The scrape's network matrix and direction counters against sums over the records' own fields.</summary>
    private static void AssertMetricsEqualRecords(DaemonProcess daemon, List<JsonElement> records)
    {
        var expected = new Dictionary<(string, string, string), long>();
        foreach (var record in records)
        {
            var src = Label(record.GetProperty("src_network").GetString());
            var dst = Label(record.GetProperty("dst_network").GetString());
            Add(expected, ("vtap_network_packets_total", src, dst), record.GetProperty("packets_src_to_dst").GetInt64());
            Add(expected, ("vtap_network_bytes_total", src, dst), record.GetProperty("bytes_src_to_dst").GetInt64());
            Add(expected, ("vtap_network_packets_total", dst, src), record.GetProperty("packets_dst_to_src").GetInt64());
            Add(expected, ("vtap_network_bytes_total", dst, src), record.GetProperty("bytes_dst_to_src").GetInt64());
            Add(expected, ("vtap_network_flows_total", src, dst), record.GetProperty("seq").GetInt64() == 0 ? 1 : 0);
            Add(expected, ("vtap_direction_bytes_total", record.GetProperty("direction").GetString()!, ""), record.GetProperty("bytes_src_to_dst").GetInt64() + record.GetProperty("bytes_dst_to_src").GetInt64());
        }

        var text = daemon.Get("/metrics").Body;
        var served = MatrixLine().Matches(text).ToDictionary(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value), m => long.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture));
        foreach (Match m in DirectionLine().Matches(text))
        {
            served[(m.Groups[1].Value, m.Groups[2].Value, "")] = long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        }

        Assert.Equal(expected.Where(e => e.Value > 0).OrderBy(e => e.Key), served.Where(e => e.Value > 0).OrderBy(e => e.Key));
        var promtool = Promtool.CheckMetrics(text);
        Assert.True(promtool.ExitCode == 0, $"promtool check metrics failed:\n{promtool.StandardOutput}{promtool.StandardError}");
    }

    private static string Label(string? network) => string.IsNullOrEmpty(network) ? "other" : network;

    private static void Add(Dictionary<(string, string, string), long> cells, (string, string, string) key, long value) => cells[key] = cells.GetValueOrDefault(key) + value;

    [GeneratedRegex("""(?m)^(vtap_network_\w+)\{src_network="([^"]*)",dst_network="([^"]*)"\} (\d+)$""")]
    private static partial Regex MatrixLine();

    [GeneratedRegex("""(?m)^(vtap_direction_bytes_total)\{direction="([^"]*)"\} (\d+)$""")]
    private static partial Regex DirectionLine();
}
