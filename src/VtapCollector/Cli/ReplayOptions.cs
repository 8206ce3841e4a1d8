using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Cli;

/// <summary>The <c>replay</c> command's settings, from its command line.</summary>
internal sealed class ReplayOptions
{
    /// <summary>Capture path, "-" for stdin, or null for the bundled sample.</summary>
    public string? Input { get; private set; }

    /// <summary>Output path or "-" for stdout.</summary>
    public string Output { get; private set; } = "-";

    /// <summary>The record format's name, one of <see cref="Export.Formats.RecordFormats.Names"/>.</summary>
    public string Format { get; private set; } = Export.Formats.RecordFormats.Default;
    /// <summary>IPFIX export as well: <c>udp://HOST:PORT</c>, <c>tcp://HOST:PORT</c> or an IPFIX file (RFC 5655); null for none.</summary>
    public string? Ipfix { get; private set; }

    /// <summary>A JSON file shaped like the configuration's <c>Networks</c> section; null for none.</summary>
    public string? NetworksFile { get; private set; }

    /// <summary>A <c>run</c> configuration file whose <c>Networks</c> section classifies the records; null for none.</summary>
    public string? ConfigFile { get; private set; }

    public List<ushort> VxlanPorts { get; } = [];

    public List<ushort> GenevePorts { get; } = [];

    public TimeSpan ActiveTimeout { get; private set; } = TimeSpan.FromSeconds(60);

    public TimeSpan IdleTimeout { get; private set; } = TimeSpan.FromSeconds(60);

    public TimeSpan TcpIdleTimeout { get; private set; } = TimeSpan.FromSeconds(300);

    public TimeSpan TcpClosingTimeout { get; private set; } = TimeSpan.FromSeconds(5);

    public int MaxFlows { get; private set; } = 1_000_000;

    public bool Quiet { get; private set; }

    /// <summary>Double-tap deduplication: off unless --dedup.</summary>
    public Engine.DedupOptions Dedup { get; } = new();

    /// <summary>The packets <c>--capture-output</c> keeps (<c>--capture-filter</c>); everything when only the output is given.</summary>
    public Engine.PacketCapture.CaptureFilter CaptureFilter { get; private set; } = Engine.PacketCapture.CaptureFilter.All;

    /// <summary>A pcapng file for the kept packets (<c>--capture-output</c>); null: no capture.</summary>
    public string? CaptureOutput { get; private set; }

    /// <summary>Bytes kept of each packet (<c>--capture-snaplen</c>).</summary>
    public int CaptureSnapLength { get; private set; } = Engine.PacketCapture.CaptureSpec.DefaultSnapLength;

    /// <summary>Keep whole outer frames instead of the inner ones (<c>--capture-outer</c>).</summary>
    public bool CaptureOuter { get; private set; }

    /// <summary>Flow workers; 0: the engine's default (half the cores, at least one).</summary>
    public int Workers { get; private set; }

    /// <summary>Export threads; 0: one with one worker (the single-table order), else the engine's default.</summary>
    public int ExportThreads { get; private set; }

    /// <summary>
    /// The export threads a replay runs: with one worker and no choice made, one, so the records come
    /// out in the order a single flow table emits them and two replays of a capture are byte for byte
    /// alike; with several workers the order interleaves anyway, and every core may encode.
    /// </summary>
    public int EffectiveExportThreads(int workers) =>
        ExportThreads != 0 ? ExportThreads : workers == 1 ? 1 : Engine.PipelineOptions.DefaultExportThreads;

    public FlowTableOptions ToFlowTableOptions() => new()
    {
        Capacity = MaxFlows,
        ActiveTimeout = ActiveTimeout,
        IdleTimeout = IdleTimeout,
        TcpIdleTimeout = TcpIdleTimeout,
        TcpClosingTimeout = TcpClosingTimeout,
    };

    public DecoderOptions ToDecoderOptions() => new()
    {
        VxlanPorts = VxlanPorts.Count > 0 ? VxlanPorts : [Decoding.DecoderOptions.VxlanIanaPort, Decoding.DecoderOptions.VxlanLinuxPort],
        GenevePorts = GenevePorts.Count > 0 ? GenevePorts : [Decoding.DecoderOptions.GeneveIanaPort],
    };

