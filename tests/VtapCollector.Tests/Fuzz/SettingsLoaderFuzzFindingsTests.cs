using Microsoft.Extensions.Configuration;
using VtapCollector.Service;

namespace VtapCollector.Tests.Fuzz;

/// <summary>
/// Inputs the settings fuzz target (tests/VtapCollector.Fuzz, target "settings") found, minimised:
/// the loader must answer each with settings or with one sentence on one line, for the log and the
/// terminal. Both once echoed a key holding a line break as it was, so the sentence spanned two
/// lines and the second could pass for a log line of its own.
/// </summary>
public class SettingsLoaderFuzzFindingsTests
{
    [Fact]
    public void TryLoad_UnknownSectionWithLineBreak_ErrorIsOneLine()
    {
        var error = Load(
            "7b 22" +          // {"
            "53 5c 6e 6b 73" + // S\nks  (an unknown section, its name holding an escaped line feed)
            "22 3a 31 7d");    // ":1}

        Assert.NotNull(error);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void TryLoad_UnknownKeyWithLineBreak_ErrorIsOneLine()
    {
        var error = Load(
            "7b 22 53 6f 75 72 63 65 73 22 3a 7b" + // {"Sources":{
            "22 55 64 70 22 3a 7b" +                // "Udp":{
            "22 4c 69 73 74 5c 6e 22 3a 31" +       // "List\n":1  (an unknown key: the binder's message names it)
            "7d 7d 7d");                            // }}}

        Assert.NotNull(error);
        Assert.DoesNotContain('\n', error);
    }

    /// <summary>
    /// Found while building the fuzz seeds: "Logging" is a section the loader lets through (the
    /// host's own), but binding then rejects it as a property CollectorSettings lacks, so a
    /// configuration that sets a log level cannot start.
    /// </summary>
    [Fact]
    public void TryLoad_LoggingSection_IsAccepted()
    {
        var json = """
            { "Sources": { "Udp": { "Enabled": true } }, "Sinks": { "Stdout": { "Enabled": true } },
              "Logging": { "LogLevel": { "Default": "Warning" } } }
            """u8.ToArray();
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(json)).Build();

        var settings = SettingsLoader.TryLoad(configuration, out var error);

        Assert.True(settings is not null, error);
    }

    private static string? Load(string hex)
    {
        var json = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(json)).Build();
        var settings = SettingsLoader.TryLoad(configuration, out var error);
        Assert.Null(settings);
        return error;
    }
}
