using System.Net;
using System.Text.Json;

namespace VtapCollector.Export.Tests;

/// <summary>
/// The published field lists of ECS and OCSF, as copied into data/ (see each file's header for its
/// source and licence), and the JSON kind each of their types takes.
/// </summary>
internal static class PublishedSchemas
{
    /// <summary>ECS: dotted field name to (type, normalization).</summary>
    public static IReadOnlyDictionary<string, (string Type, string Normalization)> EcsFields { get; } =
        Rows("ecs-9.4.0-fields.csv").Skip(1).ToDictionary(cells => cells[0], cells => (cells[1], cells[2]), StringComparer.Ordinal);

    /// <summary>ECS: (field, allowed value) of the categorization fields to the event.type values expected with it (for event.category).</summary>
    public static IReadOnlyDictionary<(string Field, string Value), string[]> EcsAllowedValues { get; } =
        Rows("ecs-9.4.0-allowed-values.csv").Skip(1).ToDictionary(cells => (cells[0], cells[1]), cells => cells[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>OCSF: (owner, attribute) to type; the owner is the class (network_activity) or an object name.</summary>
    public static IReadOnlyDictionary<(string Owner, string Attribute), string> OcsfAttributes { get; } =
        Rows("ocsf-1.8.0-network_activity.csv").Skip(1).ToDictionary(cells => (cells[0], cells[1]), cells => cells[2]);

    /// <summary>OCSF: (owner, attribute, value) to the value's caption.</summary>
    public static IReadOnlyDictionary<(string Owner, string Attribute, int Value), string> OcsfEnums { get; } =
        Rows("ocsf-1.8.0-enums.csv").Skip(1).ToDictionary(cells => (cells[0], cells[1], int.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture)), cells => cells[3]);

    /// <summary>Fails unless <paramref name="value"/> can hold an ECS field of type <paramref name="type"/>.</summary>
    public static void AssertEcsScalar(string field, string type, JsonElement value)
    {
        switch (type)
        {
            case "keyword" or "constant_keyword" or "wildcard" or "match_only_text" or "text":
                Assert.True(value.ValueKind == JsonValueKind.String, $"{field} ({type}) is {value.ValueKind}");
                break;
            case "ip":
                Assert.True(value.ValueKind == JsonValueKind.String && IPAddress.TryParse(value.GetString(), out _), $"{field} ({type}) is {value}");
                break;
            case "date":
                Assert.True(value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), System.Globalization.CultureInfo.InvariantCulture, out _), $"{field} ({type}) is {value}");
                break;
            case "long" or "integer" or "short" or "byte" or "unsigned_long":
                Assert.True(value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _), $"{field} ({type}) is {value}");
                break;
            default:
                Assert.Fail($"{field} has the ECS type '{type}', which this test does not know");
                break;
        }
    }

    /// <summary>Fails unless <paramref name="value"/> can hold an OCSF scalar of type <paramref name="type"/>.</summary>
    public static void AssertOcsfScalar(string attribute, string type, JsonElement value)
    {
        switch (type)
        {
            case "string_t":
                Assert.True(value.ValueKind == JsonValueKind.String, $"{attribute} ({type}) is {value.ValueKind}");
                break;
            case "ip_t":
                Assert.True(value.ValueKind == JsonValueKind.String && IPAddress.TryParse(value.GetString(), out _), $"{attribute} ({type}) is {value}");
                break;
            case "integer_t":
                Assert.True(value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _), $"{attribute} ({type}) is {value}");
                break;
            case "long_t" or "timestamp_t":
                Assert.True(value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _), $"{attribute} ({type}) is {value}");
                break;
            case "port_t":
                Assert.True(value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var port) && port is >= 0 and <= 65535, $"{attribute} ({type}) is {value}");
                break;
            default:
                Assert.Fail($"{attribute} has the OCSF type '{type}', which this test does not know");
                break;
        }
    }

    private static IEnumerable<string[]> Rows(string file) =>
        File.ReadLines(Path.Combine(Repository.Root, "tests", "VtapCollector.Export.Tests", "data", file))
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(SplitCsv);

    /// <summary>Splits one CSV line; a quoted cell may hold commas.</summary>
    private static string[] SplitCsv(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                cells.Add(cell.ToString());
                cell.Clear();
            }
            else
            {
                cell.Append(c);
            }
        }

        cells.Add(cell.ToString());
        return [.. cells];
    }
}