    public static ReplayOptions Parse(string[] args)
    {
        var options = new ReplayOptions();
        var reader = new ArgumentReader(args, 1);
        var captureFilterGiven = false;
        while (reader.TryNext(out var argument))
        {
            switch (argument)
            {
                case "--output" or "-o":
                    options.Output = reader.Value(argument);
                    break;
                case "--format":
                    options.Format = reader.Value(argument);
                    if (Export.Formats.RecordFormats.Create(options.Format) is null)
                    {
                        throw new UsageException($"--format '{options.Format}' is not a record format; use one of: {string.Join(", ", Export.Formats.RecordFormats.Names)}.");
                    }

                    break;
                case "--ipfix":
                    options.Ipfix = reader.Value(argument);
                    if (options.Ipfix.Contains("://", StringComparison.Ordinal) && Export.Ipfix.IpfixCollectorAddress.TryParse(options.Ipfix, out var ipfixError) is null)
                    {
                        throw new UsageException($"--ipfix: {ipfixError}.");
                    }

                    break;
                case "--networks":
                    options.NetworksFile = reader.Value(argument);
                    break;
                case "--config":
                    options.ConfigFile = reader.Value(argument);
                    break;
                case "--vxlan-port":
                    options.VxlanPorts.Add((ushort)reader.Int(argument, 1, 65535));
                    break;
                case "--geneve-port":
                    options.GenevePorts.Add((ushort)reader.Int(argument, 1, 65535));
                    break;
                case "--active-timeout":
                    options.ActiveTimeout = reader.Seconds(argument, 1, 86_400);
                    break;
                case "--idle-timeout":
                    options.IdleTimeout = reader.Seconds(argument, 1, 86_400);
                    break;
                case "--tcp-idle-timeout":
                    options.TcpIdleTimeout = reader.Seconds(argument, 1, 86_400);
                    break;
                case "--tcp-closing-timeout":
                    options.TcpClosingTimeout = reader.Seconds(argument, 0, 3_600);
                    break;
                case "--max-flows":
                    options.MaxFlows = reader.Int(argument, 16, 100_000_000);
                    break;
                case "--workers":
                    options.Workers = reader.Int(argument, 1, 256);
                    break;
                case "--export-threads":
                    options.ExportThreads = reader.Int(argument, 1, 16);
                    break;
                case "--dedup":
                    options.Dedup.Enabled = true;
                    break;
                case "--dedup-window-us":
                    options.Dedup.WindowMicroseconds = reader.Int(argument, 1, Engine.DedupOptions.MaxWindowMicroseconds);
                    break;
                case "--vni-group":
                    options.Dedup.VniGroups.Add(ParseVniGroup(reader.Value(argument)));
                    break;
                case "--capture-filter":
                    var filterText = reader.Value(argument);
                    options.CaptureFilter = Engine.PacketCapture.CaptureFilterParser.TryParse(filterText, out var filterError)
                        ?? throw new UsageException($"--capture-filter: {filterError}");
                    captureFilterGiven = true;
                    break;
                case "--capture-output":
                    options.CaptureOutput = reader.Value(argument);
                    break;
                case "--capture-snaplen":
                    options.CaptureSnapLength = reader.Int(argument, 64, 262_144);
                    break;
                case "--capture-outer":
                    options.CaptureOuter = true;
                    break;
                case "--quiet" or "-q":
                    options.Quiet = true;
                    break;
                default:
                    if (argument.StartsWith('-') && argument != "-")
                    {
                        throw new UsageException($"Unknown option '{argument}' for replay; run 'vtap-collector --help' for the options.");
                    }

                    if (options.Input is not null)
                    {
                        throw new UsageException($"replay reads one capture, but both '{options.Input}' and '{argument}' were given.");
                    }

                    options.Input = argument;
                    break;
            }
        }

        if (options.NetworksFile is not null && options.ConfigFile is not null)
        {
            throw new UsageException("replay takes its networks from --networks or from --config, not both.");
        }

        if (options.CaptureOutput is null && (captureFilterGiven || options.CaptureOuter))
        {
            throw new UsageException("--capture-filter and --capture-outer need --capture-output FILE.pcapng to write the packets to.");
        }

        var error = options.ToDecoderOptions().Validate() ?? options.Dedup.Validate();
        if (error is not null)
        {
            throw new UsageException(error);
        }

        return options;
    }

    /// <summary>A comma-separated list of VNIs, as --vni-group takes it.</summary>
    private static List<uint> ParseVniGroup(string text)
    {
        var group = new List<uint>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!uint.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var vni))
            {
                throw new UsageException($"--vni-group takes VNIs separated by commas (such as 4242,4243), not '{text}'.");
            }

            group.Add(vni);
        }

        return group;
    }
}
