namespace VtapCollector.Service;

/// <summary>Where records go.</summary>
internal sealed class SinksSettings
{
    public StdoutSinkSettings Stdout { get; set; } = new();
    public FileSinkSettings File { get; set; } = new();
    /// <summary>The Kafka library's own options, bound as they are (each documented there in full).</summary>
    public Kafka.KafkaSinkOptions Kafka { get; set; } = new();
    public IpfixSettings Ipfix { get; set; } = new();

    /// <summary>One sentence naming the first invalid setting of the <c>Sinks</c> section, or null.</summary>
    public string? Validate() =>
        Export.Formats.RecordFormats.Validate("Sinks:Stdout:Format", Stdout.Format)
        ?? (File.Enabled ? File.ToOptions().Validate() : null)
        ?? (Kafka.Enabled ? Kafka.Validate() : null)
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

    /// <summary>The sink's options.</summary>
    public Export.Ipfix.IpfixSinkOptions ToOptions() => new()
    {
        Collectors = [.. Collectors],
        ObservationDomainId = ObservationDomainId,
        TemplateRefresh = TimeSpan.FromSeconds(Math.Max(0, TemplateRefreshSeconds)),
        TemplateRefreshMessages = TemplateRefreshMessages,
        MaxMessageBytes = MaxMessageBytes,
        Biflow = Biflow,
        TcpBufferMessages = TcpBufferMessages,
    };
}
