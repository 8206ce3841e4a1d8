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
        IConfigurationRoot read;
        try
        {
            read = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false).Build();
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException or FormatException or InvalidDataException)
        {
            error = $"{option} '{file}': {(failure.InnerException ?? failure).Message.TrimEnd('.')}.";
            return null;
        }

        var configuration = networksFile is null ? read : UnderNetworks(read);
        var settings = SettingsLoader.TryLoad(configuration, out var invalid);
        if (settings is null)
        {
            error = $"{option} '{file}': {invalid}";
            return null;
        }

        return settings.Networks;
    }

    /// <summary>The file's keys moved under <c>Networks:</c>, so the daemon's loader checks them.</summary>
    private static IConfigurationRoot UnderNetworks(IConfiguration file) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(file.AsEnumerable()
                .Where(entry => entry.Value is not null)
                .Select(entry => KeyValuePair.Create("Networks:" + entry.Key, entry.Value)))
            .Build();
}
