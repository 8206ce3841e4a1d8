using System.Globalization;
using Confluent.Kafka;

namespace VtapCollector.Kafka;

/// <summary>
/// The sentences the sink reports, each under its stable cause and rate-limited per cause
/// (<see cref="ReportLimiter"/>). Thread-safe: the exporter, the log pump and librdkafka's threads report.
/// </summary>
internal sealed class KafkaReporter(KafkaSinkOptions options, Action<KafkaSinkReport>? sink, TimeProvider time)
{
    private readonly ReportLimiter _limiter = new(sink, options.ReportInterval, time);

    /// <summary>Reports held back by the rate limit, over all causes.</summary>
    public long Suppressed => _limiter.Suppressed;

    public void Started(string version, long held, long bytes) =>
        _limiter.Report(KafkaReportSeverity.Information, "started", string.Create(CultureInfo.InvariantCulture,
            $"Kafka sink producing to topic {options.Topic} at {options.BootstrapServers} (librdkafka {version}) through its write-ahead log {options.SpoolDirectory}, which holds {held} records ({bytes} bytes){(held > 0 ? ", replayed first" : string.Empty)}."));

    public void Recovered(long truncatedSegments, long truncatedBytes) =>
        _limiter.Report(KafkaReportSeverity.Error, "recovery-truncated", string.Create(CultureInfo.InvariantCulture,
            $"Kafka spool {options.SpoolDirectory}: {truncatedSegments} segments ended in a torn or damaged record and were cut ({truncatedBytes} bytes); the records there are lost (a write cut short by a crash, a power loss or a damaged disk)."));

    public void LineTooLong(int length, int max) =>
        _limiter.Report(KafkaReportSeverity.Error, "line-too-long", string.Create(CultureInfo.InvariantCulture,
            $"Kafka sink refused a record of {length} bytes (at most {max})."));

    public void SpoolFull(long bytes, long dropped) =>
        _limiter.Report(KafkaReportSeverity.Error, "spool-full", string.Create(CultureInfo.InvariantCulture,
            $"Kafka spool full ({bytes} of {options.SpoolMaxBytes} bytes in {options.SpoolDirectory}): dropping the newest records; {dropped} dropped so far."));

    public void SpoolIo(string cause, string message) =>
        _limiter.Report(cause is "spool-truncated" ? KafkaReportSeverity.Warning : KafkaReportSeverity.Error, cause, message);

    public void Spooling() =>
        _limiter.Report(KafkaReportSeverity.Warning, "spooling", string.Create(CultureInfo.InvariantCulture,
            $"Kafka sink spooling to {options.SpoolDirectory}: librdkafka's queue is full ({options.QueueMaxRecords} records unacknowledged; brokers unreachable or slow). Records wait in the log and are sent in order when the brokers take them."));

    public void Replayed(long replayed) =>
        _limiter.Report(KafkaReportSeverity.Information, "replayed", string.Create(CultureInfo.InvariantCulture,
            $"Kafka spool replayed ({replayed} records read from the log so far); the producer keeps up again."));

    public void Rejected(Error error) =>
        _limiter.Report(KafkaReportSeverity.Error, "broker-rejected:" + error.Code,
            $"Kafka rejected records for topic {options.Topic}: {error.Reason} ({error.Code}); they are dropped, not retried.");

    public void DeliveryRetried(Error error) =>
        _limiter.Report(KafkaReportSeverity.Warning, "delivery-retried:" + error.Code, $"Kafka delivery failed ({error.Reason}); the record is spooled and sent again.");

    public void ProduceFailed(string reason) =>
        _limiter.Report(KafkaReportSeverity.Warning, "produce-failed", $"Kafka producer refused a record ({reason}); it stays in the log and is sent again.");

    public void Fatal(Error error) =>
        _limiter.Report(KafkaReportSeverity.Error, "fatal", $"Kafka producer fatal error: {error.Reason} ({error.Code}); recreating the producer, its unacknowledged records are spooled again.");

    public void BrokersDown(string reason) =>
        _limiter.Report(KafkaReportSeverity.Warning, "brokers-down", string.Create(CultureInfo.InvariantCulture,
            $"No Kafka broker reachable at {options.BootstrapServers} ({reason}); records wait in the spool at {options.SpoolDirectory} (up to {options.QueueMaxRecords} of them also in memory)."));

    public void KafkaError(Error error) =>
        _limiter.Report(KafkaReportSeverity.Warning, "kafka-error:" + error.Code, $"Kafka: {error.Reason} ({error.Code}).");

    public void Librdkafka(string facility, string message) =>
        _limiter.Report(KafkaReportSeverity.Warning, "librdkafka:" + facility, $"librdkafka {facility}: {message}");

    public void ShutdownUnacknowledged(long count) =>
        _limiter.Report(KafkaReportSeverity.Warning, "shutdown-spooled", string.Create(CultureInfo.InvariantCulture,
            $"Kafka sink stopping with {count} records unacknowledged after {options.ShutdownTimeout.TotalSeconds} s: they stay in the spool and are sent after a restart."));

    public void RespoolFailed(long count) =>
        _limiter.Report(KafkaReportSeverity.Error, "respool-failed", string.Create(CultureInfo.InvariantCulture,
            $"Kafka sink lost {count} records whose delivery failed: the spool at {options.SpoolDirectory} could not take them again."));
}
