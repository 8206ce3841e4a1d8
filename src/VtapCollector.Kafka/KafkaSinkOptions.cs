using System.Globalization;
using VtapCollector.Export.Formats;
using VtapCollector.Export.Storage;

namespace VtapCollector.Kafka;

/// <summary>
/// When the write-ahead log (the spool) forces its writes to stable storage (fsync). Whatever the
/// policy, every record is written to the operating system (<c>write</c>) by the exporter's next flush,
/// about once a second, so a crash of the process loses at most the records accepted since that
/// flush; the policy decides what a power loss or a kernel crash loses.
/// </summary>
public enum SpoolFsyncPolicy
{
    /// <summary>
    /// Never: the kernel writes the pages back when it chooses (typically within 30 s), and a power
    /// loss can lose that much. Costs no disk flush.
    /// </summary>
    Never = 0,

    /// <summary>
    /// When a segment is full and closed, and at shutdown: a power loss can lose the records of the
    /// segment being written (up to <see cref="KafkaSinkOptions.SpoolSegmentBytes"/>), never older ones.
    /// </summary>
    EverySegment = 1,

    /// <summary>
    /// About once a second (and when a segment closes, and at shutdown): a power loss loses at most
    /// about the last second of records, for one fsync per second.
    /// </summary>
    EverySecond = 2,
}

/// <summary>Which records are dropped when the spool has reached <see cref="KafkaSinkOptions.SpoolMaxBytes"/>.</summary>
public enum SpoolOverflowPolicy
{
    /// <summary>
    /// The new record is refused (<see cref="KafkaSink.Write"/> returns false, so the exporter counts it as
    /// dropped): what is spooled is replayed whole, without gaps, and the newest records are lost.
    /// </summary>
    DropNewest = 0,

    /// <summary>
    /// The oldest segment is deleted to make room (a whole segment of the oldest records at a time, the
    /// records still unsent in it counted in <see cref="KafkaSink.SpoolDropped"/>): the freshest data survives.
    /// </summary>
    DropOldest = 1,
}

/// <summary>
/// The Kafka sink and its write-ahead log (the spool), bound from the <c>Sinks:Kafka</c> configuration
/// section; <see cref="Validate"/> names those configuration keys.
/// </summary>
/// <remarks>
/// Transport security and authentication are librdkafka properties under <c>Sinks:Kafka:Producer</c>, passed
/// through unchanged, for example TLS: <c>security.protocol=SSL</c>, <c>ssl.ca.location</c>,
/// <c>ssl.certificate.location</c>, <c>ssl.key.location</c>; SASL: <c>security.protocol=SASL_SSL</c> with
/// <c>sasl.mechanism=PLAIN</c>, <c>SCRAM-SHA-256</c> or <c>SCRAM-SHA-512</c> and <c>sasl.username</c>,
/// <c>sasl.password</c>; or <c>sasl.mechanism=OAUTHBEARER</c> with <c>sasl.oauthbearer.method=oidc</c>,
/// <c>sasl.oauthbearer.client.id</c>, <c>sasl.oauthbearer.client.secret</c>,
/// <c>sasl.oauthbearer.token.endpoint.url</c> (librdkafka fetches and refreshes the token itself; needs the
/// bundled librdkafka, see <see cref="KafkaNativeLibrary"/>). With the bundled librdkafka, whose OpenSSL is
/// built in, name the CA bundle for TLS: <c>ssl.ca.location=/etc/ssl/certs/ca-certificates.crt</c> (or <c>probe</c>).
/// </remarks>
public sealed class KafkaSinkOptions
{
    /// <summary>The configuration section the options are bound from, and the prefix of their keys in messages.</summary>
    public const string Section = "Sinks:Kafka";

    /// <summary>The smallest <see cref="SpoolSegmentBytes"/>: 64 KiB.</summary>
    public const long MinSegmentBytes = 64 * 1024;

