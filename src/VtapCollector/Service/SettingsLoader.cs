using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;
using VtapCollector.Flows;

namespace VtapCollector.Service;

/// <summary>Settings after validation, with the text forms parsed.</summary>
internal sealed record ValidatedSettings(
    CollectorSettings Raw,
    IReadOnlyList<IPEndPoint> UdpListen,
    int UdpSockets,
    int AfPacketRings,
    int Workers,
    AllowList AllowList,
    DecoderOptions Decoder,
    FlowTableOptions FlowTable,
    IPEndPoint MetricsListen);

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
        if (ConfigurationShape.Check(configuration, typeof(CollectorSettings), ["Logging"]) is { } shapeError)
        {
            error = shapeError;
            return null;
        }

        var raw = new CollectorSettings();
        try
        {
            configuration.Bind(raw, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException bindError)
        {
            error = "Invalid configuration: " + Describe(bindError);
            return null;
        }

        error = Validate(raw, out var settings);
        return settings;
    }

    private static string Describe(InvalidOperationException bindError)
    {
        // The binder says which key and value it could not convert; keep its words, drop the type names.
        var inner = bindError.InnerException is null ? "" : " (" + bindError.InnerException.Message.TrimEnd('.') + ")";
        return bindError.Message.TrimEnd('.') + inner + ".";
    }

    private static string? Validate(CollectorSettings raw, out ValidatedSettings? settings)
    {
        settings = null;
        var cores = Environment.ProcessorCount;
        var sources = raw.Sources;
        if (!sources.Udp.Enabled && !sources.AfPacket.Enabled && !sources.Pcap.Enabled)
        {
            return "No source is enabled; set Sources:Udp:Enabled, Sources:AfPacket:Enabled or Sources:Pcap:Enabled to true.";
        }

        var listen = new List<IPEndPoint>();
        if (sources.Udp.Enabled)
        {
            var texts = sources.Udp.Listen.Count == 0 ? ["0.0.0.0:4789"] : sources.Udp.Listen;
            foreach (var text in texts)
            {
                if (!TryParseEndPoint(text, out var endPoint))
                {
                    return $"Sources:Udp:Listen entry '{text}' is not ADDRESS:PORT (examples: 0.0.0.0:4789, [::]:4789).";
                }

                listen.Add(endPoint);
            }

            if (sources.Udp.Sockets is < 0 or > 64)
            {
                return $"Sources:Udp:Sockets must be between 0 (one per core) and 64 (was {sources.Udp.Sockets}).";
            }

            var udp = new Capture.UdpTunnelReceiverOptions
            {
                ReceiveBufferBytes = sources.Udp.ReceiveBufferBytes,
                BatchSize = sources.Udp.BatchSize,
                MaxDatagramBytes = sources.Udp.MaxDatagramBytes,
            };
            if (udp.Validate() is { } udpError)
            {
                return "Sources:Udp:" + udpError;
            }
        }

        if (sources.AfPacket.Enabled && string.IsNullOrWhiteSpace(sources.AfPacket.Interface))
        {
            return "Sources:AfPacket:Interface must name the network interface to capture on (for example eth1).";
        }

        if (sources.AfPacket.Enabled && new Capture.Live.AfPacketSourceOptions
            {
                Interface = sources.AfPacket.Interface,
                BlockSizeBytes = sources.AfPacket.BlockSizeBytes,
                BlockCount = sources.AfPacket.BlockCount,
            }.Validate() is { } ringError)
        {
            return "Sources:AfPacket: " + ringError;
        }

        if (sources.AfPacket.Rings is < 0 or > 64)
        {
            return $"Sources:AfPacket:Rings must be between 0 (one per core) and 64 (was {sources.AfPacket.Rings}).";
        }

        if (sources.Pcap.Enabled && string.IsNullOrWhiteSpace(sources.Pcap.Interface))
        {
            return "Sources:Pcap:Interface must name the network interface to capture on (for example eth1).";
        }

        var allowList = AllowList.TryCreate(raw.AllowList.SourceCidrs, raw.AllowList.Vnis, out var allowError);
        if (allowList is null)
        {
            return allowError;
        }

        var decoder = new DecoderOptions
        {
            VxlanPorts = raw.Decoder.VxlanPorts.Count == 0 ? [DecoderOptions.VxlanIanaPort, DecoderOptions.VxlanLinuxPort] : raw.Decoder.VxlanPorts,
            GenevePorts = raw.Decoder.GenevePorts.Count == 0 ? [DecoderOptions.GeneveIanaPort] : raw.Decoder.GenevePorts,
        };
        if (decoder.Validate() is { } decoderError)
        {
            return "Decoder: " + decoderError;
        }

        var pipeline = raw.Pipeline;
        if (pipeline.Validate() is { } pipelineError)
        {
            return pipelineError;
        }

        var workers = pipeline.EffectiveWorkers;
        var flows = raw.Flows;
        if (flows.ActiveTimeoutSeconds < 1 || flows.IdleTimeoutSeconds < 1 || flows.TcpIdleTimeoutSeconds < 1 || flows.TcpClosingTimeoutSeconds < 0)
        {
            return "Flows:ActiveTimeoutSeconds, IdleTimeoutSeconds and TcpIdleTimeoutSeconds must be at least 1, and TcpClosingTimeoutSeconds at least 0.";
        }

        if (flows.Capacity < 16 * workers)
        {
            return $"Flows:Capacity ({flows.Capacity}) must be at least 16 flows per worker ({16 * workers} for {workers} workers).";
        }

        var table = new FlowTableOptions
        {
            Capacity = flows.Capacity,
            ActiveTimeout = TimeSpan.FromSeconds(flows.ActiveTimeoutSeconds),
            IdleTimeout = TimeSpan.FromSeconds(flows.IdleTimeoutSeconds),
            TcpIdleTimeout = TimeSpan.FromSeconds(flows.TcpIdleTimeoutSeconds),
            TcpClosingTimeout = TimeSpan.FromSeconds(flows.TcpClosingTimeoutSeconds),
        };
        if (table.Validate() is { } tableError)
        {
            return "Flows: " + tableError;
        }

        var sinks = raw.Sinks;
        if (Export.Formats.RecordFormats.Validate("Sinks:Stdout:Format", sinks.Stdout.Format) is { } stdoutFormatError)
        {
            return stdoutFormatError;
        }

        if (sinks.Kafka.Enabled && sinks.Kafka.ToOptions().Validate() is { } kafkaError)
        {
            return kafkaError;
        }

        if (sinks.File.Enabled && sinks.File.ToOptions().Validate() is { } fileError)
        {
            return fileError;
        }

        if (!TryParseEndPoint(raw.Metrics.Listen, out var metricsListen))
        {
            return $"Metrics:Listen '{raw.Metrics.Listen}' is not ADDRESS:PORT (example: 127.0.0.1:9464).";
        }

        if (raw.Metrics.MaxVniLabels is < 0 or > 100_000 || raw.Metrics.MaxTunnelSourceLabels is < 0 or > 100_000)
        {
            return "Metrics:MaxVniLabels and Metrics:MaxTunnelSourceLabels must be between 0 and 100000.";
        }

        if (raw.Metrics.ReadyMaxIdleSeconds < 0)
        {
            return $"Metrics:ReadyMaxIdleSeconds cannot be negative (was {raw.Metrics.ReadyMaxIdleSeconds}).";
        }

        settings = new ValidatedSettings(
            raw,
            listen,
            sources.Udp.Sockets == 0 ? cores : sources.Udp.Sockets,
            sources.AfPacket.Rings == 0 ? cores : sources.AfPacket.Rings,
            workers,
            allowList,
            decoder,
            table,
            metricsListen);
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
