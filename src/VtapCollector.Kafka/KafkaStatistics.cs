using System.Text.Json;

namespace VtapCollector.Kafka;

/// <summary>
/// The figures the sink takes from librdkafka's statistics (emitted every <c>statistics.interval.ms</c>,
/// 5 s by default; see librdkafka's STATISTICS.md). All zero until the first statistics arrive.
/// </summary>
/// <param name="BrokerRoundTripMicros">Mean request round-trip time of the slowest broker over the last interval, in microseconds.</param>
/// <param name="BrokerRoundTripP99Micros">99th percentile of the same broker's round-trip time, in microseconds.</param>
/// <param name="BatchBytes">Mean size of the record batches sent to the topic over the last interval, in bytes.</param>
/// <param name="BatchRecords">Mean number of records per batch over the last interval.</param>
/// <param name="QueuedRecords">Records in librdkafka's queues (waiting or in flight) when the statistics were taken.</param>
/// <param name="BrokersUp">Brokers with an open connection.</param>
public readonly record struct KafkaStatistics(
    long BrokerRoundTripMicros,
    long BrokerRoundTripP99Micros,
    long BatchBytes,
    long BatchRecords,
    long QueuedRecords,
    int BrokersUp)
{
    /// <summary>Reads the figures from one statistics document; fields it lacks read as zero.</summary>
    /// <exception cref="JsonException">The text is not JSON.</exception>
    public static KafkaStatistics Parse(string json, string topic)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        long rtt = 0, rttP99 = 0, batchBytes = 0, batchRecords = 0;
        var up = 0;
        if (root.TryGetProperty("brokers", out var brokers) && brokers.ValueKind == JsonValueKind.Object)
        {
            foreach (var broker in brokers.EnumerateObject())
            {
                var value = broker.Value;
                if (value.TryGetProperty("state", out var state) && state.ValueEquals("UP"))
                {
                    up++;
                }

                // Bootstrap entries (nodeid -1) only ever carry metadata requests; the figures that matter are the brokers'.
                if (value.TryGetProperty("nodeid", out var node) && node.TryGetInt32(out var id) && id < 0)
                {
                    continue;
                }

                if (value.TryGetProperty("rtt", out var window) && Number(window, "cnt") > 0)
                {
                    var average = Number(window, "avg");
                    if (average > rtt)
                    {
                        rtt = average;
                        rttP99 = Number(window, "p99");
                    }
                }
            }
        }

        if (root.TryGetProperty("topics", out var topics) && topics.TryGetProperty(topic, out var statistics))
        {
            if (statistics.TryGetProperty("batchsize", out var size))
            {
                batchBytes = Number(size, "avg");
            }

            if (statistics.TryGetProperty("batchcnt", out var count))
            {
                batchRecords = Number(count, "avg");
            }
        }

        return new KafkaStatistics(rtt, rttP99, batchBytes, batchRecords, Number(root, "msg_cnt"), up);
    }

    private static long Number(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.TryGetInt64(out var number) ? number : 0;
}

/// <summary>The latest <see cref="KafkaStatistics"/>: written by librdkafka's thread, read by a scrape.</summary>
internal sealed class LatestStatistics(string topic)
{
    private readonly Lock _gate = new();
    private KafkaStatistics _value;

    public KafkaStatistics Value
    {
        get
        {
            lock (_gate)
            {
                return _value;
            }
        }
    }

    /// <summary>Parses one statistics document; a malformed one is skipped (the next comes within the interval).</summary>
    public void Update(string json)
    {
        try
        {
            var statistics = KafkaStatistics.Parse(json, topic);
            lock (_gate)
            {
                _value = statistics;
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Skipped, as documented.
        }
    }
}
