using System.Text.RegularExpressions;

namespace VtapCollector.Tests.Docs;

/// <summary>
/// The metric families the daemon serves, read from the code of the components that report them
/// (each implements IMetricSource, anywhere under src/): every quoted <c>vtap_</c>,
/// <c>process_</c> and <c>dotnet_</c> name there is a family. The loopback tests scrape a running
/// daemon, so a name here that it does not serve would fail them too.
/// </summary>
internal static partial class ServedMetrics
{
    public static IReadOnlyList<string> Names { get; } = Read();

    private static List<string> Read()
    {
        var sources = Directory.EnumerateFiles(Path.Combine(Oracle.ExternalTools.RepositoryRoot, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        return [.. sources.SelectMany(path => QuotedName().Matches(File.ReadAllText(path)).Select(m => m.Groups[1].Value)).Distinct().Order(StringComparer.Ordinal)];
    }

    [GeneratedRegex(@"""((?:vtap|process|dotnet)_[a-z0-9_]+)""")]
    private static partial Regex QuotedName();
}
