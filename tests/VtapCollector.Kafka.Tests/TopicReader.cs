using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace VtapCollector.Kafka.Tests;

/// <summary>One message as a consumer saw it.</summary>
internal sealed record Consumed(string Key, string Value, int Partition, long Offset);

/// <summary>
/// Reads a topic back with a real Kafka consumer: Confluent.Kafka's, or kcat (Debian package kcat) when the
/// loaded librdkafka is too old for Confluent.Kafka's consumer (Debian's 2.0.2, <c>-p:KafkaNative=system</c>,
/// lacks <c>rd_kafka_message_leader_epoch</c>, which the consumer calls for every message).
/// </summary>
internal static class TopicReader
{
    /// <summary>
    /// Reads every partition from the beginning until <paramref name="expected"/> messages have come and
    /// then a further quiet period shows nothing more (duplicates would show there), or until <paramref name="timeout"/>.
    /// </summary>
    public static List<Consumed> ReadAll(string bootstrapServers, string topic, int partitions, int expected, TimeSpan timeout)
    {
        if (!NativeLibrary.TryGetExport(KafkaNativeLibrary.EnsureLoaded(), "rd_kafka_message_leader_epoch", out _))
        {
            return ReadWithKcat(bootstrapServers, topic, timeout);
        }

        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "vtap-test-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // Only committed (acknowledged) records are of interest; the idempotent producer writes no aborted ones.
            IsolationLevel = IsolationLevel.ReadCommitted,
        };
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var messages = new List<Consumed>(expected);
        var clock = Stopwatch.StartNew();
        var quietUntil = TimeSpan.MaxValue;
        while (clock.Elapsed < timeout && clock.Elapsed < quietUntil)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result?.Message is { } message)
            {
                messages.Add(new Consumed(Encoding.UTF8.GetString(message.Key ?? []), Encoding.UTF8.GetString(message.Value ?? []), result.Partition.Value, result.Offset.Value));
            }

            if (messages.Count >= expected && quietUntil == TimeSpan.MaxValue)
            {
                quietUntil = clock.Elapsed + TimeSpan.FromMilliseconds(500);
            }
        }

        consumer.Close();
        return messages;
    }

    /// <summary>
    /// The messages the topic holds (the sum over its partitions of the high watermark minus the low one),
    /// and the messages no longer held: the sum of the low watermarks, non-zero once the broker's retention
    /// (librdkafka's mock cluster keeps a few megabytes per partition) has deleted the oldest.
    /// </summary>
    public static (long Held, long Deleted) Count(string bootstrapServers, string topic, int partitions, TimeSpan timeout)
    {
        var config = new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "vtap-test-" + Guid.NewGuid().ToString("N") };
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
        long held = 0, deleted = 0;
        for (var partition = 0; partition < partitions; partition++)
        {
            var offsets = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), timeout);
            held += offsets.High.Value - offsets.Low.Value;
            deleted += offsets.Low.Value;
        }

        consumer.Close();
        return (held, deleted);
    }

    /// <summary>kcat reads every partition from the beginning to its current end and exits (-e); a line per message.</summary>
    private static List<Consumed> ReadWithKcat(string bootstrapServers, string topic, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("kcat")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-C", "-b", bootstrapServers, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k\t%p\t%o\t%s\n" })
        {
            start.ArgumentList.Add(argument);
        }

        using var kcat = Process.Start(start) ?? throw new InvalidOperationException("kcat did not start (apt-get install kcat)");
        var error = kcat.StandardError.ReadToEndAsync();
        var output = kcat.StandardOutput.ReadToEndAsync();
        if (!kcat.WaitForExit(timeout))
        {
            kcat.Kill();
            throw new TimeoutException($"kcat did not finish reading {topic} within {timeout}");
        }

        if (kcat.ExitCode != 0)
        {
            throw new InvalidOperationException($"kcat failed ({kcat.ExitCode}): {error.GetAwaiter().GetResult()}");
        }

        return output.GetAwaiter().GetResult()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t', 4))
            .Select(f => new Consumed(f[0], f[3], int.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture)))
            .ToList();
    }
}