    /// <summary>The defaults the sink gives librdkafka before applying <see cref="Producer"/>, which may override any of them.</summary>
    public static IReadOnlyDictionary<string, string> ProducerDefaults { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // Durability: the leader waits for every in-sync replica, and the idempotent producer keeps
        // retries from duplicating or reordering records within a partition.
        ["acks"] = "all",
        ["enable.idempotence"] = "true",
        // lz4 costs the least CPU per record of the codecs (measured against zstd on this project's records).
        ["compression.type"] = "lz4",
        // Throughput: up to 20 ms of records per partition go in one batch of up to 10 000 records or 1 MB.
        ["linger.ms"] = "20",
        ["batch.num.messages"] = "10000",
        ["batch.size"] = "1000000",
        // A record is never failed for taking too long: while brokers are away it waits in memory, and
        // what does not fit goes to the spool, so order is kept. 0 means no limit.
        ["message.timeout.ms"] = "0",
        ["statistics.interval.ms"] = "5000",
        ["socket.keepalive.enable"] = "true",
        ["client.id"] = "vtap-collector",
    };

    /// <summary>Properties the sink sets itself; <see cref="Producer"/> may not name them.</summary>
    internal static IReadOnlyDictionary<string, string> ManagedProperties { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["bootstrap.servers"] = "Sinks:Kafka:BootstrapServers",
        ["queue.buffering.max.messages"] = "Sinks:Kafka:QueueMaxRecords",
        ["dotnet.producer.enable.delivery.reports"] = "nothing (delivery reports are how the sink knows a record arrived)",
        ["dotnet.producer.delivery.report.fields"] = "nothing (the sink needs the key and value back to spool a failed record)",
        ["dotnet.producer.enable.background.poll"] = "nothing (the sink relies on the background poll thread)",
    };

    /// <summary>Whether the collector creates this sink (<c>Sinks:Kafka:Enabled</c>); the sink itself does not read it. Default false.</summary>
    public bool Enabled { get; init; }

    /// <summary>The brokers to bootstrap from, <c>host:port[,host:port...]</c>. Required.</summary>
    public string BootstrapServers { get; init; } = string.Empty;

    /// <summary>The record format of the messages (<see cref="RecordFormats.Names"/>). Default <c>vtap</c>.</summary>
    public string Format { get; init; } = RecordFormats.Default;

    /// <summary>The topic records are produced to. Default <c>vtap-flows</c>.</summary>
    public string Topic { get; init; } = "vtap-flows";

    /// <summary>
    /// librdkafka producer properties (<c>Sinks:Kafka:Producer:&lt;property&gt;</c>), applied over
    /// <see cref="ProducerDefaults"/>: TLS, SASL, compression, linger and any other. Unknown properties
    /// fail at start with librdkafka's message. Empty by default.
    /// </summary>
    public IDictionary<string, string> Producer { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Records handed to librdkafka and not yet acknowledged, at most (librdkafka's <c>queue.buffering.max.messages</c>);
    /// the rest wait in the spool. Bounds memory, not durability: every record is in the spool first. Default 100 000.
    /// </summary>
    public int QueueMaxRecords { get; init; } = 100_000;

    /// <summary>The directory of the write-ahead log (the spool) every record goes through, created if missing; it should hold nothing else. Default /var/lib/vtap-collector/kafka-spool.</summary>
    public string SpoolDirectory { get; init; } = "/var/lib/vtap-collector/kafka-spool";

    /// <summary>The most bytes the spool's segments may take; beyond it <see cref="SpoolOverflow"/> applies. Default 1073741824 (1 GiB).</summary>
    public long SpoolMaxBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>The size at which a spool segment is closed and the next one begun; a segment is deleted once all its records are delivered. Default 67108864 (64 MiB).</summary>
    public long SpoolSegmentBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>When spooled records are forced to stable storage. Default <see cref="SpoolFsyncPolicy.EverySecond"/>.</summary>
    public SpoolFsyncPolicy SpoolFsync { get; init; } = SpoolFsyncPolicy.EverySecond;

    /// <summary>Which records go when the spool is full. Default <see cref="SpoolOverflowPolicy.DropNewest"/>.</summary>
    public SpoolOverflowPolicy SpoolOverflow { get; init; } = SpoolOverflowPolicy.DropNewest;

    /// <summary>While records waiting in the spool for a full producer queue take more than this many bytes the sink reports itself unhealthy (<c>/readyz</c> unready). Default 536870912 (512 MiB).</summary>
    public long ReadyWatermarkBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>At shutdown, how long to wait for records in librdkafka's hands to be acknowledged; the others stay in the spool for the next start. Default 5 seconds.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A repeated problem of one cause (a broker's rejection, an unreachable cluster, a full spool) is reported at most once per this interval, with a count of the repeats. Default 60 seconds.</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>After the spool's files fail (disk full, permissions), the least time before they are tried again; records are refused meanwhile. Default 5 seconds.</summary>
    public TimeSpan SpoolRetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Returns one sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            return "Sinks:Kafka:BootstrapServers must name at least one broker as host:port (it is empty).";
        }

