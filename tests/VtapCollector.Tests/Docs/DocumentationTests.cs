using System.Text.RegularExpressions;
using VtapCollector.Decoding;

namespace VtapCollector.Tests.Docs;

/// <summary>The README's tables and lists are checked against the code, so they cannot drift apart.</summary>
public partial class DocumentationTests
{
    private static readonly string RepositoryRoot = Oracle.ExternalTools.RepositoryRoot;

    [Fact]
    public void Readme_ListsEveryDropReasonLabel()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        var missing = Enumerable.Range(1, (int)DecodeStatus.Count - 1)
            .Select(i => ((DecodeStatus)i).ToLabel())
            .Where(label => !readme.Contains($"`{label}`", StringComparison.Ordinal))
            .ToList();
        Assert.True(missing.Count == 0, $"README.md does not list these reasons: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Readme_ReplayOptionTable_MatchesTheOptionsTheCommandAccepts()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        var start = readme.IndexOf("## Replay", StringComparison.Ordinal);
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var replaySection = readme[start..end];
        var parser = File.ReadAllText(Path.Combine(RepositoryRoot, "src", "VtapCollector", "Cli", "ReplayOptions.cs"));
        var documented = OptionInTableRow().Matches(replaySection).Select(m => m.Groups[1].Value).Order().ToList();
        var accepted = OptionInCase().Matches(parser).Select(m => m.Groups[1].Value).Order().ToList();
        Assert.Equal(accepted, documented);
    }

    [Fact]
    public void Readme_ConfigurationTable_ListsEveryKeyOfTheSettingsClasses()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        var documented = ConfigurationKeyRow().Matches(readme).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();
        var keys = SettingKeys(typeof(VtapCollector.Service.CollectorSettings), "").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(keys, documented);
    }

    [Fact]
    public void Readme_MetricsTable_ListsExactlyTheServedMetrics()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        var documented = MetricsRow().Matches(readme)
            .SelectMany(m => MetricName().Matches(m.Groups[1].Value).Select(n => n.Groups[1].Value))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(ServedMetrics.Names, documented);
    }

    /// <summary>Leaf configuration keys (<c>Section:Sub:Key</c>) of a settings class, by reflection.</summary>
    private static IEnumerable<string> SettingKeys(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var key = prefix + property.Name;
            var nested = property.PropertyType.IsClass && property.PropertyType != typeof(string) && !property.PropertyType.IsGenericType;

            // A map of named sections (Networks: name -> settings) is documented as Section:NAME:Key.
            var namedSections = property.PropertyType.IsGenericType && property.PropertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>)
                && property.PropertyType.GetGenericArguments()[1] is { IsClass: true } valueType && valueType != typeof(string);
            var leaves = namedSections ? SettingKeys(property.PropertyType.GetGenericArguments()[1], key + ":NAME:")
                : nested ? SettingKeys(property.PropertyType, key + ":")
                : [key];
            foreach (var leaf in leaves)
            {
                yield return leaf;
            }
        }
    }

    [GeneratedRegex(@"^\| `((?:Sources|AllowList|Networks|Decoder|Flows|Pipeline|Sinks|Kafka|Metrics|Dedup|Capture):[A-Za-z:]+)` \|", RegexOptions.Multiline)]
    private static partial Regex ConfigurationKeyRow();

    [GeneratedRegex(@"^\| ((?:`(?:vtap|process|dotnet)_[a-z0-9_]+`(?:, )?)+) \|", RegexOptions.Multiline)]
    private static partial Regex MetricsRow();

    [GeneratedRegex(@"`([a-z0-9_]+)`")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"^\| `(--[a-z-]+)", RegexOptions.Multiline)]
    private static partial Regex OptionInTableRow();

    [GeneratedRegex(@"case ""(--[a-z-]+)""")]
    private static partial Regex OptionInCase();
}
