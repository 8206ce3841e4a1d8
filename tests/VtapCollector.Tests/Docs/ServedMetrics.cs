using System.Text.RegularExpressions;

namespace VtapCollector.Tests.Docs;

/// <summary>
/// The metric families the daemon serves, read from the code that renders them
/// (src/VtapCollector/Service/Metrics/CollectorMetrics.cs): every quoted <c>vtap_</c>,
/// <c>process_</c> and <c>dotnet_</c> name there is a family. The loopback tests scrape a running
/// daemon, so a name here that it does not serve would fail them too.
/// </summary>
internal static partial class ServedMetrics
{
    public static IReadOnlyList<string> Names { get; } = Read();

    private static List<string> Read()
    {
        var code = File.ReadAllText(Path.Combine(Oracle.ExternalTools.RepositoryRoot, "src", "VtapCollector", "Service", "Metrics", "CollectorMetrics.cs"));
        return [.. QuotedName().Matches(code).Select(m => m.Groups[1].Value).Distinct().Order(StringComparer.Ordinal)];
    }

    [GeneratedRegex(@"""((?:vtap|process|dotnet)_[a-z0-9_]+)""")]
    private static partial Regex QuotedName();
}
