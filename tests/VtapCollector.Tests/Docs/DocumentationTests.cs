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

    [GeneratedRegex(@"^\| `(--[a-z-]+)", RegexOptions.Multiline)]
    private static partial Regex OptionInTableRow();

    [GeneratedRegex(@"case ""(--[a-z-]+)""")]
    private static partial Regex OptionInCase();
}
