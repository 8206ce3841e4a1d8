using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using VtapCollector.Capture;
using VtapCollector.Capture.Live;
using VtapCollector.Cli;
using VtapCollector.Export.Sinks;
using VtapCollector.Kafka;
using VtapCollector.Service.Metrics;
using VtapCollector.Export.Metrics;

namespace VtapCollector.Service;

/// <summary>
/// <c>vtap-collector run [--config FILE] [--check] [--Section:Key=value ...]</c>: the daemon. Loads
/// and validates the configuration (one sentence and exit 1 when it is wrong; <c>--check</c> stops
/// there), then runs the collector and the metrics endpoint in one generic host until SIGTERM or
/// SIGINT.
/// </summary>
internal static class RunCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter error)
    {
        var (configFile, overrides, checkOnly) = ParseArguments(args);
        IConfigurationRoot configuration;
        try
        {
            configuration = SettingsLoader.Build(configFile, overrides, Environment.GetEnvironmentVariable("VTAP_SYSTEM_CONFIG") ?? SettingsLoader.SystemConfigFile);
        }
        catch (Exception failure) when (failure is IOException or InvalidDataException or FormatException)
        {
            await error.WriteLineAsync($"vtap-collector: cannot read the configuration: {failure.Message}").ConfigureAwait(false);
            return 1;
        }

        var settings = SettingsLoader.TryLoad(configuration, out var invalid);
        if (settings is null)
        {
            await error.WriteLineAsync($"vtap-collector: {invalid}").ConfigureAwait(false);
            return 1;
        }

        if (checkOnly)
        {
            await error.WriteLineAsync($"vtap-collector: the configuration is valid ({settings.Sections.Pipeline.EffectiveWorkers} workers; allow-list: {settings.AllowList.Describe()}).").ConfigureAwait(false);
            return 0;
        }

        IReadOnlyList<IRecordSink> sinks;
        try
        {
            sinks = OpenSinks(settings);
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException or ArgumentException or DllNotFoundException)
        {
            await error.WriteLineAsync($"vtap-collector: cannot open the record sink: {failure.Message}").ConfigureAwait(false);
            return 1;
        }

        await using var app = BuildHost(configuration, settings, sinks);
        var collector = app.Services.GetRequiredService<CollectorService>();
        var exitCode = 0;
        try
        {
            await app.StartAsync().ConfigureAwait(false);
            await app.WaitForShutdownAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM arrived while the host was still starting: a clean stop, not a failure.
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"vtap-collector: {Describe(failure, settings)}").ConfigureAwait(false);
            exitCode = 1;
        }

        // Whatever stopped the host, records already taken in are ended and flushed (a no-op when
        // the host's own stop did it, or when the collector never started).
        await collector.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return exitCode != 0 ? exitCode : Environment.ExitCode;
    }

    private static (string? ConfigFile, List<string> Overrides, bool CheckOnly) ParseArguments(string[] args)
    {
        string? configFile = null;
        var checkOnly = false;
        var overrides = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--check")
            {
                checkOnly = true;
            }
            else if (args[i] == "--config")
            {
                configFile = i + 1 < args.Length ? args[++i] : throw new UsageException("--config needs a file name.");
            }
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                configFile = args[i]["--config=".Length..];
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && args[i].Contains(':', StringComparison.Ordinal))
            {
                overrides.Add(args[i]);
                if (!args[i].Contains('=', StringComparison.Ordinal) && i + 1 < args.Length)
                {
                    overrides.Add(args[++i]);
                }
            }
            else
            {
                throw new UsageException($"Unknown argument '{args[i]}' for run; use --config FILE and --Section:Key=value settings.");
            }
        }

        return (configFile, overrides, checkOnly);
    }

    private static List<IRecordSink> OpenSinks(ValidatedSettings settings)
    {
        var configured = settings.Sections.Sinks;
        var sinks = new List<IRecordSink>();
        if (configured.File.Enabled)
        {
            sinks.Add(new RotatingFileSink(configured.File.ToOptions()));
        }

        if (configured.Kafka.Enabled)
        {
            // Reports (a broker's rejection, an unreachable cluster, a full spool) arrive rate-limited
            // per cause from librdkafka's threads and go to the log once the host's logger exists.
            sinks.Add(new KafkaSink(configured.Kafka, KafkaReports.Forward));
        }

        if (configured.Ipfix.Enabled)
        {
            sinks.Add(new Export.Ipfix.IpfixSink(configured.Ipfix.ToOptions(settings.Sections.Dedup.Enabled)));
        }

        // A first run with no configuration at all must show records, not fail for want of a sink.
        if (configured.Stdout.Enabled || sinks.Count == 0)
        {
            sinks.Insert(0, new StreamSink(Console.OpenStandardOutput(), encoder: Export.Formats.RecordFormats.Create(configured.Stdout.Format)));
        }

        return sinks;
    }

    private static WebApplication BuildHost(IConfigurationRoot configuration, ValidatedSettings settings, IReadOnlyList<IRecordSink> sinks)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);

        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddConfiguration(configuration.GetSection("Logging"));

        // Logs go to stderr so stdout can carry records; under systemd (JOURNAL_STREAM set) lines get
        // the <N> syslog-level prefix journald reads, without timestamps journald adds itself.
        var underJournal = Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null;
        // The host's own report of a failed start repeats, with a stack trace, the one sentence
        // printed below.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (underJournal)
        {
            builder.Logging.AddSystemdConsole(o => o.IncludeScopes = false);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(settings.MetricsListen, listen => listen.Protocols = HttpProtocols.Http1);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(settings.Sections.Pipeline.ShutdownTimeoutSeconds + 5));
        builder.Services.AddSingleton(configuration);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(_ => new LiveCollector(settings, sinks));
        builder.Services.AddSingleton<SystemdNotifier>();
        builder.Services.AddSingleton<ReloadCounters>();
        builder.Services.AddSingleton<CollectorMetrics>();
        builder.Services.AddSingleton<CollectorService>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<CollectorService>());

        var app = builder.Build();
        KafkaReports.Attach(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("VtapCollector.Kafka"));
        app.MapGet("/metrics", (CollectorMetrics metrics) => Results.Text(metrics.Render(), PrometheusTextWriter.ContentType));
        app.MapGet("/healthz", (CollectorService service) => Probe(service.Liveness()));
        app.MapGet("/readyz", (CollectorService service) => Probe(service.Readiness()));
        CaptureApi.Map(app);
        return app;
    }

    private static IResult Probe(string? problem) =>
        problem is null ? Results.Text("ok\n") : Results.Text(problem + "\n", statusCode: StatusCodes.Status503ServiceUnavailable);

    private static string Describe(Exception failure, ValidatedSettings settings) => failure switch
    {
        UdpSocketException or LiveCaptureException => failure.Message,
        IOException io when io.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase) =>
            $"Cannot serve metrics on {settings.MetricsListen}: the address is already in use; set Metrics:Listen to a free ADDRESS:PORT.",
        IOException io when io.Message.Contains("Failed to bind", StringComparison.OrdinalIgnoreCase) =>
            $"Cannot serve metrics on {settings.MetricsListen} ({io.Message}); set Metrics:Listen to an address of this host.",
        _ => failure.Message,
    };
}
