namespace VtapCollector.Service;

/// <summary>Where records go.</summary>
internal sealed class SinksSettings
{
    public StdoutSinkSettings Stdout { get; set; } = new();
    public FileSinkSettings File { get; set; } = new();
    public KafkaSettings Kafka { get; set; } = new();
    public IpfixSettings Ipfix { get; set; } = new();

    /// <summary>One sentence naming the first invalid setting of the <c>Sinks</c> section, or null.</summary>
    public string? Validate() =>
        Export.Formats.RecordFormats.Validate("Sinks:Stdout:Format", Stdout.Format)
        ?? (File.Enabled ? File.ToOptions().Validate() : null)
        ?? (Kafka.Enabled ? Kafka.ToOptions().Validate() : null)
        ?? (Ipfix.Enabled ? Ipfix.ToOptions().Validate() : null);
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

    /// <summary>After the spool's files fail, the least time before they are tried again. Default 00:00:05.</summary>
    public TimeSpan SpoolRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

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
        SpoolRetryInterval = SpoolRetryInterval,
    };
}

/// <summary>IPFIX (RFC 7011) to collectors over UDP or TCP (the library's <c>IpfixSinkOptions</c> documents each in full).</summary>
internal sealed class IpfixSettings
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Collectors, each <c>udp://HOST:PORT</c> or <c>tcp://HOST:PORT</c>. Required when enabled.</summary>
    public List<string> Collectors { get; set; } = [];

    /// <summary>The observation domain id of every message. Default 0.</summary>
    public uint ObservationDomainId { get; set; }

    /// <summary>Over UDP, templates are resent at least this often, in seconds. Default 60.</summary>
    public int TemplateRefreshSeconds { get; set; } = 60;

    /// <summary>Over UDP, templates are resent at least every this many messages. Default 100.</summary>
    public int TemplateRefreshMessages { get; set; } = 100;

    /// <summary>The largest message in bytes. Default 1400.</summary>
    public int MaxMessageBytes { get; set; } = 1400;

    /// <summary>True: RFC 5103 biflow records; false: one record per direction. Default true.</summary>
    public bool Biflow { get; set; } = true;

    /// <summary>Over TCP, messages held while the collector is slow or away. Default 4096.</summary>
    public int TcpBufferMessages { get; set; } = 4096;

    /// <summary>The sink's options; <paramref name="dedup"/>: the records carry the deduplication elements (<c>Dedup:Enabled</c>).</summary>
    public Export.Ipfix.IpfixSinkOptions ToOptions(bool dedup = false) => new()
    {
        Dedup = dedup,
        Collectors = [.. Collectors],
        ObservationDomainId = ObservationDomainId,
        TemplateRefresh = TimeSpan.FromSeconds(Math.Max(0, TemplateRefreshSeconds)),
        TemplateRefreshMessages = TemplateRefreshMessages,
        MaxMessageBytes = MaxMessageBytes,
        Biflow = Biflow,
        TcpBufferMessages = TcpBufferMessages,
    };
}
