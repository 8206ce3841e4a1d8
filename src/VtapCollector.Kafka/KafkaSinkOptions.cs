using System.Globalization;
using VtapCollector.Export.Formats;

namespace VtapCollector.Kafka;

/// <summary>When the spool forces its writes to stable storage (fsync). Every policy writes to the operating system at least once a second.</summary>
public enum SpoolFsyncPolicy
{
    /// <summary>
    /// Never: the kernel writes the pages back when it chooses (typically within 30 s). A crash of the
    /// process loses at most the last second of spooled records; a power loss can lose more.
    /// </summary>
    Never = 0,

    /// <summary>
    /// When a segment is full and closed, and at shutdown: a power loss can lose the records of the
    /// segment being written (up to <see cref="KafkaSinkOptions.SpoolSegmentBytes"/>), never older ones.
    /// One fsync per segment, so the cheapest policy that bounds the loss.
    /// </summary>
    EverySegment = 1,

    /// <summary>
    /// About once a second (and when a segment closes, and at shutdown): a power loss loses at most
    /// about the last second of spooled records, for at most one fsync per second while spooling.
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
/// The Kafka sink and its disk spool, bound from the <c>Kafka</c> configuration section;
/// <see cref="Validate"/> names those configuration keys.
/// </summary>
/// <remarks>
/// Transport security and authentication are librdkafka properties under <c>Kafka:Producer</c>, passed
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
        ["bootstrap.servers"] = "Kafka:BootstrapServers",
        ["queue.buffering.max.messages"] = "Kafka:QueueMaxRecords",
        ["dotnet.producer.enable.delivery.reports"] = "nothing (delivery reports are how the sink knows a record arrived)",
        ["dotnet.producer.delivery.report.fields"] = "nothing (the sink needs the key and value back to spool a failed record)",
        ["dotnet.producer.enable.background.poll"] = "nothing (the sink relies on the background poll thread)",
    };

    /// <summary>The brokers to bootstrap from, <c>host:port[,host:port...]</c>. Required.</summary>
    public string BootstrapServers { get; init; } = string.Empty;

    /// <summary>The record format of the messages (<see cref="RecordFormats.Names"/>). Default <c>vtap</c>.</summary>
    public string Format { get; init; } = RecordFormats.Default;

    /// <summary>The topic records are produced to. Default <c>vtap-flows</c>.</summary>
    public string Topic { get; init; } = "vtap-flows";

    /// <summary>
    /// librdkafka producer properties (<c>Kafka:Producer:&lt;property&gt;</c>), applied over
    /// <see cref="ProducerDefaults"/>: TLS, SASL, compression, linger and any other. Unknown properties
    /// fail at start with librdkafka's message. Empty by default.
    /// </summary>
    public IDictionary<string, string> Producer { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Records waiting in memory for the brokers before records go to the spool (librdkafka's <c>queue.buffering.max.messages</c>). Default 100 000.</summary>
    public int QueueMaxRecords { get; init; } = 100_000;

    /// <summary>The spool's directory, created if missing; it should hold nothing else. Default /var/lib/vtap-collector/kafka-spool.</summary>
    public string SpoolDirectory { get; init; } = "/var/lib/vtap-collector/kafka-spool";

    /// <summary>The most bytes the spool's segments may take; beyond it <see cref="SpoolOverflow"/> applies. Default 1073741824 (1 GiB).</summary>
    public long SpoolMaxBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>The size at which a spool segment is closed and the next one begun; a segment is deleted once all its records are delivered. Default 67108864 (64 MiB).</summary>
    public long SpoolSegmentBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>When spooled records are forced to stable storage. Default <see cref="SpoolFsyncPolicy.EverySecond"/>.</summary>
    public SpoolFsyncPolicy SpoolFsync { get; init; } = SpoolFsyncPolicy.EverySecond;

    /// <summary>Which records go when the spool is full. Default <see cref="SpoolOverflowPolicy.DropNewest"/>.</summary>
    public SpoolOverflowPolicy SpoolOverflow { get; init; } = SpoolOverflowPolicy.DropNewest;

    /// <summary>While the spool holds more than this many bytes the sink reports itself unhealthy (<c>/readyz</c> unready). Default 536870912 (512 MiB).</summary>
    public long ReadyWatermarkBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>At shutdown, how long to wait for queued records to be delivered before the rest go to the spool. Default 5 seconds.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A repeated problem of one cause (a broker's rejection, an unreachable cluster, a full spool) is reported at most once per this interval, with a count of the repeats. Default 60 seconds.</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Returns one sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            return "Kafka:BootstrapServers must name at least one broker as host:port (it is empty).";
        }

        if (RecordFormats.Validate("Kafka:Format", Format) is { } formatError)
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
                return "Kafka:Producer has a property with an empty name.";
            }

            if (ManagedProperties.TryGetValue(name, out var instead))
            {
                return $"Kafka:Producer:{name} is set by the sink; use {instead} instead.";
            }

            if (value is null)
            {
                return $"Kafka:Producer:{name} has no value.";
            }
        }

        if (QueueMaxRecords < 1)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Kafka:QueueMaxRecords ({QueueMaxRecords}) must be at least 1.");
        }

        if (string.IsNullOrWhiteSpace(SpoolDirectory))
        {
            return "Kafka:SpoolDirectory must name a directory (it is empty).";
        }

        if (SpoolDirectory.Contains('\0', StringComparison.Ordinal))
        {
            return "Kafka:SpoolDirectory contains a NUL character.";
        }

        if (SpoolSegmentBytes < MinSegmentBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Kafka:SpoolSegmentBytes ({SpoolSegmentBytes}) must be at least {MinSegmentBytes}.");
        }

        if (SpoolMaxBytes < 2 * SpoolSegmentBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Kafka:SpoolMaxBytes ({SpoolMaxBytes}) must be at least twice Kafka:SpoolSegmentBytes ({SpoolSegmentBytes}), so that a full spool always has a closed segment to drop or replay.");
        }

        if (!Enum.IsDefined(SpoolFsync))
        {
            return $"Kafka:SpoolFsync ({SpoolFsync}) must be Never, EverySegment or EverySecond.";
        }

        if (!Enum.IsDefined(SpoolOverflow))
        {
            return $"Kafka:SpoolOverflow ({SpoolOverflow}) must be DropNewest or DropOldest.";
        }

        if (ReadyWatermarkBytes <= 0 || ReadyWatermarkBytes > SpoolMaxBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Kafka:ReadyWatermarkBytes ({ReadyWatermarkBytes}) must be positive and at most Kafka:SpoolMaxBytes ({SpoolMaxBytes}).");
        }

        if (ShutdownTimeout < TimeSpan.Zero)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Kafka:ShutdownTimeout ({ShutdownTimeout.TotalSeconds} s) must not be negative.");
        }

        if (ReportInterval <= TimeSpan.Zero)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Kafka:ReportInterval ({ReportInterval.TotalSeconds} s) must be positive.");
        }

        return null;
    }

    /// <summary>Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..".</summary>
    private static string? TopicError(string topic)
    {
        if (string.IsNullOrEmpty(topic))
        {
            return "Kafka:Topic must name a topic (it is empty).";
        }

        if (topic.Length > 249 || topic is "." or ".." || topic.AsSpan().ContainsAnyExcept(TopicCharacters))
        {
            return $"Kafka:Topic '{topic}' is not a valid topic name (1 to 249 of the characters a-z A-Z 0-9 . _ -, not '.' or '..').";
        }

        return null;
    }

    private static readonly System.Buffers.SearchValues<char> TopicCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
}
