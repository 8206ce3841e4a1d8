using System.Runtime.InteropServices;
using System.Text;

namespace VtapCollector.Kafka.Tests;

/// <summary>
/// librdkafka's mock cluster (rdkafka_mock.h): brokers that speak the real Kafka protocol on
/// 127.0.0.1 TCP ports, hosted by an rd_kafka_t of their own as librdkafka's own tests do, in the
/// same librdkafka the sink uses. Producers and consumers reach it like any cluster; the test
/// controls its faults.
/// </summary>
internal sealed partial class MockCluster : IKafkaTestCluster
{
    /// <summary>Kafka's API key of ProduceRequest.</summary>
    public const short ProduceApiKey = 0;

    private const string Library = "librdkafka";
    private nint _host;
    private nint _cluster;
    private int _topics;

    static MockCluster() => NativeLibrary.SetDllImportResolver(typeof(MockCluster).Assembly, (name, _, _) =>
        name == Library ? KafkaNativeLibrary.EnsureLoaded() : 0);

    public MockCluster(int brokers)
    {
        KafkaNativeLibrary.EnsureLoaded();
        var conf = rd_kafka_conf_new();
        var error = new byte[512];
        // The host client itself talks to no one; its own log lines would only be noise.
        foreach (var (name, value) in new[] { ("log_level", "0"), ("client.id", "mock-cluster-host") })
        {
            if (rd_kafka_conf_set(conf, name, value, error, error.Length) != 0)
            {
                throw new InvalidOperationException(Text(error));
            }
        }

        _host = rd_kafka_new(0, conf, error, error.Length);
        if (_host == 0)
        {
            throw new InvalidOperationException("rd_kafka_new: " + Text(error));
        }

        _cluster = rd_kafka_mock_cluster_new(_host, brokers);
        if (_cluster == 0)
        {
            rd_kafka_destroy(_host);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
        }

        Brokers = brokers;
        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(_cluster))!;
    }

    public string BootstrapServers { get; }

    public int Brokers { get; }

    public bool IsMock => true;

    public string CreateTopic(int partitions)
    {
        var topic = $"flows-{Environment.ProcessId}-{Interlocked.Increment(ref _topics)}";
        Check(rd_kafka_mock_topic_create(_cluster, topic, partitions, Math.Min(Brokers, 3)), "topic_create");
        return topic;
    }

    /// <summary>Disconnects every broker and refuses new connections.</summary>
    public void AllDown()
    {
        for (var id = 1; id <= Brokers; id++)
        {
            Check(rd_kafka_mock_broker_set_down(_cluster, id), "broker_set_down");
        }
    }

    public void AllUp()
    {
        for (var id = 1; id <= Brokers; id++)
        {
            Check(rd_kafka_mock_broker_set_up(_cluster, id), "broker_set_up");
        }
    }

    /// <summary>The next requests of <paramref name="apiKey"/>, whichever broker gets them, fail with these Kafka error codes in turn.</summary>
    public void PushRequestErrors(short apiKey, params int[] errors) =>
        rd_kafka_mock_push_request_errors_array(_cluster, apiKey, (nuint)errors.Length, errors);

    public void Dispose()
    {
        if (_cluster != 0)
        {
            rd_kafka_mock_cluster_destroy(_cluster);
            _cluster = 0;
        }

        if (_host != 0)
        {
            rd_kafka_destroy(_host);
            _host = 0;
        }
    }

    private static void Check(int error, string call)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"rd_kafka_mock_{call} failed with error {error}");
        }
    }

    private static string Text(byte[] error) => Encoding.UTF8.GetString(error, 0, Math.Max(0, Array.IndexOf(error, (byte)0)));

    [LibraryImport(Library)]
    private static partial nint rd_kafka_conf_new();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_conf_set(nint conf, string name, string value, [Out] byte[] errstr, nint errstrSize);

    [LibraryImport(Library)]
    private static partial nint rd_kafka_new(int type, nint conf, [Out] byte[] errstr, nint errstrSize);

    [LibraryImport(Library)]
    private static partial void rd_kafka_destroy(nint rk);

    [LibraryImport(Library)]
    private static partial nint rd_kafka_mock_cluster_new(nint rk, int brokers);

    [LibraryImport(Library)]
    private static partial void rd_kafka_mock_cluster_destroy(nint cluster);

    [LibraryImport(Library)]
    private static partial nint rd_kafka_mock_cluster_bootstraps(nint cluster);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(nint cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_down(nint cluster, int brokerId);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_up(nint cluster, int brokerId);

    [LibraryImport(Library)]
    private static partial void rd_kafka_mock_push_request_errors_array(nint cluster, short apiKey, nuint count, int[] errors);
}
