using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace VtapCollector.Tests.CrossCheck;

/// <summary>What a finished tool run printed and returned.</summary>
internal sealed record ToolResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs the external programs the cross-check depends on (python3 + scapy, tshark, the collector) with
/// bounded waits. A missing program is a failure that names the Debian package to install, never a skip.
/// </summary>
internal static class ExternalTool
{
    /// <summary>Runs a program to its end; kills it (and its children) when it outlives the timeout.</summary>
    public static ToolResult Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string missingHint,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
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

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception error)
        {
            throw new InvalidOperationException($"cannot start '{fileName}' ({error.Message}): {missingHint}", error);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended between the wait and the kill.
            }

            process.WaitForExit(TimeSpan.FromSeconds(10));
            throw new TimeoutException($"'{fileName} {string.Join(' ', start.ArgumentList)}' did not finish within {timeout.TotalSeconds:F0} s and was killed.");
        }

        process.WaitForExit();
        return new ToolResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>
    /// The repository: the first folder above the test assembly holding VtapCollector.sln, else the
    /// RepositoryRoot recorded at build time (tests/Directory.Build.props), for builds with an
    /// --artifacts-path outside the repository.
    /// </summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VtapCollector.sln")))
            {
                return directory.FullName;
            }
        }

        var recorded = typeof(ExternalTool).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "VtapCollector.sln")))
        {
            return recorded;
        }

        throw new InvalidOperationException(
            $"cannot find the repository (a folder with VtapCollector.sln) above {AppContext.BaseDirectory} or at the recorded RepositoryRoot '{recorded}'.");
    }

    /// <summary>The Debian interpreter, which is where python3-scapy installs scapy; else python3 from PATH.</summary>
    public static string Python() => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>The dotnet host that runs this test, to run the collector's dll with.</summary>
    public static string DotnetHost()
    {
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
        {
            return fromSdk;
        }

        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return "dotnet";
    }

    /// <summary>The collector, built from src/VtapCollector and copied next to this test assembly by the project reference.</summary>
    public static string CollectorDll()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "vtap-collector.dll");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"the collector {path} is missing: VtapCollector.Tests.csproj must reference src/VtapCollector/VtapCollector.csproj so the build copies it here.");
        }

        return path;
    }
}
