using VtapCollector.Export.Metrics;
using VtapCollector.Export.Sinks;

namespace VtapCollector.Kafka;

/// <summary>The Kafka sink's metric families: their names, help texts and values, in one place.</summary>
internal static class KafkaMetrics
{
    public static void Collect(KafkaSink sink, MetricSet metrics)
    {
        var statistics = sink.Statistics;
        metrics.Counter(SinkMetrics.BytesWritten, SinkMetrics.BytesWrittenHelp, sink.LogBytesWritten, ("sink", sink.Name));
        metrics.Counter(SinkMetrics.RecordsLost, SinkMetrics.RecordsLostHelp, sink.Lost, ("sink", sink.Name));
        metrics.Counter("vtap_kafka_produced_total", "Records handed to the Kafka producer, read from the write-ahead log.", sink.Produced);
        metrics.Counter("vtap_kafka_delivered_total", "Records the brokers acknowledged.", sink.Delivered);
        metrics.Counter("vtap_kafka_delivery_failed_total", "Records a broker rejected for good (authorisation, record too large): reported with the broker's reason and dropped.", sink.DeliveryFailed);
        metrics.Counter("vtap_kafka_respooled_total", "Records whose delivery failed in a retriable way and were written to the log again.", sink.Respooled);
        metrics.Counter("vtap_kafka_spooled_total", "Records written to the Kafka sink's write-ahead log (every accepted record, and each respooled one again).", sink.Spooled);
        metrics.Counter("vtap_kafka_replayed_total", "Records read from the write-ahead log and handed to the producer.", sink.Replayed);
        metrics.Counter("vtap_kafka_spool_dropped_total", "Records dropped because the spool was full (Sinks:Kafka:SpoolOverflow).", sink.SpoolDropped);
        metrics.Counter("vtap_kafka_refused_total", "Records the Kafka sink could not take (spool full or not writable); also counted in vtap_sink_records_dropped_total.", sink.Refused);
        metrics.Counter("vtap_kafka_lost_total", "Records lost by the Kafka sink after it had accepted them (a failed delivery the log could not take again).", sink.Lost);
        metrics.Counter("vtap_kafka_producer_restarts_total", "Times the Kafka producer was recreated after a fatal error (its unacknowledged records were spooled again).", sink.ProducerRestarts);
        metrics.Counter("vtap_kafka_recovered_records_total", "Records found in the write-ahead log at start, past its checkpoint, and replayed.", sink.SpoolRecovered);
        metrics.Counter("vtap_kafka_recovery_truncated_segments_total", "Log segments found at start with a torn or damaged tail and cut there; the records in the cut part are lost (also logged).", sink.RecoveryTruncatedSegments);
        metrics.Counter("vtap_kafka_recovery_truncated_bytes_total", "Bytes cut from the write-ahead log's segments at start (torn or damaged records).", sink.SpoolTruncatedBytes);
        metrics.Gauge("vtap_kafka_spool_bytes", "Bytes of the records waiting in the spool because the producer's queue is full (brokers unreachable or slow).", sink.SpoolBytes);
        metrics.Gauge("vtap_kafka_spool_records", "Records waiting in the spool because the producer's queue is full.", sink.SpoolRecords);
        metrics.Gauge("vtap_kafka_log_bytes", "Bytes of the write-ahead log's segment files on disk.", sink.LogBytes);
        metrics.Gauge("vtap_kafka_log_records", "Records in the write-ahead log not yet acknowledged (waiting or in flight).", sink.LogRecords);
        metrics.Gauge("vtap_kafka_in_flight", "Records handed to the producer and not yet acknowledged.", sink.InFlight);
        metrics.Gauge("vtap_kafka_brokers_up", "Brokers with an open connection (librdkafka statistics).", statistics.BrokersUp);
        metrics.Gauge("vtap_kafka_broker_rtt_seconds", "Mean request round-trip time of the slowest broker over the last statistics interval.", statistics.BrokerRoundTripMicros / 1e6);
        metrics.Gauge("vtap_kafka_batch_records", "Mean records per batch sent over the last statistics interval.", statistics.BatchRecords);
        metrics.Gauge("vtap_kafka_batch_bytes", "Mean bytes per batch sent over the last statistics interval.", statistics.BatchBytes);
    }
}
