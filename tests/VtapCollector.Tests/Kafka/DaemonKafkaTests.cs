using VtapCollector.Kafka.Tests;
using VtapCollector.Tests.Oracle;
using VtapCollector.Tests.Run;

namespace VtapCollector.Tests.Kafka;

/// <summary>
/// The daemon with both the stdout sink and the Kafka sink, against a Kafka cluster reached over TCP
/// (librdkafka's mock cluster speaking the real wire protocol, created in this test process, or a
/// real cluster when <c>KAFKA_BOOTSTRAP_SERVERS</c> is set): a real consumer reads back exactly the
/// records the JSON Lines sink wrote, one for one, each keyed by its flow_id.
/// </summary>
[Collection(DaemonTests.Name)]
public class DaemonKafkaTests(OracleCaptures captures) : IClassFixture<OracleCaptures>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public void Records_consumed_from_kafka_equal_the_json_lines_sink_one_for_one()
    {
        var capture = captures.Vxlan;
        using var cluster = KafkaTestCluster.Create(partitions: 3);
        var topic = cluster.CreateTopic(3);
        var spool = Directory.CreateTempSubdirectory("vtap-spool-").FullName;
        try
        {
            using var daemon = DaemonProcess.Start(RunCommandTests.Config(extraSections:
                $$""", "Kafka": { "Enabled": true, "BootstrapServers": "{{cluster.BootstrapServers}}", "Topic": "{{topic}}", "SpoolDirectory": "{{spool}}" }"""));

            RunCommandTests.SendAndWait(daemon, capture.Path, RunCommandTests.TunnelDatagrams(capture.Path).Datagrams);
            Assert.Equal(0, daemon.Terminate(Wait));

            var written = daemon.Records;
            Assert.True(written.Count >= capture.Oracle.Flows.Count, $"{written.Count} records for {capture.Oracle.Flows.Count} flows");
            var consumed = TopicReader.ReadAll(cluster.BootstrapServers, topic, 3, written.Count, TimeSpan.FromSeconds(60));

            Assert.Equal(written.Order(StringComparer.Ordinal), consumed.Select(m => m.Value.TrimEnd('\n')).Order(StringComparer.Ordinal));
            Assert.All(consumed, m => Assert.Contains($"\"flow_id\":\"{m.Key}\"", m.Value, StringComparison.Ordinal));
            Assert.All(consumed.GroupBy(m => m.Key), flow => Assert.Single(flow.Select(m => m.Partition).Distinct()));
            FlowComparison.AssertSameFlows(capture.Oracle, daemon.ParseRecords(), capture.Name + " (live, stdout next to Kafka)");
        }
        finally
        {
            Directory.Delete(spool, recursive: true);
        }
    }
}
