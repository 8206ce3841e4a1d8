using Microsoft.Extensions.Configuration;
using VtapCollector.Engine.Networks;
using VtapCollector.Service;

namespace VtapCollector.Replay;

/// <summary>
/// The named networks of a replay: <c>--networks FILE</c>, a JSON file holding what the
/// <c>Networks</c> section of the configuration holds (<c>{"spoke1": {"Cidrs": [...], "Local": true}}</c>),
/// or <c>--config FILE</c>, a <c>run</c> configuration file whose <c>Networks</c> section is taken
/// (the whole file is validated, as <c>run --check</c> would). Either is checked by the same rules as
/// the daemon's configuration, so a file that works in one works in the other.
/// </summary>
internal static class ReplayNetworks
{
    /// <summary>The networks, or null and one sentence saying what is wrong with the file.</summary>
    public static NetworkMap? Load(string? networksFile, string? configFile, out string? error)
    {
        error = null;
        var file = networksFile ?? configFile;
        if (file is null)
        {
            return NetworkMap.Empty;
        }

        var option = networksFile is null ? "--config" : "--networks";
        IConfigurationRoot configuration;
        try
        {
            configuration = networksFile is null
                ? new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false).Build()
                : UnderNetworks(File.ReadAllBytes(file));
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException or FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            error = $"{option} '{file}': {(failure.InnerException ?? failure).Message.TrimEnd('.')}.";
            return null;
        }

        var settings = SettingsLoader.TryLoad(configuration, out var invalid);
        if (settings is null)
        {
            error = $"{option} '{file}': {invalid}";
            return null;
        }

        return settings.Networks;
    }

    /// <summary>
    /// The file's content as the value of a <c>Networks</c> key, so the daemon's loader checks it: the
    /// JSON is wrapped, not re-keyed, because listing a configuration's keys costs a scan of all of
    /// them per section (quadratic in the prefixes).
    /// </summary>
    private static IConfigurationRoot UnderNetworks(byte[] json)
    {
        using var wrapped = new MemoryStream();
        wrapped.Write("{\"Networks\":"u8);
        wrapped.Write(json.AsSpan().StartsWith("\uFEFF"u8) ? json.AsSpan(3) : json);
        wrapped.Write("\n}"u8);
        wrapped.Position = 0;
        return new ConfigurationBuilder().AddJsonStream(wrapped).Build();
    }
}