        if (RecordFormats.Validate("Sinks:Kafka:Format", Format) is { } formatError)
        {
            return formatError;
        }

        if (TopicError(Topic) is { } topicError)
        {
            return topicError;
        }

        foreach (var (name, value) in Producer)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                return "Sinks:Kafka:Producer has a property with an empty name.";
            }

            if (ManagedProperties.TryGetValue(name, out var instead))
            {
                return $"Sinks:Kafka:Producer:{name} is set by the sink; use {instead} instead.";
            }

            if (value is null)
            {
                return $"Sinks:Kafka:Producer:{name} has no value.";
            }
        }

        if (QueueMaxRecords < 1)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:Kafka:QueueMaxRecords ({QueueMaxRecords}) must be at least 1.");
        }

        if (string.IsNullOrWhiteSpace(SpoolDirectory))
        {
            return "Sinks:Kafka:SpoolDirectory must name a directory (it is empty).";
        }

        if (SpoolDirectory.Contains('\0', StringComparison.Ordinal))
        {
            return "Sinks:Kafka:SpoolDirectory contains a NUL character.";
        }

        if (SpoolSegmentBytes < MinSegmentBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:Kafka:SpoolSegmentBytes ({SpoolSegmentBytes}) must be at least {MinSegmentBytes}.");
        }

        if (SpoolMaxBytes < 2 * SpoolSegmentBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:Kafka:SpoolMaxBytes ({SpoolMaxBytes}) must be at least twice Sinks:Kafka:SpoolSegmentBytes ({SpoolSegmentBytes}), so that a full spool always has a closed segment to drop or replay.");
        }

        if (!Enum.IsDefined(SpoolFsync))
        {
            return $"Sinks:Kafka:SpoolFsync ({SpoolFsync}) must be Never, EverySegment or EverySecond.";
        }

        if (!Enum.IsDefined(SpoolOverflow))
        {
            return $"Sinks:Kafka:SpoolOverflow ({SpoolOverflow}) must be DropNewest or DropOldest.";
        }

        if (ReadyWatermarkBytes <= 0 || ReadyWatermarkBytes > SpoolMaxBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:Kafka:ReadyWatermarkBytes ({ReadyWatermarkBytes}) must be positive and at most Sinks:Kafka:SpoolMaxBytes ({SpoolMaxBytes}).");
        }

        if (ShutdownTimeout < TimeSpan.Zero)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:Kafka:ShutdownTimeout ({ShutdownTimeout.TotalSeconds} s) must not be negative.");
        }

        if (SpoolRetryInterval <= TimeSpan.Zero)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:Kafka:SpoolRetryInterval ({SpoolRetryInterval.TotalSeconds} s) must be positive.");
        }

        if (ReportInterval <= TimeSpan.Zero)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:Kafka:ReportInterval ({ReportInterval.TotalSeconds} s) must be positive.");
        }

        return null;
    }

    /// <summary>The write-ahead log's settings.</summary>
    internal SegmentLogOptions ToLogOptions() => new(
        SpoolDirectory,
        SpoolMaxBytes,
        SpoolSegmentBytes,
        SpoolFsync switch
        {
            SpoolFsyncPolicy.Never => LogFsyncPolicy.Never,
            SpoolFsyncPolicy.EverySegment => LogFsyncPolicy.EverySegment,
            _ => LogFsyncPolicy.EverySync,
        },
        SpoolOverflow == SpoolOverflowPolicy.DropOldest ? LogOverflowPolicy.DropOldest : LogOverflowPolicy.DropNewest,
        SpoolRetryInterval,
        "Kafka spool");

    /// <summary>Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..".</summary>
    private static string? TopicError(string topic)
    {
        if (string.IsNullOrEmpty(topic))
        {
            return "Sinks:Kafka:Topic must name a topic (it is empty).";
        }

        if (topic.Length > 249 || topic is "." or ".." || topic.AsSpan().ContainsAnyExcept(TopicCharacters))
        {
            return $"Sinks:Kafka:Topic '{topic}' is not a valid topic name (1 to 249 of the characters a-z A-Z 0-9 . _ -, not '.' or '..').";
        }

        return null;
    }

    private static readonly System.Buffers.SearchValues<char> TopicCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
}
