namespace VtapCollector.Fuzz;

/// <summary>
/// Where targets that need files write them: VTAP_FUZZ_SCRATCH (afl.sh points it at a directory in
/// memory that it removes afterwards), else the temporary directory. Names carry the process id:
/// SharpFuzz restarts the fuzzed process after a crash, and the old one may still be exiting.
/// </summary>
internal static class Scratch
{
    public static string File(string name) => Path.Combine(
        Environment.GetEnvironmentVariable("VTAP_FUZZ_SCRATCH") is { Length: > 0 } directory ? directory : Path.GetTempPath(),
        $"vtap-fuzz-{Environment.ProcessId}-{name}");
}
