namespace VtapCollector.Service;

/// <summary>
/// Every setting of <c>vtap-collector run</c>, one class per configuration section. Property names
/// are the configuration keys (<c>Sources:Udp:Listen</c>, <c>VTAP__SOURCES__UDP__LISTEN__0</c>);
/// the README's configuration table lists the same keys and defaults.
/// </summary>
internal sealed class CollectorSettings
{
    public Engine.Sources.SourcesSettings Sources { get; set; } = new();
    public AllowListSettings AllowList { get; set; } = new();
    public DecoderSettings Decoder { get; set; } = new();
    public FlowSettings Flows { get; set; } = new();
    public Engine.PipelineOptions Pipeline { get; set; } = new();
    public SinksSettings Sinks { get; set; } = new();
    public MetricsSettings Metrics { get; set; } = new();
}

/// <summary>Which mirror sources and VNIs are accepted; everything else is dropped and counted.</summary>
internal sealed class AllowListSettings
{
    /// <summary>Outer (mirror) source addresses accepted, as CIDRs (<c>10.1.0.0/16</c>, <c>fd00::/8</c>, or a bare address). Empty: any source (with a warning at start). Reloadable.</summary>
    public List<string> SourceCidrs { get; set; } = [];

    /// <summary>VNIs accepted. Empty: any VNI. Reloadable.</summary>
    public List<uint> Vnis { get; set; } = [];
}

/// <summary>How tunnels are recognised.</summary>
internal sealed class DecoderSettings
{
    /// <summary>UDP ports decapsulated as VXLAN. Default 4789 and 8472.</summary>
    public List<ushort> VxlanPorts { get; set; } = [];

    /// <summary>UDP ports decapsulated as Geneve. Default 6081.</summary>
    public List<ushort> GenevePorts { get; set; } = [];
}

/// <summary>Flow aggregation.</summary>
internal sealed class FlowSettings
{
    /// <summary>Flows held at once over all workers (memory is reserved at start, about 190 bytes a flow). Default 1000000.</summary>
    public int Capacity { get; set; } = 1_000_000;

    /// <summary>Seconds between update records of a long flow. Default 60.</summary>
    public int ActiveTimeoutSeconds { get; set; } = 60;

    /// <summary>Seconds after which an idle UDP, ICMP or other flow ends. Default 60.</summary>
    public int IdleTimeoutSeconds { get; set; } = 60;

    /// <summary>Seconds after which an idle TCP flow ends. Default 300.</summary>
    public int TcpIdleTimeoutSeconds { get; set; } = 300;

    /// <summary>Seconds a TCP flow lingers after FIN or RST so the last ACKs count. Default 5.</summary>
    public int TcpClosingTimeoutSeconds { get; set; } = 5;
}

/// <summary>Where records go.</summary>
internal sealed class SinksSettings
{
    public StdoutSinkSettings Stdout { get; set; } = new();
    public FileSinkSettings File { get; set; } = new();
    public KafkaSettings Kafka { get; set; } = new();
}

/// <summary>Records on standard output, one per line.</summary>
internal sealed class StdoutSinkSettings
{
    /// <summary>Default false; when no sink at all is enabled, records go to standard output all the same.</summary>
    public bool Enabled { get; set; }

    /// <summary>The record format. Default vtap.</summary>
    public string Format { get; set; } = Export.Formats.RecordFormats.Default;
}

/// <summary>JSON Lines in rotating files.</summary>
internal sealed class FileSinkSettings
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The record format. Default vtap.</summary>
    public string Format { get; set; } = Export.Formats.RecordFormats.Default;

    /// <summary>The active file. Default /var/lib/vtap-collector/flows.jsonl.</summary>
    public string Path { get; set; } = "/var/lib/vtap-collector/flows.jsonl";

    /// <summary>Rotate before the file would exceed this size. Default 104857600 (100 MiB).</summary>
    public long MaxFileBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Rotate at least this often, in seconds; 0: by size only. Default 3600.</summary>
    public int RotateIntervalSeconds { get; set; } = 3600;

    /// <summary>Rotated files plus the active one are kept under this total; the oldest go first. Default 1073741824 (1 GiB).</summary>
    public long MaxTotalBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>The sink's options.</summary>
    public Export.Sinks.RotatingFileSinkOptions ToOptions() => new()
    {
        Format = Format,
        Path = Path,
        MaxFileBytes = MaxFileBytes,
        MaxTotalBytes = MaxTotalBytes,
        RotateInterval = TimeSpan.FromSeconds(Math.Max(0, RotateIntervalSeconds)),
    };
}

