using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace VtapCollector.Benchmarks.PacketCapture;

/// <summary>
/// <c>capture-cost [--rounds N]</c>: the <see cref="CaptureIngressBenchmarks"/> cases run in turn,
/// round after round in one process, each timed by the process's CPU time as well as the wall clock.
/// On a shared machine the rounds of every case meet the same neighbours, and CPU time does not
/// count the time the thread waited for a core, so the medians compare where BenchmarkDotNet's
/// back-to-back runs drift with the load.
/// </summary>
public static partial class CaptureCostCommand
{
    /// <summary>Calls of the loop per timed sample: about a second of work, far above the clocks' resolution.</summary>
    private const int CallsPerSample = 8;

    public static int Run(string[] args)
    {
        var rounds = args.Length > 2 && args[1] == "--rounds" ? int.Parse(args[2], CultureInfo.InvariantCulture) : 9;
        string[] cases = ["none", "idle", "one-percent"];
        var benchmarks = cases.Select(c => new CaptureIngressBenchmarks { Sessions = c }).ToArray();
        foreach (var benchmark in benchmarks)
        {
            benchmark.Setup();
            benchmark.Ingress(); // compiled and warm before the first timed round
        }

        var cpu = cases.Select(_ => new List<double>()).ToArray();
        var wall = cases.Select(_ => new List<double>()).ToArray();
        long kept = 0;
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < benchmarks.Length; i++)
            {
                var cpuBefore = ThreadCpuNanoseconds();
                var clock = Stopwatch.StartNew();
                for (var call = 0; call < CallsPerSample; call++)
                {
                    kept = benchmarks[i].Ingress();
                }

                clock.Stop();
                const double packets = (double)CaptureIngressBenchmarks.PacketCount * CallsPerSample;
                cpu[i].Add((ThreadCpuNanoseconds() - cpuBefore) / packets);
                wall[i].Add(clock.Elapsed.TotalNanoseconds / packets);
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"case",-12} {"cpu ns/pkt (median)",20} {"wall ns/pkt (median)",21} {"wall (min)",11}"));
        for (var i = 0; i < cases.Length; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cases[i],-12} {Median(cpu[i]),20:F1} {Median(wall[i]),21:F1} {wall[i].Min(),11:F1}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"one-percent kept {kept} of {CaptureIngressBenchmarks.PacketCount} packets per round; {rounds} rounds."));
        foreach (var benchmark in benchmarks)
        {
            benchmark.Cleanup();
        }

        return 0;
    }

    /// <summary>This thread's user and system CPU time (getrusage RUSAGE_THREAD, microseconds).</summary>
    private static double ThreadCpuNanoseconds()
    {
        Span<long> usage = stackalloc long[18];
        if (GetRusage(1, ref MemoryMarshal.GetReference(usage)) != 0)
        {
            throw new InvalidOperationException("getrusage(RUSAGE_THREAD) failed.");
        }

        // struct rusage begins with ru_utime and ru_stime, each a timeval of (seconds, microseconds).
        return ((usage[0] + usage[2]) * 1e9) + ((usage[1] + usage[3]) * 1e3);
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, ref long usage);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
