namespace VtapCollector.Kafka.Tests;

/// <summary>
/// Authentication is configured only through the <c>Kafka:Producer</c> pass-through. librdkafka's mock
/// cluster has no SASL listener, so what can be proved here is that the settings reach the wire and
/// that a failure to authenticate is reported with librdkafka's reason while records are kept.
/// </summary>
public sealed class SaslTests
{
    [Theory]
    [InlineData("PLAIN")]
    [InlineData("SCRAM-SHA-512")]
    [InlineData("OAUTHBEARER")]
    public void SaslFromProducerPassThrough_IsUsedOnTheWire_AndAnAuthenticationFailureIsReportedWithItsReason(string mechanism)
    {
        using var cluster = new MockCluster(brokers: 1);
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: 1);
        var options = KafkaSinkTests.Options(cluster.BootstrapServers, topic, spool.Path, shutdown: TimeSpan.FromMilliseconds(100));
        options.Producer["security.protocol"] = "SASL_PLAINTEXT";
        options.Producer["sasl.mechanism"] = mechanism;
        if (mechanism == "OAUTHBEARER")
        {
            // librdkafka's built-in unsecured JWT stands in for sasl.oauthbearer.method=oidc and its token endpoint.
            options.Producer["enable.sasl.oauthbearer.unsecure.jwt"] = "true";
            options.Producer["sasl.oauthbearer.config"] = "principal=vtap";
        }
        else
        {
            options.Producer["sasl.username"] = "vtap";
            options.Producer["sasl.password"] = "secret";
        }

        var reports = new Reports();
        using var sink = new KafkaSink(options, reports.Sink);
        TestRecords.WriteAll(TestRecords.Make(100), sink);
        Assert.True(TestRecords.WaitFor(() => reports.OfCause("kafka-error:Local_Authentication").Count > 0, TimeSpan.FromSeconds(10)), string.Join(" | ", reports.All));
        var failure = reports.OfCause("kafka-error:Local_Authentication")[0];
        Assert.Contains($"required by mechanism {mechanism}", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, sink.Delivered);

        // Kept: in the write-ahead log, and handed to librdkafka, which holds them until it can authenticate.
        Assert.True(TestRecords.WaitFor(() => sink.InFlight == 100, TimeSpan.FromSeconds(5)), $"in flight {sink.InFlight}");
        Assert.Equal(100, sink.Spooled);
        Assert.True(sink.IsHealthy);
    }
}
