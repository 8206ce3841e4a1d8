using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Networks;
using VtapCollector.Flows;

namespace VtapCollector.Service;

/// <summary>
/// Settings after validation: every section checked by its own class, and the options the components
/// are built from (parsed and with their defaults applied).
/// </summary>
internal sealed record ValidatedSettings(
    CollectorSettings Sections,
    AllowList AllowList,
    NetworkMap Networks,
    DecoderOptions Decoder,
    FlowTableOptions FlowTable,
    IPEndPoint MetricsListen,
    IReadOnlyList<Engine.PacketCapture.CaptureSpec>? CaptureSessions = null,
    string? CaptureToken = null);

/// <summary>
/// Builds the configuration (defaults, appsettings.json beside the program, the system file in
/// /etc/vtap-collector, <c>--config FILE</c>, <c>VTAP__</c> environment variables, then the command
/// line, later ones winning), binds it to <see cref="CollectorSettings"/> rejecting unknown keys, and
/// validates it. Every failure is one sentence naming the key and what to put there.
/// </summary>
internal static class SettingsLoader
{
    public const string SystemConfigFile = "/etc/vtap-collector/vtap-collector.json";
    public const string EnvironmentPrefix = "VTAP__";

    /// <summary>Builds the configuration from its sources. <paramref name="configFile"/> must exist when given.</summary>
    public static IConfigurationRoot Build(string? configFile, IReadOnlyList<string> commandLine, string? systemConfigFile = SystemConfigFile)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        if (systemConfigFile is not null)
        {
            builder.AddJsonFile(systemConfigFile, optional: true, reloadOnChange: true);
        }

        if (configFile is not null)
        {
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: true);
        }

        return builder
            .AddEnvironmentVariables(EnvironmentPrefix)
            .AddCommandLine(commandLine.ToArray())
            .Build();
    }

    /// <summary>Binds and validates; returns null and one sentence when something is wrong.</summary>
    public static ValidatedSettings? TryLoad(IConfiguration configuration, out string? error)
    {
        var settings = Load(configuration, out error);
        error = error is null ? null : OneLine(error);
        return settings;
    }

    /// <summary>
    /// The sentence quotes what the user wrote; a value with a line break or another control character
    /// would split it over lines of the log (and forge a second log line), so those are shown escaped.
    /// </summary>
    private static string OneLine(string sentence)
    {
        if (!sentence.Any(char.IsControl))
        {
            return sentence;
        }

        var text = new System.Text.StringBuilder(sentence.Length + 16);
        foreach (var c in sentence)
        {
            _ = c switch
            {
                '\n' => text.Append("\\n"),
                '\r' => text.Append("\\r"),
                '\t' => text.Append("\\t"),
                _ when char.IsControl(c) => text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => text.Append(c),
            };
        }

        return text.ToString();
    }

    private static ValidatedSettings? Load(IConfiguration configuration, out string? error)
    {
        if (ConfigurationShape.Check(configuration, typeof(CollectorSettings), ["Logging"]) is { } shapeError)
        {
            error = shapeError;
            return null;
        }

        var raw = new CollectorSettings();
        try
        {
            // Section by section: the root also holds Logging, which is the logging system's to read.
            BindSection(configuration, "Sources", raw.Sources);
            BindSection(configuration, "AllowList", raw.AllowList);
            BindSection(configuration, "Networks", raw.Networks);
            BindSection(configuration, "Decoder", raw.Decoder);
            BindSection(configuration, "Flows", raw.Flows);
            BindSection(configuration, "Pipeline", raw.Pipeline);
            BindSection(configuration, "Sinks", raw.Sinks);
            BindSection(configuration, "Metrics", raw.Metrics);
            BindSection(configuration, "Dedup", raw.Dedup);
            BindSection(configuration, "Capture", raw.Capture);
        }
        catch (InvalidOperationException bindError)
        {
            error = "Invalid configuration: " + Describe(bindError);
            return null;
        }

        error = Validate(raw, out var settings);
        return settings;
    }

    private static void BindSection<T>(IConfiguration configuration, string name, T target)
        where T : class =>
        configuration.GetSection(name).Bind(target, o => o.ErrorOnUnknownConfiguration = true);

    private static string Describe(InvalidOperationException bindError)
    {
        // The binder says which key and value it could not convert; keep its words, drop the type names.
        var inner = bindError.InnerException is null ? "" : " (" + bindError.InnerException.Message.TrimEnd('.') + ")";
        return bindError.Message.TrimEnd('.') + inner + ".";
    }

    /// <summary>Each section validates itself, in the order a reader meets them; the first complaint wins.</summary>
    private static string? Validate(CollectorSettings sections, out ValidatedSettings? settings)
    {
        settings = null;
        if ((sections.Sources.Validate() ?? sections.Pipeline.Validate() ?? sections.Sinks.Validate() ?? sections.Dedup.Validate()) is { } error)
        {
            return error;
        }

        var allowList = sections.AllowList.ToAllowList(out error);
        var networks = allowList is null ? null : NetworkSettings.ToMap(sections.Networks, out error);
        var decoder = networks is null ? null : sections.Decoder.ToOptions(out error);
        if (decoder is not null && sections.Sources.Gre.Enabled && !decoder.Gre)
        {
            // The GRE source takes nothing but GRE: without decapsulation every packet would be counted and dropped.
            return "Sources:Gre:Enabled needs Decoder:Gre; set Decoder:Gre to true or disable the GRE source.";
        }

        var table = decoder is null ? null : sections.Flows.ToOptions(sections.Pipeline.EffectiveWorkers, out error);
        var metrics = table is null ? null : sections.Metrics.Validate(out error);
        if (metrics is null)
        {
            return error;
        }

        var captures = sections.Capture.ToSpecs(out var token, out error);
        if (captures is null)
        {
            return error;
        }

        settings = new ValidatedSettings(sections, allowList!, networks!, decoder!, table!, metrics, captures, token);
        return null;
    }

    /// <summary>Parses <c>1.2.3.4:5</c> or <c>[::1]:5</c> strictly (<see cref="Capture.Udp.EndPointText"/>); port 0 is allowed (tests: pick a free port).</summary>
    public static bool TryParseEndPoint(string? text, out IPEndPoint endPoint)
    {
        var parsed = Capture.Udp.EndPointText.TryParse(text, out var result);
        endPoint = result!;
        return parsed;
    }
}
