using System.Globalization;
using System.Text;

namespace VtapCollector.Tests.Oracle;

/// <summary>
/// Every difference a test finds between the collector and its oracle, collected rather than
/// asserted one at a time, so one failure lists them all: flow key, field, expected and actual
/// (what <paramref name="actualSide"/> says: the collector, or tshark when the generator's
/// manifest is the expectation).
/// </summary>
internal sealed class Mismatches(string actualSide = "collector")
{
    private const int MaximumListed = 60;

    private readonly List<string> items = [];

    public int Count => items.Count;

    /// <summary>A difference that is not one field of one flow (a missing flow, a total).</summary>
    public void Add(string text) => items.Add(text);

    public void Add(FlowKey key, string field, object? expected, object? actual) =>
        items.Add(string.Create(CultureInfo.InvariantCulture, $"{key}: {field} expected {expected ?? "null"}, {actualSide} {actual ?? "null"}"));

    /// <summary>Records a difference unless <paramref name="expected"/> equals <paramref name="actual"/>.</summary>
    public void Check(FlowKey key, string field, object? expected, object? actual)
    {
        if (!Equals(expected, actual))
        {
            Add(key, field, expected, actual);
        }
    }

    /// <summary>
    /// Fails with every difference (at most <see cref="MaximumListed"/> listed) after a first line
    /// naming the capture and what differs, and <paramref name="details"/> (totals, stderr) last.
    /// </summary>
    public void AssertNone(string capture, string what, string? details = null)
    {
        if (items.Count == 0)
        {
            return;
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{capture}: {items.Count} {what}\n");
        foreach (var item in items.Take(MaximumListed))
        {
            text.Append("  ").Append(item).Append('\n');
        }

        if (items.Count > MaximumListed)
        {
            text.Append(CultureInfo.InvariantCulture, $"  ... and {items.Count - MaximumListed} more\n");
        }

        text.Append(details);
        Assert.Fail(text.ToString());
    }
}
