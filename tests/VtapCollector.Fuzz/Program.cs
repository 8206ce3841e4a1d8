using System.Reflection;
using SharpFuzz;

namespace VtapCollector.Fuzz;

/// <summary>
/// The fuzz harness: <c>--target NAME</c> runs the target under afl-fuzz (SharpFuzz's fork
/// server); the other verbs serve the scripts that instrument, seed and replay it.
/// </summary>
internal static class Program
{
    /// <summary>
    /// Factories, not instances: instrumented code writes to afl's coverage map, which exists only
    /// once SharpFuzz has attached to afl-fuzz, so a target is built inside the fuzz loop.
    /// </summary>
    private static readonly (string Name, Func<IFuzzTarget> Create)[] Targets =
    [
        ("decoder", () => new Targets.DecoderTarget()),
        ("capture", () => new Targets.CaptureTarget()),
        ("settings", () => new Targets.SettingsTarget()),
        ("spool", () => new Targets.SpoolTarget()),
    ];

    private const string Usage = """
        usage: VtapCollector.Fuzz --target NAME                 the fuzz loop, run by afl-fuzz
               VtapCollector.Fuzz --target NAME --replay FILE... runs inputs once each (reproduces a finding)
               VtapCollector.Fuzz --target NAME --seeds DIR      writes the seed corpus
               VtapCollector.Fuzz --target NAME --dictionary FILE writes the afl dictionary (if the target has one)
               VtapCollector.Fuzz --target NAME --instrument     lists the assemblies to instrument
               VtapCollector.Fuzz --list                         lists the targets
        Every verb but the fuzz loop runs on an uninstrumented build: instrumented code needs afl.
        """;

    public static int Main(string[] args)
    {
        if (args is ["--list"])
        {
            foreach (var (name, _) in Targets)
            {
                Console.WriteLine(name);
            }

            return 0;
        }

        if (args.Length < 2 || args[0] != "--target")
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var create = Array.Find(Targets, t => t.Name == args[1]).Create;
        if (create is null)
        {
            Console.Error.WriteLine($"Unknown target '{args[1]}'; the targets are {string.Join(", ", Targets.Select(t => t.Name))}.");
            return 2;
        }

        if (args.Length == 2)
        {
            // Out of process: the loop runs in a child that SharpFuzz restarts when it dies, so a
            // stack overflow or a hang is saved as a finding instead of killing the fork server.
            IFuzzTarget? fuzzed = null;
            Fuzzer.OutOfProcess.Run(stream => (fuzzed ??= create()).Run(ReadAll(stream)));
            return 0;
        }

        var target = create();
        switch (args[2..])
        {
            case ["--replay", .. var files] when files.Length > 0:
                return Replay(target, files);
            case ["--seeds", var directory]:
                Directory.CreateDirectory(directory);
                foreach (var seed in target.Seeds(RepositoryRoot()))
                {
                    File.WriteAllBytes(Path.Combine(directory, seed.Name), seed.Data);
                }

                return 0;
            case ["--dictionary", var file]:
                File.WriteAllLines(file, target.Dictionary ?? []);
                return 0;
            case ["--instrument"]:
                foreach (var assembly in target.Instrument)
                {
                    Console.WriteLine(assembly);
                }

                return 0;
            default:
                Console.Error.WriteLine(Usage);
                return 2;
        }
    }

    private static int Replay(IFuzzTarget target, string[] files)
    {
        var failures = 0;
        foreach (var file in files)
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
                Console.WriteLine($"{file}: ok");
            }
            catch (Exception error)
            {
                failures++;
                Console.WriteLine($"{file}: {error}");
            }
        }

        return failures == 0 ? 0 : 1;
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The repository the harness was built from (its seeds are the repository's files).</summary>
    private static string RepositoryRoot() =>
        typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .First(a => a.Key == "RepositoryRoot").Value!;
}
