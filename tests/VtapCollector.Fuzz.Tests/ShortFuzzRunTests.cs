using System.Globalization;
using Xunit.Abstractions;

namespace VtapCollector.Fuzz.Tests;

/// <summary>
/// Each fuzz target under afl-fuzz for a short bounded time on every test run: no crash, no hang,
/// and the coverage a run of that length reaches. The long runs are bench/fuzz/run.sh.
/// </summary>
/// <remarks>
/// Edge floors (afl's edges_found), measured on a 2-core machine under load: the seeds alone reach
/// decoder 261, capture 286, settings 700, spool 336 (afl-showmap -C), and 25-second runs reached
/// 392-394, 537, 861 and 342. The floors sit about a third of the way from the seeds to the runs,
/// so a run must add coverage of its own, and a harness that stops reaching the code, or an
/// instrumentation step that silently did nothing, fails. The spool's format is small enough that
/// its seeds already reach nearly all of it: its floor only guards the harness.
/// </remarks>
public sealed class ShortFuzzRunTests(ITestOutputHelper output, FuzzReport report) : IClassFixture<FuzzReport>
{
    private const int Seconds = 25;

    [Theory]
    [InlineData("decoder", 300)]
    [InlineData("capture", 370)]
    [InlineData("settings", 750)]
    [InlineData("spool", 320)]
    public void Target_FuzzedFor25Seconds_NoCrashNoHangAndCoverage(string target, int edgeFloor)
    {
        var run = AflRun.Start(target, Seconds);
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"fuzz {target}: {run.ExecsDone} execs in {run.RunTime} s ({run.ExecsPerSecond:F0}/s), edges {run.EdgesFound}/{run.TotalEdges}, corpus {run.CorpusCount}, crashes {run.SavedCrashes}, hangs {run.SavedHangs}");
        output.WriteLine(summary);
        report.Write(summary);

        // A finding's directory is kept, with the input afl saved, so nothing found is lost.
        var findings = run.Findings().ToList();
        Assert.True(
            run.SavedCrashes == 0 && run.SavedHangs == 0 && findings.Count == 0,
            $"{summary}. Findings kept in {run.Directory}; reproduce with: dotnet tests/VtapCollector.Fuzz/bin/Release/net10.0/VtapCollector.Fuzz.dll --target {target} --replay FILE\n"
            + string.Join('\n', findings.Select(Describe)));
        Assert.True(run.ExecsDone > 0, summary);
        Assert.True(run.EdgesFound >= edgeFloor, $"{summary}: fewer edges than the floor of {edgeFloor}.");
        Directory.Delete(run.Directory, recursive: true);
    }

    /// <summary>A finding's file name (afl's account of how it was made) and its first 512 bytes in hex.</summary>
    private static string Describe(string file)
    {
        var bytes = File.ReadAllBytes(file);
        return $"{Path.GetFileName(file)} ({bytes.Length} bytes): {Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 512)))}";
    }
}
