namespace VtapCollector.Export.Tests;

/// <summary>
/// The IANA protocol keywords as the system's /etc/protocols (netbase, from the IANA registry) lists
/// them: the oracle for the lower-case protocol names the formats write.
/// </summary>
internal static class IanaProtocols
{
    private static readonly Dictionary<int, string> Keywords = Load();

    /// <summary>The registry keyword of <paramref name="protocol"/> when the formats name it, else null.</summary>
    public static string? Keyword(int protocol) =>
        protocol is 1 or 6 or 17 or 58 or 132 ? Keywords[protocol] : null;

    private static Dictionary<int, string> Load()
    {
        const string path = "/etc/protocols";
        Assert.True(File.Exists(path), "/etc/protocols (the netbase package) is needed as the protocol-name oracle");
        var keywords = new Dictionary<int, string>();
        foreach (var line in File.ReadLines(path))
        {
            var fields = line.Split('#')[0].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && int.TryParse(fields[1], System.Globalization.CultureInfo.InvariantCulture, out var number))
            {
                keywords.TryAdd(number, fields[0]);
            }
        }

        return keywords;
    }
}