/// <summary>The Kafka sink and its disk spool (the library's <c>KafkaSinkOptions</c> documents each in full).</summary>
internal sealed class KafkaSettings
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Brokers to bootstrap from, <c>host:port[,host:port...]</c>. Required when enabled.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>Default vtap-flows.</summary>
    public string Topic { get; set; } = "vtap-flows";

    /// <summary>The record format of the messages. Default vtap.</summary>
    public string Format { get; set; } = Export.Formats.RecordFormats.Default;

    /// <summary>Any librdkafka producer property, passed through (<c>Sinks:Kafka:Producer:security.protocol</c>, ...); they override the safe defaults.</summary>
    public Dictionary<string, string> Producer { get; set; } = [];

    /// <summary>Records held in memory for the brokers before records go to the spool. Default 100000.</summary>
    public int QueueMaxRecords { get; set; } = 100_000;

    /// <summary>Default /var/lib/vtap-collector/kafka-spool.</summary>
    public string SpoolDirectory { get; set; } = "/var/lib/vtap-collector/kafka-spool";

    /// <summary>Default 1073741824 (1 GiB).</summary>
    public long SpoolMaxBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Default 67108864 (64 MiB).</summary>
    public long SpoolSegmentBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Never, EverySegment or EverySecond. Default EverySecond.</summary>
    public Kafka.SpoolFsyncPolicy SpoolFsync { get; set; } = Kafka.SpoolFsyncPolicy.EverySecond;

    /// <summary>DropNewest or DropOldest when the spool is full. Default DropNewest.</summary>
    public Kafka.SpoolOverflowPolicy SpoolOverflow { get; set; } = Kafka.SpoolOverflowPolicy.DropNewest;

    /// <summary><c>/readyz</c> fails while the spool holds more than this. Default 536870912 (512 MiB).</summary>
    public long ReadyWatermarkBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>The sink's options.</summary>
    public Kafka.KafkaSinkOptions ToOptions() => new()
    {
        BootstrapServers = BootstrapServers,
        Topic = Topic,
        Format = Format,
        Producer = new Dictionary<string, string>(Producer, StringComparer.Ordinal),
        QueueMaxRecords = QueueMaxRecords,
        SpoolDirectory = SpoolDirectory,
        SpoolMaxBytes = SpoolMaxBytes,
        SpoolSegmentBytes = SpoolSegmentBytes,
        SpoolFsync = SpoolFsync,
        SpoolOverflow = SpoolOverflow,
        ReadyWatermarkBytes = ReadyWatermarkBytes,
    };
}

/// <summary>The Prometheus endpoint and its label bounds.</summary>
internal sealed class MetricsSettings
{
    /// <summary>Where <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> are served, <c>ADDRESS:PORT</c>. Default 127.0.0.1:9464.</summary>
    public string Listen { get; set; } = "127.0.0.1:9464";

    /// <summary>VNIs counted under their own label; later ones share <c>vni="other"</c>. Default 256.</summary>
    public int MaxVniLabels { get; set; } = 256;

    /// <summary>Mirror sources counted under their own label; later ones share <c>tunnel_source="other"</c>. Default 256.</summary>
    public int MaxTunnelSourceLabels { get; set; } = 256;

    /// <summary>Seconds without a received packet after which <c>/readyz</c> reports not receiving; 0: never. Default 0.</summary>
    public int ReadyMaxIdleSeconds { get; set; }
}
