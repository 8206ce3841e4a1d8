using System.Text.Json;
using System.Text.RegularExpressions;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Packaging;

/// <summary>Paths of the packaging files and the runs of the tools that check them.</summary>
internal static partial class PackagingTools
{
    public static string RepositoryRoot => ExternalTools.RepositoryRoot;

    public static string InRepository(params string[] parts) => Path.Combine([RepositoryRoot, .. parts]);

    /// <summary>Runs a program and fails the test, with everything it printed, unless it exits 0.</summary>
    public static ToolResult RunOk(string program, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var result = ExternalTools.Run(Resolve(program), arguments, timeout, environment: environment);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited {result.ExitCode}\n{result.StandardOutput}\n{result.StandardError}");
        return result;
    }

    public static ToolResult Run(string program, IEnumerable<string> arguments, TimeSpan timeout) =>
        ExternalTools.Run(Resolve(program), arguments, timeout);

    /// <summary>A tool the tests need; its absence is a failure naming the Debian package, not a skip.</summary>
    public static string Resolve(string program) =>
        program.Contains('/', StringComparison.Ordinal) ? program
        : ExternalTools.FindOnPath(program)
        ?? new[] { "/usr/sbin", "/sbin" }.Select(directory => Path.Combine(directory, program)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{program} is not installed; scripts/install-deps.sh installs it.");

    /// <summary>The collector's configuration files are JSON with comments, as its configuration loader reads them.</summary>
    public static JsonDocument ParseConfiguration(string path) =>
        JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });

    /// <summary>Directives of a systemd unit or drop-in, in order, with repeated keys kept.</summary>
    public static IReadOnlyList<(string Section, string Key, string Value)> UnitDirectives(string path)
    {
        var directives = new List<(string, string, string)>();
        var section = "";
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith(';'))
            {
                continue;
            }

            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line[1..^1];
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            directives.Add((section, line[..equals], line[(equals + 1)..]));
        }

        return directives;
    }

    /// <summary>The figure in systemd-analyze security's last line, "Overall exposure level for X: 1.2 OK".</summary>
    public static double ExposureLevel(string output)
    {
        var match = ExposurePattern().Match(output);
        Assert.True(match.Success, output);
        return double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"Overall exposure level for [^:]+: (\d+\.\d+)")]
    private static partial Regex ExposurePattern();
}
