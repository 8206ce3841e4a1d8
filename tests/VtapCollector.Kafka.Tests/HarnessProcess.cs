using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace VtapCollector.Kafka.Tests;

/// <summary>
/// One run of the crash harness (tests/VtapCollector.Kafka.CrashHarness) as a process of its own, its
/// standard output parsed as it comes: what the sink accepted, what its guarantee covers, its counters.
/// </summary>
internal sealed class HarnessProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _errors = [];
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HarnessProcess(long first, params string[] arguments)
    {
        First = first;
        Accepted = first;
        Flushed = first;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_gate)
                {
                    _errors.Add(e.Data);
                }
            }
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The harness's assembly, built with this project (a reference that is not referenced).</summary>
    public static string Path { get; } = typeof(HarnessProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "CrashHarness").Value!;

    /// <summary>The number of the first record this run writes.</summary>
    public long First { get; }

    /// <summary>Every record below this number was accepted (from the last <c>accepted</c> line); <see cref="First"/> if none.</summary>
    public long Accepted { get; private set; }

    /// <summary>Every record below this number was accepted before a Flush that returned: the guarantee covers them.</summary>
    public long Flushed { get; private set; }

    /// <summary>Records the sink found in its log at start; -1 until the sink was open.</summary>
    public long Recovered { get; private set; } = -1;

    /// <summary>Segments the sink found torn or damaged at start.</summary>
    public long TruncatedSegments { get; private set; }

    /// <summary>Records the run's Write refused.</summary>
    public long Refused { get; private set; }

    /// <summary>The counters of the last <c>stats</c> line: produced, checkpointed, delivered.</summary>
    public (long Produced, long Checkpointed, long Delivered) LastStats { get; private set; }

    /// <summary>The largest rise of <c>produced</c> between two <c>stats</c> lines (50 ms apart).</summary>
    public long LargestProducedStep { get; private set; }

    public bool Drained { get; private set; }

    public int ExitCode => _process.ExitCode;

    public string Errors
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _errors.TakeLast(20));
            }
        }
    }

    /// <summary>
    /// At most how many records this run handed to librdkafka without the saved checkpoint covering them,
    /// should it die now: those a restart replays, hence the most duplicates the run can leave. From the
    /// last statistics, plus twice the largest step between two statistics for the time since.
    /// </summary>
    public long DuplicateBound => LastStats.Produced - LastStats.Checkpointed + (2 * LargestProducedStep);

    public static HarnessProcess Write(string bootstrap, string topic, string spool, long first, int perSecond) =>
        new(first, "write", bootstrap, topic, spool, first.ToString(CultureInfo.InvariantCulture), perSecond.ToString(CultureInfo.InvariantCulture));

    public static HarnessProcess Drain(string bootstrap, string topic, string spool) => new(0, "drain", bootstrap, topic, spool);

    /// <summary>Waits until the sink is open (its <c>start</c> line); false after <paramref name="timeout"/> or if the process ended first.</summary>
    public bool WaitForStart(TimeSpan timeout) => _started.Task.Wait(timeout);

    /// <summary>SIGKILL (kill -9), then waits for the process and the last of its output.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Waits for the process to end by itself; false after <paramref name="timeout"/>.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        _process.WaitForExit();
        return true;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _started.TrySetResult();
            return;
        }

        var fields = line.Split(' ');
        long Field(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture);
        switch (fields[0])
        {
            case "start":
                Recovered = Field(1);
                TruncatedSegments = Field(2);
                Accepted = First;
                Flushed = First;
                _started.TrySetResult();
                break;
            case "accepted":
                Accepted = Field(1);
                break;
            case "flushed":
                Flushed = Field(1);
                break;
            case "refused":
                Refused++;
                break;
            case "stats":
                var stats = (Field(1), Field(2), Field(3));
                LargestProducedStep = Math.Max(LargestProducedStep, stats.Item1 - LastStats.Produced);
                LastStats = stats;
                break;
            case "drained":
                Drained = true;
                break;
            default:
                break;
        }
    }
}
