using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace VtapCollector.Kafka.Tests;

/// <summary>A Kafka cluster a test produces to and reads back from.</summary>
internal interface IKafkaTestCluster : IDisposable
{
    string BootstrapServers { get; }

    bool IsMock { get; }

    /// <summary>Creates a topic of its own for one test.</summary>
    string CreateTopic(int partitions);
}

/// <summary>
/// The cluster for tests that need no fault injection: a real one when <c>KAFKA_BOOTSTRAP_SERVERS</c>
/// is set (topics are created per test, named <c>vtap-test-...</c>), librdkafka's mock cluster otherwise.
/// Fault tests always use the mock cluster, whose brokers they can take down.
/// </summary>
internal static class KafkaTestCluster
{
    public static string? External => Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS") is { Length: > 0 } servers ? servers : null;

    public static IKafkaTestCluster Create(int partitions = 3) =>
        External is { } servers ? new ExternalCluster(servers) : new MockCluster(brokers: Math.Min(partitions, 3));

    private sealed class ExternalCluster(string servers) : IKafkaTestCluster
    {
        public string BootstrapServers => servers;

        public bool IsMock => false;

        public string CreateTopic(int partitions)
        {
            KafkaNativeLibrary.EnsureLoaded();
            var topic = $"vtap-test-{Guid.NewGuid():N}";
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = servers }).Build();
            var replication = (short)Math.Min(3, admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Count);
            admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = replication }])
                .Wait(TimeSpan.FromSeconds(30));
            return topic;
        }

        public void Dispose()
        {
        }
    }
}
