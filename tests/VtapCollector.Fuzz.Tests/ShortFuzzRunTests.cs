using System.Globalization;
using Xunit.Abstractions;

namespace VtapCollector.Fuzz.Tests;

/// <summary>
/// Each fuzz target under afl-fuzz for a short bounded time on every test run: no crash, no hang,
/// and the coverage a run of that length reaches. The long runs are bench/fuzz/run.sh.
/// </summary>
/// <remarks>
/// The edge floors are about 60% of what 25-second runs reached on a 2-core machine (afl's
/// edges_found: decoder 394, capture 329, settings 520, spool 286): far enough below to survive a
/// busy machine, far enough above what the seeds alone reach that a harness that stops reaching
/// the code, or an instrumentation step that silently did nothing, fails.
/// </remarks>
public sealed class ShortFuzzRunTests(ITestOutputHelper output, FuzzReport report) : IClassFixture<FuzzReport>
{
    private const int Seconds = 25;

    [Theory]
    [InlineData("decoder", 240)]
    [InlineData("capture", 200)]
    [InlineData("settings", 310)]
    [InlineData("spool", 170)]
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
            + string.Join('\n', findings.Select(file => $"{Path.GetFileName(file)}: {Convert.ToHexString(File.ReadAllBytes(file).AsSpan(0, (int)Math.Min(new FileInfo(file).Length, 512)))}")));
        Assert.True(run.ExecsDone > 0, summary);
        Assert.True(run.EdgesFound >= edgeFloor, $"{summary}: fewer edges than the floor of {edgeFloor}.");
        Directory.Delete(run.Directory, recursive: true);
    }
}
