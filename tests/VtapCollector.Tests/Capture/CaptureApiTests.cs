using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using VtapCollector.Tests.Oracle;
using VtapCollector.Tests.Run;

namespace VtapCollector.Tests.Capture;

/// <summary>
/// The capture API end to end in a running daemon: sessions from the configuration and from the API
/// (through the <c>capture</c> command), mirrored traffic over UDP, files fetched and read by tshark;
/// bad requests (400, one sentence), the session bound (429), name clashes (409), unknown ids and
/// file names (404), and the token rules (401 without it; 403 on a non-loopback listener without one).
/// </summary>
public sealed class CaptureApiTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private const string Token = "capture-token-0123456789";

    private static string VxlanPcap => Path.Combine(ExternalTools.RepositoryRoot, "tests", "data", "tcpdump", "vxlan.pcap");

    private static string Config(string capture, string listen = "127.0.0.1") => $$"""
        {
          "Sources": { "Udp": { "Listen": [ "127.0.0.1:{udp}" ], "Sockets": 2 } },
          "Pipeline": { "Workers": 1 },
          "Flows": { "Capacity": 65536 },
          "Sinks": { "Stdout": { "Enabled": true } },
          "Metrics": { "Listen": "{{listen}}:{metrics}" },
          "Capture": { "Directory": "{dir}/captures", "MaxSessions": 2 {{capture}} }
        }
        """;

    private static ToolResult Cli(DaemonProcess daemon, params string[] arguments) =>
        ExternalTools.RunCollector(["capture", .. arguments, "--url", $"http://127.0.0.1:{daemon.MetricsPort}"]);

    [Fact]
    public void CaptureCommand_StartSendFetchStop_FilesHoldTheMatchingInnerPackets()
    {
        using var daemon = DaemonProcess.Start(Config(""", "Sessions": [ { "Name": "conf", "Filter": "proto=udp" } ]"""));

        var start = Cli(daemon, "start", "--name", "pings", "--filter", "proto=icmp,vni=100");
        Assert.True(start.ExitCode == 0, start.StandardError);
        Assert.Equal("running", JsonDocument.Parse(start.StandardOutput).RootElement.GetProperty("state").GetString());

        RunCommandTests.SendOnce(daemon, VxlanPcap);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Metric("vtap_capture_packets_total{session=\"pings\"}") == 8, Wait), daemon.Get("/metrics").Body);

        var list = Cli(daemon, "list");
        Assert.True(list.ExitCode == 0, list.StandardError);
        var sessions = JsonDocument.Parse(list.StandardOutput).RootElement.EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        Assert.True(sessions["conf"].GetProperty("configured").GetBoolean());
        Assert.Equal(0, sessions["conf"].GetProperty("packets").GetInt64());   // the pings are ICMP: none for proto=udp
        Assert.Equal(8, sessions["pings"].GetProperty("packets").GetInt64());

        var stop = Cli(daemon, "stop", "pings");
        Assert.True(stop.ExitCode == 0, stop.StandardError);
        Assert.Equal("stopped", JsonDocument.Parse(stop.StandardOutput).RootElement.GetProperty("state").GetString());

        var folder = Path.Combine(daemon.Directory, "fetched");
        var fetch = Cli(daemon, "fetch", "pings", "--output", folder);
        Assert.True(fetch.ExitCode == 0, fetch.StandardError);
        var file = Assert.Single(Directory.GetFiles(folder, "pings-*.pcapng"));
        var tshark = ExternalTools.Run(ExternalTools.Tshark, ["-n", "-r", file, "-T", "fields", "-e", "icmp.type", "-e", "frame.comment"], Wait);
        Assert.True(tshark.ExitCode == 0, tshark.StandardError);
        Assert.Equal(8, tshark.OutputLines.Count);
        // The mirror is the sender of the datagrams: here, the send command on 127.0.0.1.
        Assert.All(tshark.OutputLines, line => Assert.Matches(@"^(0|8)\tvni=100 tunnel_source=127\.0\.0\.1$", line));
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    [Fact]
    public void Api_BadRequests_AreRefusedWithOneSentenceAndTheRightStatus()
    {
        using var daemon = DaemonProcess.Start(Config(""", "Sessions": [ { "Name": "conf" } ]"""));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.MetricsPort}"), Timeout = Wait };

        AssertSentence(client, HttpMethod.Post, "/captures", "not json", HttpStatusCode.BadRequest, "not JSON");
        AssertSentence(client, HttpMethod.Post, "/captures", "[1]", HttpStatusCode.BadRequest, "object");
        AssertSentence(client, HttpMethod.Post, "/captures", """{"colour":"red"}""", HttpStatusCode.BadRequest, "'colour' is unknown");
        AssertSentence(client, HttpMethod.Post, "/captures", """{"protocol":"tcpp"}""", HttpStatusCode.BadRequest, "protocol 'tcpp'");
        AssertSentence(client, HttpMethod.Post, "/captures", """{"remote_port":"9-1"}""", HttpStatusCode.BadRequest, "rport '9-1'");
        AssertSentence(client, HttpMethod.Post, "/captures", """{"name":"../etc"}""", HttpStatusCode.BadRequest, "capture name");
        AssertSentence(client, HttpMethod.Post, "/captures", """{"snap_length":10}""", HttpStatusCode.BadRequest, "snap length");
        AssertSentence(client, HttpMethod.Post, "/captures", """{"name":"conf"}""", HttpStatusCode.Conflict, "exists");
        AssertSentence(client, HttpMethod.Delete, "/captures/conf", null, HttpStatusCode.Conflict, "Capture:Sessions");
        AssertSentence(client, HttpMethod.Get, "/captures/nobody", null, HttpStatusCode.NotFound, "no capture 'nobody'");
        AssertSentence(client, HttpMethod.Get, "/captures/conf/files/..%2F..%2Fcollector.json", null, HttpStatusCode.NotFound, "no file named");

        using var created = Send(client, HttpMethod.Post, "/captures", """{"name":"second","filter":"proto=tcp","local_port":443}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/captures/second", created.Headers.Location?.OriginalString);
        AssertSentence(client, HttpMethod.Post, "/captures", "{}", HttpStatusCode.TooManyRequests, "Capture:MaxSessions");
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    [Fact]
    public void Api_WithAToken_RefusesRequestsWithoutIt()
    {
        using var daemon = DaemonProcess.Start(Config($$""", "Token": "{{Token}}" """));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.MetricsPort}"), Timeout = Wait };

        AssertSentence(client, HttpMethod.Get, "/captures", null, HttpStatusCode.Unauthorized, "Bearer");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-token-0123456789");
        AssertSentence(client, HttpMethod.Post, "/captures", "{}", HttpStatusCode.Unauthorized, "Bearer");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var list = Send(client, HttpMethod.Get, "/captures", null);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);

        var cli = ExternalTools.RunCollector(["capture", "list", "--url", $"http://127.0.0.1:{daemon.MetricsPort}", "--token", Token]);
        Assert.True(cli.ExitCode == 0, cli.StandardError);
        var refused = ExternalTools.RunCollector(["capture", "list", "--url", $"http://127.0.0.1:{daemon.MetricsPort}"]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("401", refused.StandardError, StringComparison.Ordinal);
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    [Fact]
    public void Api_OnANonLoopbackListenerWithoutAToken_IsOff()
    {
        using var daemon = DaemonProcess.Start(Config("", listen: "0.0.0.0"));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.MetricsPort}"), Timeout = Wait };

        AssertSentence(client, HttpMethod.Get, "/captures", null, HttpStatusCode.Forbidden, "Capture:Token");
        Assert.Equal(HttpStatusCode.OK, daemon.Get("/healthz").Status);
        Assert.Equal(0, daemon.Terminate(Wait));
    }

    [Fact]
    public void Reload_NewConfiguredSession_StartsWithoutARestart()
    {
        using var daemon = DaemonProcess.Start(Config(""));
        var config = File.ReadAllText(daemon.ConfigPath);
        File.WriteAllText(daemon.ConfigPath, config.Replace("\"MaxSessions\": 2", "\"MaxSessions\": 2, \"Sessions\": [ { \"Name\": \"later\", \"Filter\": \"vni=100\" } ]", StringComparison.Ordinal));

        daemon.Signal(DaemonProcess.SigHup);

        Assert.True(DaemonProcess.WaitFor(() => daemon.Get("/captures/later").Status == HttpStatusCode.OK, Wait), daemon.Logs);
        RunCommandTests.SendOnce(daemon, VxlanPcap);
        Assert.True(DaemonProcess.WaitFor(() => daemon.Metric("vtap_capture_packets_total{session=\"later\"}") == 8, Wait), daemon.Get("/metrics").Body);
        Assert.Equal(0, daemon.Terminate(Wait));
        Assert.Contains("Capture 'later' started", daemon.Logs, StringComparison.Ordinal);
    }

    private static HttpResponseMessage Send(HttpClient client, HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return client.Send(request);
    }

    private static void AssertSentence(HttpClient client, HttpMethod method, string path, string? body, HttpStatusCode status, string contains)
    {
        using var response = Send(client, method, path, body);
        var text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        Assert.True(response.StatusCode == status, $"{method} {path} {body}: {(int)response.StatusCode} {text}");
        Assert.Contains(contains, text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.EndsWith(".\n", text, StringComparison.Ordinal);
    }
}
