using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace VtapCollector.Fuzz.Tests;

/// <summary>
/// One bounded afl-fuzz run of a harness target through tests/VtapCollector.Fuzz/afl.sh, and what
/// afl's fuzzer_stats says of it.
/// </summary>
internal sealed class AflRun
{
    private AflRun(string directory, IReadOnlyDictionary<string, string> stats, string log)
    {
        Directory = directory;
        Stats = stats;
        Log = log;
    }

    /// <summary>Where the run's build copy, seeds and findings are.</summary>
    public string Directory { get; }

    /// <summary>fuzzer_stats, key to value.</summary>
    public IReadOnlyDictionary<string, string> Stats { get; }

    /// <summary>The script's and afl-fuzz's output.</summary>
    public string Log { get; }

    public long ExecsDone => Number("execs_done");
    public double ExecsPerSecond => double.Parse(Stats["execs_per_sec"], CultureInfo.InvariantCulture);
    public long EdgesFound => Number("edges_found");
    public long TotalEdges => Number("total_edges");
    public long SavedCrashes => Number("saved_crashes");
    public long SavedHangs => Number("saved_hangs");
    public long RunTime => Number("run_time");
    public long CorpusCount => Number("corpus_count");

    /// <summary>The inputs afl saved as crashes or hangs.</summary>
    public IEnumerable<string> Findings() =>
        new[] { "crashes", "hangs" }
            .Select(kind => Path.Combine(Directory, "findings", "default", kind))
            .Where(System.IO.Directory.Exists)
            .SelectMany(kind => System.IO.Directory.EnumerateFiles(kind, "id:*"));

    public static AflRun Start(string target, int seconds)
    {
        var repository = Metadata("RepositoryRoot");
        var directory = Path.Combine(Path.GetTempPath(), $"vtap-fuzz-{target}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[] { Path.Combine(repository, "tests", "VtapCollector.Fuzz", "afl.sh"), target, seconds.ToString(CultureInfo.InvariantCulture), directory, Metadata("FuzzHarness") })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();

        // Instrumenting, seeding and afl's start take seconds; more than two minutes past the run's
        // own length means something is stuck, and the run is a failure, not a wait.
        if (!process.WaitForExit(TimeSpan.FromSeconds(seconds + 120)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        var log = output.GetAwaiter().GetResult() + error.GetAwaiter().GetResult();
        File.WriteAllText(Path.Combine(directory, "afl.log"), log);
        var statsFile = Path.Combine(directory, "findings", "default", "fuzzer_stats");
        if (!process.HasExited || process.ExitCode != 0 || !File.Exists(statsFile))
        {
            throw new InvalidOperationException($"afl.sh {target} did not finish cleanly (exit {(process.HasExited ? process.ExitCode : -1)}); its output is in {directory}/afl.log:\n{Tail(log, 40)}");
        }

        var stats = File.ReadLines(statsFile)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0].Trim(), parts => parts[1].Trim(), StringComparer.Ordinal);
        return new AflRun(directory, stats, log);
    }

    private long Number(string key) => long.Parse(Stats[key], CultureInfo.InvariantCulture);

    private static string Metadata(string key) =>
        typeof(AflRun).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == key).Value!;

    private static string Tail(string text, int lines) =>
        string.Join('\n', text.Split('\n').TakeLast(lines));
}
