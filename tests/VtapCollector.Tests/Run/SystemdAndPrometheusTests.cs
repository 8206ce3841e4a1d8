using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Run;

/// <summary>
/// The daemon's conversation with its supervisors, each played by the real thing: systemd's notify
/// protocol on a real Unix datagram socket (as systemd binds it for Type=notify services), and a
/// real Prometheus server scraping <c>/metrics</c> and answering queries about it.
/// </summary>
[Collection(DaemonTests.Name)]
public class SystemdAndPrometheusTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public void Notify_socket_gets_ready_watchdog_status_and_stopping()
    {
        var socketPath = Path.Combine(Path.GetTempPath(), $"vtap-notify-{Guid.NewGuid():N}.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        notify.ReceiveTimeout = 200;
        var messages = new List<string>();
        try
        {
            using var daemon = DaemonProcess.Start(RunCommandTests.Config(), environment: new Dictionary<string, string>
            {
                ["NOTIFY_SOCKET"] = socketPath,
                ["WATCHDOG_USEC"] = "1000000",
            });

            Assert.True(DaemonProcess.WaitFor(() => Drain(notify, messages).Contains("WATCHDOG=1"), Wait), string.Join(" | ", messages));
            Assert.Equal(0, daemon.Terminate(Wait));
            Drain(notify, messages);
        }
        finally
        {
            File.Delete(socketPath);
        }

        var ready = messages.IndexOf("READY=1");
        var stopping = messages.IndexOf("STOPPING=1");
        Assert.True(ready >= 0, string.Join(" | ", messages));
        Assert.True(stopping > ready, string.Join(" | ", messages));
        Assert.Contains(messages, m => m.StartsWith("STATUS=Collecting from udp 127.0.0.1:", StringComparison.Ordinal));
        Assert.True(messages.IndexOf("WATCHDOG=1") > ready, "keep-alives start after readiness");
    }

    [Fact]
    public void Journal_stream_gives_syslog_level_prefixes()
    {
        using var daemon = DaemonProcess.Start(RunCommandTests.Config(), environment: new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:12345" });
        Assert.Equal(0, daemon.Terminate(Wait));

        // sd-daemon(3): "<4>" warning, "<6>" informational; journald reads the level from the prefix.
        Assert.Contains("<4>", daemon.Logs);
        Assert.Contains("<6>", daemon.Logs);
        Assert.All(daemon.Logs.Split('\n').Where(l => l.Length > 0), line => Assert.Matches(@"^<\d>", line));
    }

    [Fact]
    public void Real_prometheus_server_scrapes_the_collector_and_answers_queries()
    {
        using var daemon = DaemonProcess.Start(RunCommandTests.Config());
        var capture = ExternalTools.BundledSample;
        var datagrams = RunCommandTests.TunnelDatagrams(capture).Datagrams;
        RunCommandTests.SendAndWait(daemon, capture, datagrams);

        var prometheusPort = DaemonProcess.FreeTcpPort();
        var directory = Directory.CreateTempSubdirectory("vtap-prometheus-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: vtap-collector
                static_configs:
                  - targets: ['127.0.0.1:{daemon.MetricsPort}']
            """);
        using var prometheus = new System.Diagnostics.Process
        {
            StartInfo = new System.Diagnostics.ProcessStartInfo(Promtool.PrometheusPath)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            },
        };
        foreach (var argument in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory, "data")}", $"--web.listen-address=127.0.0.1:{prometheusPort}" })
        {
            prometheus.StartInfo.ArgumentList.Add(argument);
        }

        var prometheusLog = new StringBuilder();
        prometheus.ErrorDataReceived += (_, e) => { lock (prometheusLog) { prometheusLog.AppendLine(e.Data); } };
        prometheus.OutputDataReceived += (_, e) => { lock (prometheusLog) { prometheusLog.AppendLine(e.Data); } };
        prometheus.Start();
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            string? value = null;
            var up = DaemonProcess.WaitFor(() =>
            {
                value = Query(client, prometheusPort, "vtap_received_packets_total{job=\"vtap-collector\",source=\"udp\"}");
                return value is not null;
            }, TimeSpan.FromSeconds(45));

            Assert.True(up, $"Prometheus never returned the series.\n{prometheusLog}");
            Assert.Equal(datagrams, double.Parse(value!, CultureInfo.InvariantCulture));
            Assert.Equal("1", Query(client, prometheusPort, "up{job=\"vtap-collector\"}"));
            var targets = GetString(client, new Uri($"http://127.0.0.1:{prometheusPort}/api/v1/targets"));
            Assert.Contains("\"health\":\"up\"", targets);
            Assert.DoesNotContain("\"lastError\":\"", targets.Replace("\"lastError\":\"\"", "", StringComparison.Ordinal));
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            prometheus.WaitForExit(10_000);
            Directory.Delete(directory, recursive: true);
            daemon.Terminate(Wait);
        }
    }

    private static string GetString(HttpClient client, Uri uri) => client.GetStringAsync(uri).GetAwaiter().GetResult();

    /// <summary>The value of an instant query's first sample, or null when there is none yet.</summary>
    private static string? Query(HttpClient client, int port, string query)
    {
        try
        {
            var body = GetString(client, new Uri($"http://127.0.0.1:{port}/api/v1/query?query={Uri.EscapeDataString(query)}"));
            using var document = JsonDocument.Parse(body);
            var result = document.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0 ? null : result[0].GetProperty("value")[1].GetString();
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    private static List<string> Drain(Socket socket, List<string> messages)
    {
        var buffer = new byte[4096];
        while (true)
        {
            try
            {
                var length = socket.Receive(buffer);
                messages.Add(Encoding.UTF8.GetString(buffer, 0, length));
            }
            catch (SocketException error) when (error.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                return messages;
            }
        }
    }
}
