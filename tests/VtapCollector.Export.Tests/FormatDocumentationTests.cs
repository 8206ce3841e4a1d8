using System.Text.Json;
using System.Text.RegularExpressions;
using VtapCollector.Export.Formats;

namespace VtapCollector.Export.Tests;

/// <summary>docs/schema.md's section of each format names every field the encoder writes.</summary>
public partial class FormatDocumentationTests
{
    [Theory]
    [InlineData(EcsJsonEncoder.FormatName, "vtap")]
    [InlineData(OcsfJsonEncoder.FormatName, "unmapped.vtap")]
    [InlineData(AzureFlowTupleEncoder.FormatName, null)]
    public void SchemaDocument_FormatSection_NamesEveryFieldWritten(string format, string? extension)
    {
        var documented = Backticked(Section(format));
        var encoder = RecordFormats.Create(format)!;
        foreach (var record in FormatRecords.All)
        {
            foreach (var path in Paths(FormatRecords.Parse(encoder, record), ""))
            {
                // Our own fields are documented by their native names in the extension's row.
                var name = extension is not null && path.StartsWith(extension + ".", StringComparison.Ordinal) ? path[(extension.Length + 1)..] : path;
                Assert.True(documented.Contains(name) || documented.Contains(path), $"docs/schema.md's `{format}` section does not name {path}");
            }
        }
    }

    /// <summary>The text under the "## `NAME`..." heading, up to the next heading of that level.</summary>
    private static string Section(string format)
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root, "docs", "schema.md"));
        var start = text.IndexOf($"\n## `{format}`", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/schema.md has no section for `{format}`");
        var end = text.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    private static HashSet<string> Backticked(string text) =>
        BacktickedWord().Matches(text).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>The dotted path of every value that is not an object.</summary>
    private static IEnumerable<string> Paths(JsonElement element, string prefix)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var path in Paths(property.Value, prefix + property.Name + "."))
                {
                    yield return path;
                }
            }
            else
            {
                yield return prefix + property.Name;
            }
        }
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex BacktickedWord();
}
