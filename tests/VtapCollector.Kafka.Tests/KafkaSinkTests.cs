using System.Text.Json;
using VtapCollector.Flows;

namespace VtapCollector.Kafka.Tests;

/// <summary>
/// The sink against a Kafka cluster over TCP: a real producer, a real consumer reading the topic back,
/// and librdkafka's mock cluster (or the cluster named by <c>KAFKA_BOOTSTRAP_SERVERS</c>) in between.
/// </summary>
public sealed class KafkaSinkTests
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void ConsumedRecords_EqualTheJsonLinesSinkOutput_OneForOne_KeyedByFlowInFlowOrder()
    {
        using var cluster = KafkaTestCluster.Create(partitions: 3);
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: 3);
        var records = TestRecords.Make(20_000);
        var reports = new Reports();
        using (var sink = new KafkaSink(Options(cluster.BootstrapServers, topic, spool.Path, statisticsMs: 100), reports.Sink))
        {
            TestRecords.WriteAll(records, sink);
            sink.Flush();
            Assert.True(TestRecords.WaitFor(() => sink.Delivered == records.Length, DeliveryTimeout), $"delivered {sink.Delivered} of {records.Length}");
            Assert.True(TestRecords.WaitFor(() => sink.Statistics.BatchRecords > 0 && sink.BrokerRoundTripMicros > 0, TimeSpan.FromSeconds(5)),
                $"statistics {sink.Statistics}");
            // Every record went through the write-ahead log once, and none waited there for room in librdkafka's queue.
            Assert.Equal(records.Length, sink.Spooled);
            Assert.Equal(0, sink.Respooled);
            Assert.False(sink.IsSpooling);
            Assert.Equal(0, sink.DeliveryFailed);
            Assert.Equal(records.Length, sink.Produced);
            Assert.True(sink.IsHealthy);
        }

        var consumed = TopicReader.ReadAll(cluster.BootstrapServers, topic, 3, records.Length, DeliveryTimeout);
        AssertExactlyOnceInFlowOrder(TestRecords.JsonLines(records), consumed);
        Assert.DoesNotContain(reports.All, r => r.Severity != KafkaReportSeverity.Information);
    }

    [Fact]
    public void CleanShutdownRightAfterABurst_WithTheBrokersUp_DeliversEveryRecordBeforeItEnds()
    {
        // The daemon's stop: every flow's end record arrives in one burst, the exporter flushes, the sink is disposed at once.
        using var cluster = KafkaTestCluster.Create(partitions: 3);
        var topic = cluster.CreateTopic(3);
        using var spool = new TempDirectory();
        var records = TestRecords.Make(20_000);
        long delivered;
        using (var sink = new KafkaSink(Options(cluster.BootstrapServers, topic, spool.Path)))
        {
            TestRecords.WriteAll(records, sink);
            sink.Flush();
            sink.Dispose();
            delivered = sink.Delivered;
        }

        Assert.Equal(records.Length, delivered);
        var consumed = TopicReader.ReadAll(cluster.BootstrapServers, topic, 3, records.Length, DeliveryTimeout);
        AssertExactlyOnceInFlowOrder(TestRecords.JsonLines(records), consumed);
    }

    [Fact]
    public void BrokersDownLongerThanTheMemoryQueueLasts_RecordsSpoolThenAllArriveOnceInOrder()
    {
        using var cluster = new MockCluster(brokers: 3);
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: 3);
        var records = TestRecords.Make(30_000, seed: 2);
        var reports = new Reports();
        using (var sink = new KafkaSink(Options(cluster.BootstrapServers, topic, spool.Path, queue: 1_000, segmentBytes: 256 * 1024), reports.Sink))
        {
            TestRecords.WriteAll(records.AsSpan(0, 10_000), sink);
            Assert.True(TestRecords.WaitFor(() => sink.Delivered == 10_000, DeliveryTimeout), $"delivered {sink.Delivered} before the outage");

            // A steady stream while every broker is away: the queue fills, then the spool takes over.
            cluster.AllDown();
            for (var i = 10_000; i < 20_000; i += 500)
            {
                TestRecords.WriteAll(records.AsSpan(i, 500), sink);
                sink.Flush();
                Thread.Sleep(10);
            }

            Assert.True(sink.IsSpooling);
            Assert.True(sink.Spooled >= 10_000 - 1_000, $"spooled {sink.Spooled}");
            Assert.True(TestRecords.WaitFor(() => spool.Segments().Length > 1, TimeSpan.FromSeconds(5)), "the spool should span segments");

            cluster.AllUp();
            TestRecords.WriteAll(records.AsSpan(20_000), sink);
            Assert.True(TestRecords.WaitFor(() => sink.Delivered == records.Length, DeliveryTimeout), $"delivered {sink.Delivered} of {records.Length}");
            Assert.True(TestRecords.WaitFor(() => !sink.IsSpooling && sink.SpoolRecords == 0, TimeSpan.FromSeconds(5)));
            Assert.Equal(sink.Spooled, sink.Replayed);
            Assert.Equal(0, sink.SpoolDropped);
            Assert.Equal(0, sink.Respooled);
        }

        Assert.Empty(spool.Segments());
        var consumed = TopicReader.ReadAll(cluster.BootstrapServers, topic, 3, records.Length, DeliveryTimeout);
        AssertExactlyOnceInFlowOrder(TestRecords.JsonLines(records), consumed);
        Assert.Single(reports.OfCause("spooling"));
        Assert.NotEmpty(reports.OfCause("replayed"));
    }

    [Fact]
    public void ConfiguredMessageTimeoutExpiringDuringAnOutage_FailedRecordsAreSpooledAgain_AndAllArriveAtLeastOnce()
    {
        using var cluster = new MockCluster(brokers: 1);
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: 1);
        var records = TestRecords.Make(5_000, seed: 8);
        var options = Options(cluster.BootstrapServers, topic, spool.Path);
        options.Producer["message.timeout.ms"] = "500";
        var reports = new Reports();
        using (var sink = new KafkaSink(options, reports.Sink))
        {
            TestRecords.WriteAll(records.AsSpan(0, 1_000), sink);
            Assert.True(TestRecords.WaitFor(() => sink.Delivered == 1_000, DeliveryTimeout), $"delivered {sink.Delivered} before the outage");

            cluster.AllDown();
            TestRecords.WriteAll(records.AsSpan(1_000, 3_000), sink);
            // Records time out, are spooled again, replayed into the queue, time out again: they cycle until the brokers return.
            Assert.True(TestRecords.WaitFor(() => sink.Respooled >= 3_000, TimeSpan.FromSeconds(10)), $"respooled {sink.Respooled}");

            cluster.AllUp();
            TestRecords.WriteAll(records.AsSpan(4_000), sink);
            Assert.True(TestRecords.WaitFor(() => sink.LogRecords == 0 && sink.SpoolRecords == 0 && !sink.IsSpooling && sink.InFlight == 0, DeliveryTimeout),
                $"delivered {sink.Delivered}, log {sink.LogRecords}, spool {sink.SpoolRecords}, in flight {sink.InFlight}");
            Assert.Equal(0, sink.Lost);
        }

        var consumed = TopicReader.ReadAll(cluster.BootstrapServers, topic, 1, records.Length, DeliveryTimeout);
        var arrived = consumed.Select(c => c.Value + "\n").ToHashSet(StringComparer.Ordinal);
        Assert.All(TestRecords.JsonLines(records), line => Assert.Contains(line, arrived));
        Assert.NotEmpty(reports.OfCause("delivery-retried:Local_MsgTimedOut"));
    }

    [Fact]
    public void RetriableProduceErrorsInjected_AreRetriedByTheIdempotentProducer_WithoutLossOrDuplicates()
    {
        using var cluster = new MockCluster(brokers: 3);
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: 3);
        var records = TestRecords.Make(10_000, seed: 3);

        // NOT_LEADER_OR_FOLLOWER (6), REQUEST_TIMED_OUT (7), NOT_ENOUGH_REPLICAS (19), NOT_ENOUGH_REPLICAS_AFTER_APPEND (20).
        cluster.PushRequestErrors(MockCluster.ProduceApiKey, 6, 7, 19, 20, 7, 6, 19, 20);
        using (var sink = new KafkaSink(Options(cluster.BootstrapServers, topic, spool.Path)))
        {
            TestRecords.WriteAll(records, sink);
            Assert.True(TestRecords.WaitFor(() => sink.Delivered == records.Length, DeliveryTimeout), $"delivered {sink.Delivered} of {records.Length}");
            Assert.Equal(0, sink.DeliveryFailed);
            Assert.Equal(0, sink.Respooled);
        }

        var consumed = TopicReader.ReadAll(cluster.BootstrapServers, topic, 3, records.Length, DeliveryTimeout);
        AssertExactlyOnceInFlowOrder(TestRecords.JsonLines(records), consumed);
    }

    [Fact]
    public void BrokerRejectingRecords_IsReportedOncePerCauseWithTheBrokersReason_CountedAndNotRetried()
    {
        using var cluster = new MockCluster(brokers: 1);
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: 1);
        var records = TestRecords.Make(2_000, seed: 4);
        var reports = new Reports();
        using var sink = new KafkaSink(Options(cluster.BootstrapServers, topic, spool.Path), reports.Sink);

        // TOPIC_AUTHORIZATION_FAILED (29) for the next two produce requests. librdkafka then holds the topic in
        // that error until its metadata is refreshed, and refuses records at once: Write returns false for those.
        cluster.PushRequestErrors(MockCluster.ProduceApiKey, 29, 29);
        var line = new byte[Export.FlowRecordJsonEncoder.MaxRecordLength];
        var written = 0;
        var refused = 0;
        while (written < records.Length && (sink.DeliveryFailed < 2 || sink.Delivered == 0))
        {
            var length = Export.FlowRecordJsonEncoder.Encode(records[written], line);
            refused += sink.Write(records[written++], line.AsSpan(0, length)) ? 0 : 1;
            Assert.True(TestRecords.WaitFor(() => sink.Delivered + sink.DeliveryFailed == written, DeliveryTimeout), $"record {written} not acknowledged");
            Thread.Sleep(20);
        }

        Assert.True(sink.Delivered > 0, "the topic never recovered");
        Assert.True(sink.DeliveryFailed >= 2);
        Assert.Equal(refused, sink.Refused);
        var rejected = Assert.Single(reports.OfCause("broker-rejected:"));
        Assert.Equal(KafkaReportSeverity.Error, rejected.Severity);
        Assert.Equal("broker-rejected:TopicAuthorizationFailed", rejected.Cause);
        Assert.Contains("Broker: Topic authorization failed", rejected.Message, StringComparison.Ordinal);
        Assert.True(sink.ReportsSuppressed >= sink.DeliveryFailed - 1);

        // Each record entered the write-ahead log once; the rejected ones were not written again.
        Assert.Equal(written - refused, sink.Spooled);
        Assert.Equal(0, sink.Respooled);
    }

    [Fact]
    public void RestartWithANonEmptySpool_ReplaysEverySpooledRecordOnce_AndEmptiesTheSpool()
    {
        using var cluster = KafkaTestCluster.Create(partitions: 3);
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: 3);
        var records = TestRecords.Make(5_000, seed: 5);

        // First run: no broker reachable (a closed port), so everything ends in the spool, part of it at shutdown.
        using (var first = new KafkaSink(Options(ClosedPort(), topic, spool.Path, queue: 500, shutdown: TimeSpan.FromMilliseconds(200))))
        {
            TestRecords.WriteAll(records, first);
            Assert.True(TestRecords.WaitFor(() => first.IsSpooling, TimeSpan.FromSeconds(5)), "the queue should fill");
        }

        Assert.NotEmpty(spool.Segments());

        // Second run, brokers reachable: the spool is replayed before anything new.
        using (var second = new KafkaSink(Options(cluster.BootstrapServers, topic, spool.Path)))
        {
            Assert.Equal(records.Length, second.SpoolRecovered);
            Assert.True(TestRecords.WaitFor(() => second.Delivered == records.Length, DeliveryTimeout), $"delivered {second.Delivered} of {records.Length}");
            Assert.True(TestRecords.WaitFor(() => second.SpoolRecords == 0 && !second.IsSpooling, TimeSpan.FromSeconds(5)));
            Assert.Equal(records.Length, second.Replayed);
        }

        Assert.Empty(spool.Segments());
        var consumed = TopicReader.ReadAll(cluster.BootstrapServers, topic, 3, records.Length, DeliveryTimeout);

        // The 500 records in librdkafka's hands at the first shutdown stayed in their place in the log:
        // exactly once, and in flow order, across the restart.
        AssertExactlyOnceInFlowOrder(TestRecords.JsonLines(records), consumed);
    }

    [Fact]
    public void CleanShutdownInTheMiddleOfAReplay_SavesTheCheckpoint_SoTheRestartSendsEachRecordExactlyOnce()
    {
        using var cluster = new MockCluster(brokers: 3);
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: 3);
        var records = TestRecords.Make(20_000, seed: 9);
        var options = Options(cluster.BootstrapServers, topic, spool.Path, queue: 1_000, segmentBytes: 256 * 1024);
        long deliveredFirst;
        using (var first = new KafkaSink(options))
        {
            cluster.AllDown();
            TestRecords.WriteAll(records, first);
            Assert.True(first.Spooled >= records.Length - 1_000, $"spooled {first.Spooled}");

            // Replay begins when the brokers return; the sink stops a few thousand records into it.
            cluster.AllUp();
            Assert.True(TestRecords.WaitFor(() => first.Delivered >= 3_000, DeliveryTimeout), $"delivered {first.Delivered}");
            first.Dispose();
            deliveredFirst = first.Delivered;
            Assert.Equal(0, first.Lost);
        }

        using (var second = new KafkaSink(options))
        {
            Assert.Equal(records.Length - deliveredFirst, second.SpoolRecovered);
            Assert.True(TestRecords.WaitFor(() => second.LogRecords == 0 && second.SpoolRecords == 0 && second.InFlight == 0, DeliveryTimeout), $"spool {second.SpoolRecords}");
        }

        var consumed = TopicReader.ReadAll(cluster.BootstrapServers, topic, 3, records.Length, DeliveryTimeout);
        AssertExactlyOnceInFlowOrder(TestRecords.JsonLines(records), consumed);
    }

    [Fact]
    public void NoBrokerReachableAtStart_SinkStartsAcceptsAndSpools_SaysSo_AndTurnsUnreadyAboveTheWatermark()
    {
        using var spool = new TempDirectory();
        var records = TestRecords.Make(3_000, seed: 6);
        var reports = new Reports();
        var options = Options(ClosedPort(), "vtap-flows", spool.Path, queue: 200, shutdown: TimeSpan.Zero, watermarkBytes: 256 * 1024);
        var started = DateTime.UtcNow;
        using var sink = new KafkaSink(options, reports.Sink);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "the constructor must not wait for brokers");
        Assert.True(sink.IsHealthy);

        TestRecords.WriteAll(records, sink);
        Assert.Equal(records.Length, sink.Spooled);

        // librdkafka takes 200 (its queue's bound) and the rest wait in the log.
        Assert.True(TestRecords.WaitFor(() => sink.IsSpooling && sink.InFlight == 200 && sink.SpoolRecords == records.Length - 200, TimeSpan.FromSeconds(5)),
            $"in flight {sink.InFlight}, spooled {sink.SpoolRecords}");
        Assert.True(sink.SpoolBytes > options.ReadyWatermarkBytes, $"spool {sink.SpoolBytes} bytes");
        Assert.False(sink.IsHealthy);
        Assert.True(TestRecords.WaitFor(() => reports.OfCause("brokers-down").Count > 0, TimeSpan.FromSeconds(10)), "no report of the unreachable brokers");
        Assert.Contains(spool.Path, reports.OfCause("brokers-down")[0].Message, StringComparison.Ordinal);
        Assert.Single(reports.OfCause("spooling"));
    }

    [Fact]
    public void SpoolFullWithDropNewest_RefusesRecordsCountsThemAndReportsLoudlyOnce()
    {
        using var spool = new TempDirectory();
        var records = TestRecords.Make(2_000, seed: 7);
        var reports = new Reports();
        var options = Options(ClosedPort(), "vtap-flows", spool.Path, queue: 100, segmentBytes: 64 * 1024, shutdown: TimeSpan.Zero, maxBytes: 128 * 1024, watermarkBytes: 96 * 1024);
        using var sink = new KafkaSink(options, reports.Sink);
        var line = new byte[Export.FlowRecordJsonEncoder.MaxRecordLength];
        var refused = 0;
        foreach (var record in records)
        {
            var length = Export.FlowRecordJsonEncoder.Encode(record, line);
            refused += sink.Write(record, line.AsSpan(0, length)) ? 0 : 1;
        }

        Assert.True(refused > 0);
        Assert.Equal(refused, sink.SpoolDropped);
        Assert.Equal(refused, sink.Refused);
        Assert.True(sink.SpoolBytes <= options.SpoolMaxBytes);
        var full = Assert.Single(reports.OfCause("spool-full"));
        Assert.Equal(KafkaReportSeverity.Error, full.Severity);
    }

    [Fact]
    public void TornLogTailFoundAtStart_IsCutCountedInTheMetricsAndReportedAsAnError()
    {
        using var spool = new TempDirectory();
        var records = TestRecords.Make(500, seed: 10);
        var options = Options(ClosedPort(), "vtap-flows", spool.Path, shutdown: TimeSpan.Zero);
        using (var first = new KafkaSink(options))
        {
            TestRecords.WriteAll(records, first);
        }

        // A write cut short: the last record lost its last bytes.
        var segment = spool.Segments().Single();
        using (var file = new FileStream(segment, FileMode.Open))
        {
            file.SetLength(file.Length - 7);
        }

        var reports = new Reports();
        using var second = new KafkaSink(options, reports.Sink);
        Assert.Equal(records.Length - 1, second.SpoolRecovered);
        Assert.Equal(1, second.RecoveryTruncatedSegments);
        Assert.True(second.SpoolTruncatedBytes > 0);
        var report = Assert.Single(reports.OfCause("recovery-truncated"));
        Assert.Equal(KafkaReportSeverity.Error, report.Severity);
        Assert.Contains(spool.Path, report.Message, StringComparison.Ordinal);

        var metrics = new Export.Metrics.MetricSet();
        second.CollectMetrics(metrics);
        var text = metrics.Render();
        Assert.Contains("vtap_kafka_recovery_truncated_segments_total 1\n", text, StringComparison.Ordinal);
        Assert.Contains($"vtap_kafka_recovered_records_total {records.Length - 1}\n", text, StringComparison.Ordinal);
        Assert.Contains("vtap_sink_records_lost_total{sink=\"kafka\"} 0\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Getters_HaveNoSideEffects_TheLogPumpRetiresAcknowledgedRecordsOnItsOwn()
    {
        using var cluster = new MockCluster(brokers: 1);
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: 1);
        var records = TestRecords.Make(2_000, seed: 11);
        using var sink = new KafkaSink(Options(cluster.BootstrapServers, topic, spool.Path));
        TestRecords.WriteAll(records, sink);

        // Only Delivered is polled; the log empties and the checkpoint moves without any other getter being read.
        Assert.True(TestRecords.WaitFor(() => sink.Delivered == records.Length, DeliveryTimeout), $"delivered {sink.Delivered}");
        Thread.Sleep(1_500);
        Assert.Equal(records.Length, sink.Checkpointed);
        Assert.Equal(0, sink.InFlight);
        Assert.Equal(0, sink.LogRecords);
    }

    [Fact]
    public void InvalidOptionsOrUnknownProducerProperty_FailAtConstructionNamingTheKey()
    {
        using var spool = new TempDirectory();
        var invalid = Assert.Throws<ArgumentException>(() => new KafkaSink(new KafkaSinkOptions { SpoolDirectory = spool.Path }));
        Assert.Contains("Sinks:Kafka:BootstrapServers", invalid.Message, StringComparison.Ordinal);

        var unknown = Options("127.0.0.1:9", "t", spool.Path);
        unknown.Producer["no.such.property"] = "1";
        var refused = Assert.Throws<ArgumentException>(() => new KafkaSink(unknown));
        Assert.Contains("no.such.property", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FlowIdText_IsTheRecordsFlowIdAsTheEncoderWritesIt()
    {
        var record = TestRecords.Make(1)[0] with { Vni = uint.MaxValue, FlowId = 0x00C0_FFEE_1234_ABCD };
        Span<byte> key = stackalloc byte[KafkaSink.MaxKeyLength];
        var length = Export.Formats.FlowIdText.Format(record, key);
        Assert.Equal("4294967295-00c0ffee1234abcd", System.Text.Encoding.ASCII.GetString(key[..length]));
        var line = TestRecords.JsonLines([record])[0];
        Assert.Equal("4294967295-00c0ffee1234abcd", FlowId(line));
    }

    internal static KafkaSinkOptions Options(
        string bootstrap, string topic, string spool, int queue = 100_000, long segmentBytes = 1024 * 1024,
        TimeSpan? shutdown = null, int statisticsMs = 1000, long? maxBytes = null, long? watermarkBytes = null) => new()
        {
            BootstrapServers = bootstrap,
            Topic = topic,
            SpoolDirectory = spool,
            QueueMaxRecords = queue,
            SpoolSegmentBytes = segmentBytes,
            SpoolMaxBytes = maxBytes ?? 64 * segmentBytes,
            ReadyWatermarkBytes = watermarkBytes ?? 32 * segmentBytes,
            ShutdownTimeout = shutdown ?? TimeSpan.FromSeconds(5),
            Producer = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                // Tests take brokers away for seconds: reconnect within half a second of their return, not ten.
                ["reconnect.backoff.max.ms"] = "500",
                ["statistics.interval.ms"] = statisticsMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        };

    /// <summary>A loopback port with nothing listening: connection refused, at once.</summary>
    internal static string ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return "127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every expected line arrived exactly once (as a message value plus the newline), keyed by its flow id.</summary>
    private static void AssertExactlyOnce(List<string> expected, List<Consumed> consumed)
    {
        Assert.Equal(expected.Count, consumed.Count);
        var actual = consumed.Select(c => c.Value + "\n").Order(StringComparer.Ordinal).ToList();
        var wanted = expected.Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < wanted.Count; i++)
        {
            Assert.Equal(wanted[i], actual[i]);
        }

        foreach (var message in consumed)
        {
            Assert.Equal(FlowId(message.Value), message.Key);
        }
    }

    /// <summary>Exactly once, and each flow's records in one partition in the order they were written.</summary>
    private static void AssertExactlyOnceInFlowOrder(List<string> expected, List<Consumed> consumed)
    {
        AssertExactlyOnce(expected, consumed);
        var written = expected.GroupBy(FlowId).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var flow in consumed.GroupBy(c => c.Key))
        {
            Assert.Single(flow.Select(c => c.Partition).Distinct());
            var arrived = flow.OrderBy(c => c.Offset).Select(c => c.Value + "\n").ToList();
            Assert.Equal(written[flow.Key], arrived);
        }
    }

    private static string FlowId(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.GetProperty("flow_id").GetString()!;
    }
}
