using System.Diagnostics;
using System.Text;

namespace VtapCollector.Tests.Oracle;

/// <summary>What a finished child process wrote and how it exited.</summary>
internal sealed record ToolResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Standard output split into lines, without empty ones.</summary>
    public IReadOnlyList<string> OutputLines =>
        StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Standard error split into lines, without empty ones.</summary>
    public IReadOnlyList<string> ErrorLines =>
        StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>
/// Starts the external programs the oracle tests depend on (tshark, editcap, the scapy generators,
/// the product itself) with bounded waits: a program still running at its deadline is killed
/// with its whole process tree and the test fails, so a hang never stalls the suite. Nothing here
/// touches the network (tshark runs with -n, the generator only writes a file).
/// </summary>
internal static class ExternalTools
{
    /// <summary>The Debian interpreter: scapy (python3-scapy) is importable by it, not by a pyenv python3 earlier on PATH.</summary>
    public const string DebianPython = "/usr/bin/python3";

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The randomly mixed captures (VXLAN or VXLAN and Geneve, ARP, ICMP errors, neighbour discovery).</summary>
    public static string MixedGeneratorScript => Path.Combine(RepositoryRoot, "tests", "tools", "gen_oracle_capture.py");

    /// <summary>The named scenarios (TCP states, twins across VNIs, fragments) with a manifest of what each must give.</summary>
    public static string ScenarioGeneratorScript => Path.Combine(RepositoryRoot, "tests", "tools", "gen_oracle_scenarios.py");

    public static string BundledSample => Path.Combine(RepositoryRoot, "src", "VtapCollector", "Samples", "sample-vxlan.pcap");

    /// <summary>tshark, or a failure that names the Debian package to install.</summary>
    public static string Tshark => FindOnPath("tshark") ??
        throw new InvalidOperationException("tshark is not installed: install the Debian package 'tshark' (scripts/install-deps.sh does).");

    /// <summary>editcap comes with tshark (Debian package wireshark-common, a dependency of tshark).</summary>
    public static string Editcap => FindOnPath("editcap") ??
        throw new InvalidOperationException("editcap is not installed: install the Debian package 'tshark' (it brings wireshark-common with editcap; scripts/install-deps.sh does).");

    /// <summary>The collector's entry assembly, copied next to the test assembly by the project reference.</summary>
    public static string CollectorDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "vtap-collector.dll");
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"{path} is missing: tests/VtapCollector.Tests references src/VtapCollector, which copies it there.");
        }
    }

    /// <summary>The dotnet host that runs this test (set by the SDK), to start the collector with the same runtime.</summary>
    public static string DotnetHost
    {
        get
        {
            var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
            {
                return fromSdk;
            }

            var current = Environment.ProcessPath;
            if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
            {
                return current;
            }

            return FindOnPath("dotnet") ?? "dotnet";
        }
    }

    /// <summary>Runs vtap-collector with the given arguments (optionally feeding a file to its standard input).</summary>
    public static ToolResult RunCollector(IEnumerable<string> arguments, string? standardInputFile = null) =>
        Run(DotnetHost, new[] { CollectorDll }.Concat(arguments), TimeSpan.FromSeconds(60), standardInputFile);

    /// <summary>
    /// Runs a capture generator of tests/tools with the Debian interpreter. A missing scapy makes
    /// the script exit 3 with a sentence naming python3-scapy, which becomes the failure message.
    /// </summary>
    public static void Generate(string script, IReadOnlyList<string> arguments, string output)
    {
        if (!File.Exists(DebianPython))
        {
            throw new InvalidOperationException($"{DebianPython} is missing: install the Debian packages 'python3' and 'python3-scapy' (scripts/install-deps.sh does).");
        }

        var result = Run(DebianPython, new[] { script }.Concat(arguments), TimeSpan.FromSeconds(120));
        if (result.ExitCode != 0 || !File.Exists(output))
        {
            var hint = result.StandardError.Contains("scapy", StringComparison.OrdinalIgnoreCase)
                ? " Install the Debian package 'python3-scapy' (scripts/install-deps.sh does)."
                : string.Empty;
            throw new InvalidOperationException($"{Path.GetFileName(script)} {string.Join(' ', arguments)} failed (exit {result.ExitCode}).{hint}\n{result.StandardError}");
        }
    }

    /// <summary>Converts a capture to pcapng with editcap.</summary>
    public static void ConvertToPcapng(string input, string output)
    {
        var result = Run(Editcap, ["-F", "pcapng", input, output], TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"editcap -F pcapng failed (exit {result.ExitCode}): {result.StandardError}");
        }
    }

    /// <summary>
    /// Runs a program to its end or its deadline. Standard output and error are drained
    /// concurrently (a full pipe would otherwise block the child); standard input, when given, is
    /// copied from a file and then closed.
    /// </summary>
    public static ToolResult Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? standardInputFile = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInputFile is not null,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (name, value) in environment)
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Task feed = Task.CompletedTask;
        if (standardInputFile is not null)
        {
            feed = Task.Run(async () =>
            {
                try
                {
                    await using var input = File.OpenRead(standardInputFile);
                    await input.CopyToAsync(process.StandardInput.BaseStream).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // The child closed its input early (for example after an error): nothing more to feed.
                }
                finally
                {
                    process.StandardInput.Close();
                }
            });
        }

        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5_000);
            throw new TimeoutException($"{Path.GetFileName(fileName)} {string.Join(' ', start.ArgumentList)} did not finish within {timeout.TotalSeconds} s and was killed.");
        }

        // The parameterless wait also waits for the redirected streams to reach their end.
        process.WaitForExit();
        feed.Wait(TimeSpan.FromSeconds(10));
        return new ToolResult(process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }

    public static string? FindOnPath(string name)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/local/bin"]);
        return directories.Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists);
    }

    private static string FindRepositoryRoot()
    {
        var recorded = typeof(ExternalTools).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "VtapCollector.sln")))
        {
            return recorded;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VtapCollector.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (the folder with VtapCollector.sln) was not found above the test output.");
    }
}
