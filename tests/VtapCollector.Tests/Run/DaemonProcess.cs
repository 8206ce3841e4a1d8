using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Run;

/// <summary>
/// <c>vtap-collector run</c> as a real process: started with a configuration file the test writes,
/// standard output (records) and standard error (logs) collected as they come, stopped with a real
/// SIGTERM (or SIGHUP for a reload). Every wait is bounded; Dispose kills a process still running.
/// </summary>
internal sealed partial class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _records = new();
    private readonly ConcurrentQueue<string> _logs = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IReadOnlyList<string> _commandPrefix;

    private DaemonProcess(Process process, string directory, int udpPort, int metricsPort, IReadOnlyList<string> commandPrefix)
    {
        _process = process;
        Directory = directory;
        UdpPort = udpPort;
        MetricsPort = metricsPort;
        _commandPrefix = commandPrefix;
    }

    /// <summary>A scratch folder for this daemon (its configuration file, its record files).</summary>
    public string Directory { get; }

    public int UdpPort { get; }

    public int MetricsPort { get; }

    public string ConfigPath => Path.Combine(Directory, "collector.json");

    public IReadOnlyList<string> Records => [.. _records];

    public string Logs => string.Join('\n', _logs);

    public bool HasExited => _process.HasExited;

    /// <summary>The process id signals go to: the daemon's own, also under a command prefix that execs it.</summary>
    public int ProcessId => _process.Id;

    /// <summary>
    /// Starts the daemon on free loopback ports with <paramref name="configJson"/> (which may use
    /// <c>{udp}</c>, <c>{metrics}</c> and <c>{dir}</c>), and waits until <c>/healthz</c> answers
    /// (or the process exits, e.g. on a configuration error).
    /// </summary>
    /// <param name="commandPrefix">
    /// Put before the daemon's command line, for example <c>ip netns exec NS</c> to run it in a
    /// network namespace. The prefix must exec the daemon (as <c>ip netns exec</c> does), so that
    /// the process id, and with it every signal, stays the daemon's. The metrics endpoint is then
    /// scraped with curl run through the same prefix, because the daemon's 127.0.0.1 is not this
    /// process's.
    /// </param>
    public static DaemonProcess Start(string configJson, IReadOnlyDictionary<string, string>? environment = null, IEnumerable<string>? extraArguments = null, bool waitUntilListening = true, IReadOnlyList<string>? commandPrefix = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("vtap-run-").FullName;
        var udpPort = FreeUdpPort();
        var metricsPort = FreeTcpPort();
        var config = configJson.Replace("{udp}", udpPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{metrics}", metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{dir}", directory, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(directory, "collector.json"), config);

        commandPrefix ??= [];
        var start = new ProcessStartInfo(commandPrefix.Count > 0 ? commandPrefix[0] : ExternalTools.DotnetHost)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        var daemonCommand = commandPrefix.Count > 0 ? commandPrefix.Skip(1).Append(ExternalTools.DotnetHost) : [];
        foreach (var argument in daemonCommand.Concat([ExternalTools.CollectorDll, "run", "--config", Path.Combine(directory, "collector.json")]).Concat(extraArguments ?? []))
        {
            start.ArgumentList.Add(argument);
        }

        // No system configuration file of the machine may leak into a test.
        start.Environment["VTAP_SYSTEM_CONFIG"] = Path.Combine(directory, "no-system-config.json");
        start.Environment.Remove("NOTIFY_SOCKET");
        start.Environment.Remove("JOURNAL_STREAM");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the collector process did not start");
        var daemon = new DaemonProcess(process, directory, udpPort, metricsPort, commandPrefix);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                daemon._outputClosed.TrySetResult();
            }
            else
            {
                daemon._records.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                daemon._errorClosed.TrySetResult();
            }
            else
            {
                daemon._logs.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (waitUntilListening)
        {
            try
            {
                daemon.WaitUntilHealthy(TimeSpan.FromSeconds(30));
            }
            catch
            {
                // The caller gets no object to dispose: do not leave the process running.
                daemon.Dispose();
                throw;
            }
        }

        return daemon;
    }

    /// <summary>GETs a path of the metrics endpoint: status code and body.</summary>
    public (HttpStatusCode Status, string Body) Get(string path)
    {
        if (_commandPrefix.Count > 0)
        {
            return GetThroughPrefix(path);
        }

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = client.GetAsync(new Uri($"http://127.0.0.1:{MetricsPort}{path}")).GetAwaiter().GetResult();
        return (response.StatusCode, response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
    }

    /// <summary>
    /// GETs a path with curl run through the command prefix. A connection that fails (the daemon
    /// is not listening yet) is an <see cref="HttpRequestException"/>, as with <see cref="HttpClient"/>.
    /// </summary>
    private (HttpStatusCode Status, string Body) GetThroughPrefix(string path)
    {
        var url = $"http://127.0.0.1:{MetricsPort}{path}";
        var result = ExternalTools.Run(
            _commandPrefix[0],
            [.. _commandPrefix.Skip(1), "curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}", url],
            TimeSpan.FromSeconds(30));
        var statusAt = result.StandardOutput.LastIndexOf('\n');
        if (result.ExitCode != 0 || statusAt < 0)
        {
            throw new HttpRequestException($"curl {url} through '{string.Join(' ', _commandPrefix)}' failed (exit {result.ExitCode}): {result.StandardError.Trim()}");
        }

        var status = int.Parse(result.StandardOutput.AsSpan(statusAt + 1), System.Globalization.CultureInfo.InvariantCulture);
        return ((HttpStatusCode)status, result.StandardOutput[..statusAt]);
    }

    /// <summary>The value of one sample of the <c>/metrics</c> page (exact series text), or null.</summary>
    public double? Metric(string series)
    {
        foreach (var line in Get("/metrics").Body.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling every 50 ms, at most <paramref name="timeout"/>.</summary>
    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }

            Thread.Sleep(50);
        }

        return condition();
    }

    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Sends SIGTERM and waits for the exit (and the end of both output streams); returns the exit code.</summary>
    public int Terminate(TimeSpan timeout)
    {
        Signal(SigTerm);
        return WaitForExit(timeout);
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            throw new TimeoutException($"the collector did not exit within {timeout.TotalSeconds} s.\nLogs:\n{Logs}");
        }

        Task.WaitAll([_outputClosed.Task, _errorClosed.Task], TimeSpan.FromSeconds(10));
        return _process.ExitCode;
    }

    /// <summary>The records as the oracle tests parse them.</summary>
    public CollectorRun ParseRecords() => CollectorRun.Parse(new ToolResult(0, string.Join('\n', _records) + "\n", Logs));

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a dying process: the temp folder is cleaned by the OS later.
        }
    }

    public const int SigHup = 1;
    public const int SigTerm = 15;

    private void WaitUntilHealthy(TimeSpan timeout)
    {
        var ready = WaitFor(() =>
        {
            if (_process.HasExited)
            {
                return true;
            }

            try
            {
                return Get("/healthz").Status == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, timeout);
        if (!ready)
        {
            throw new TimeoutException($"the collector did not answer /healthz within {timeout.TotalSeconds} s.\nLogs:\n{Logs}");
        }
    }

    public static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
