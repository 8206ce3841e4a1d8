using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using VtapCollector.Service;

namespace VtapCollector.Fuzz.Targets;

/// <summary>
/// The configuration loader of <c>vtap-collector run</c> over a JSON configuration. Text that is not
/// JSON is the JSON provider's to reject, with its documented exceptions; once it is parsed, the
/// loader must answer with settings or with one sentence, never an exception.
/// </summary>
internal sealed class SettingsTarget : IFuzzTarget
{
    public string Name => "settings";

    public IReadOnlyList<string> Instrument =>
    [
        "vtap-collector.dll VtapCollector.Service",
        "VtapCollector.Engine.dll VtapCollector.Engine.Ingress.AllowList VtapCollector.Engine.PipelineOptions VtapCollector.Engine.Sources",
        "VtapCollector.Capture.dll VtapCollector.Capture.Udp.EndPointText VtapCollector.Capture.UdpTunnelReceiverOptions VtapCollector.Capture.Live.AfPacketSourceOptions VtapCollector.Capture.Live.Xdp.XdpSourceOptions",
        "VtapCollector.Export.dll VtapCollector.Export.Sinks.RotatingFileSinkOptions VtapCollector.Export.Formats",
        "VtapCollector.Kafka.dll VtapCollector.Kafka.KafkaSinkOptions",
        "VtapCollector.Flows.dll VtapCollector.Flows.FlowTableOptions",
        "VtapCollector.Decoding.dll VtapCollector.Decoding.DecoderOptions",
    ];

    /// <summary>Every section and key name the settings have (read off the classes), and JSON's own tokens.</summary>
    public IEnumerable<string>? Dictionary
    {
        get
        {
            var names = new SortedSet<string>(StringComparer.Ordinal) { "Logging" };
            AddNames(typeof(CollectorSettings), names, depth: 0);
            var tokens = names.Select(name => $"\"\\\"{name}\\\"\"").ToList();
            tokens.AddRange(["\"true\"", "\"false\"", "\"null\"", "\"{\"", "\"}\"", "\"[\"", "\"]\"", "\":\"", "\",\"", "\"//\"", "\"0.0.0.0:4789\"", "\"[::]:4789\"", "\"10.0.0.0/8\"", "\"-1\"", "\"4294967296\"", "\"1e9\""]);
            return tokens;
        }
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        IConfigurationRoot configuration;
        try
        {
            configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(input.ToArray(), writable: false)).Build();
        }
        catch (Exception error) when (error is InvalidDataException or FormatException or JsonException)
        {
            // Not a JSON object, or a key given twice: the provider's documented rejections.
            return;
        }

        var settings = SettingsLoader.TryLoad(configuration, out var message);
        if (settings is null == message is null)
        {
            throw new InvalidOperationException($"TryLoad answered with settings {(settings is null ? "absent" : "present")} and error '{message}': exactly one of them was expected.");
        }

        // One sentence: not empty, and on one line of the log even when it quotes a key or value
        // holding a line break or another control character.
        if (message is not null && (string.IsNullOrWhiteSpace(message) || message.Any(char.IsControl)))
        {
            throw new InvalidOperationException($"TryLoad's error is not one sentence on one line: '{message}'.");
        }
    }

    public IEnumerable<Seed> Seeds(string repositoryRoot)
    {
        foreach (var path in Directory.EnumerateFiles(Path.Combine(repositoryRoot, "packaging"), "*.json").Order(StringComparer.Ordinal))
        {
            yield return new Seed(Path.GetFileName(path), File.ReadAllBytes(path));
        }

        // Every section present with a value of each kind, so the loader's deeper checks are one mutation away.
        yield return new Seed("every-section.json", Encoding.UTF8.GetBytes("""
            {
              "Sources": {
                "Udp": { "Enabled": true, "Listen": [ "0.0.0.0:4789", "[::]:6081" ], "Sockets": 2 },
                "AfPacket": { "Enabled": true, "Interface": "eth1", "Rings": 1 },
                "Pcap": { "Enabled": false, "Interface": "eth2" },
                "Xdp": { "Enabled": false, "Interface": "eth3", "Queues": 2, "RingSize": 4096, "AttachMode": "Native", "CopyMode": "Auto" }
              },
              "AllowList": { "SourceCidrs": [ "10.1.0.0/16", "fd00::/8" ], "Vnis": [ 100, 200 ] },
              "Decoder": { "VxlanPorts": [ 4789, 8472 ], "GenevePorts": [ 6081 ] },
              "Flows": { "Capacity": 100000, "ActiveTimeoutSeconds": 60, "IdleTimeoutSeconds": 30, "TcpIdleTimeoutSeconds": 300, "TcpClosingTimeoutSeconds": 5 },
              "Pipeline": { "Workers": 2, "DispatchQueueCapacity": 65536, "RecordQueueCapacity": 65536, "ShutdownTimeoutSeconds": 10 },
              "Sinks": {
                "Stdout": { "Enabled": true },
                "File": { "Enabled": true, "Path": "/tmp/flows.jsonl", "MaxFileBytes": 1048576, "MaxTotalBytes": 10485760 },
                "Kafka": { "Enabled": true, "BootstrapServers": "127.0.0.1:9092", "Topic": "flows", "Producer": { "linger.ms": "5" }, "SpoolFsync": "Never", "SpoolOverflow": "DropOldest" }
              },
              "Metrics": { "Listen": "127.0.0.1:9464", "MaxVniLabels": 10, "ReadyMaxIdleSeconds": 60 }
            }
            """));
    }

    private static void AddNames(Type type, SortedSet<string> names, int depth)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is null && !property.PropertyType.IsClass)
            {
                continue;
            }

            names.Add(property.Name);
            var nested = property.PropertyType;
            if (depth < 4 && nested.IsClass && nested != typeof(string) && !nested.IsGenericType && nested.Namespace?.StartsWith("VtapCollector", StringComparison.Ordinal) == true)
            {
                AddNames(nested, names, depth + 1);
            }
        }
    }
}
