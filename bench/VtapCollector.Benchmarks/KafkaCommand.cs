using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using VtapCollector.Decoding;
using VtapCollector.Export;
using VtapCollector.Export.Formats;
using VtapCollector.Flows;
using VtapCollector.Kafka;
using VtapCollector.Kafka.Tests;

namespace VtapCollector.Benchmarks;

/// <summary>
/// <c>kafka [--records N] [--brokers B] [--partitions P] [--fsync Never|EverySegment|EverySecond] [--format vtap|ecs|ocsf|azure-flowtuple]</c>: whole-path throughput of the Kafka sink
/// against librdkafka's mock cluster (real wire protocol over TCP, in this process): records
/// encoded and produced until every one is acknowledged (records/s and CPU per record, mock brokers
/// included; every record goes through the sink's write-ahead log on disk, in the temporary directory), then
/// the log's write rate with the brokers unreachable and its replay rate after a restart. Timed over millions of records, so the figures are rates, not micro-timings.
/// </summary>
internal static class KafkaCommand
{
    public static int Run(string[] args)
    {
        var count = Option(args, "--records", 1_000_000);
        var brokers = Option(args, "--brokers", 3);
        var partitions = Option(args, "--partitions", 6);
        var fsyncIndex = Array.IndexOf(args, "--fsync");
        var fsync = fsyncIndex >= 0 && fsyncIndex + 1 < args.Length ? Enum.Parse<SpoolFsyncPolicy>(args[fsyncIndex + 1]) : SpoolFsyncPolicy.EverySecond;
        var formatIndex = Array.IndexOf(args, "--format");
        var encoder = RecordFormats.Create(formatIndex >= 0 && formatIndex + 1 < args.Length ? args[formatIndex + 1] : null)
            ?? throw new ArgumentException(RecordFormats.Validate("--format", args[formatIndex + 1]));
        var records = Records(65_536);
        var line = new byte[encoder.MaxRecordLength];
        var spool = Path.Combine(Path.GetTempPath(), "vtap-kafka-bench-" + Guid.NewGuid().ToString("N"));
        using var cluster = new MockCluster(brokers);
        var topic = cluster.CreateTopic(partitions);
        Console.WriteLine($"librdkafka {KafkaNativeLibrary.Version}; {Environment.ProcessorCount} cores; {count:N0} records; mock cluster of {brokers} brokers, {partitions} partitions; spool fsync {fsync}; format {encoder.Name}");

        KafkaSinkOptions Options(string bootstrap, string directory) => new()
        {
            BootstrapServers = bootstrap,
            Topic = topic,
            SpoolDirectory = directory,
            ShutdownTimeout = TimeSpan.FromSeconds(1),
            SpoolMaxBytes = 8L * 1024 * 1024 * 1024,
            SpoolFsync = fsync,
            ReadyWatermarkBytes = 8L * 1024 * 1024 * 1024,
        };

        void Write(KafkaSink sink, int n)
        {
            for (var i = 0; i < n; i++)
            {
                ref readonly var record = ref records[i & (records.Length - 1)];
                var length = encoder.Encode(record, line);
                if (!sink.Write(record, line.AsSpan(0, length)))
                {
                    throw new InvalidOperationException("The sink refused a record.");
                }
            }
        }

        try
        {
            using (var sink = new KafkaSink(Options(cluster.BootstrapServers, spool + "-direct")))
            {
                Write(sink, 50_000);
                WaitFor(() => sink.Delivered == 50_000);
                var (seconds, cpu) = Measure(() =>
                {
                    Write(sink, count);
                    WaitFor(() => sink.Delivered == 50_000 + count);
                });
                Console.WriteLine($"encode + produce + acknowledged (lz4, acks=all, idempotent): {count / seconds:N0} records/s, {cpu * 1e6 / count:F2} us CPU per record (whole process, mock brokers included)");
            }

            using (var sink = new KafkaSink(Options(UnreachableBroker(), spool)))
            {
                var (seconds, cpu) = Measure(() =>
                {
                    Write(sink, count);
                    sink.Flush();
                });
                Console.WriteLine($"spool write (brokers unreachable): {count / seconds:N0} records/s, {cpu * 1e6 / count:F2} us CPU per record, {sink.SpoolBytes / 1048576.0:F0} MiB spooled");
            }

            KafkaSink? replaying = null;
            var replay = Measure(() =>
            {
                replaying = new KafkaSink(Options(cluster.BootstrapServers, spool));
                WaitFor(() => replaying.SpoolRecords == 0 && replaying.Delivered >= replaying.SpoolRecovered);
            });
            Console.WriteLine($"spool replay after a restart (read, produce, acknowledged, segments deleted): {replaying!.SpoolRecovered / replay.Seconds:N0} records/s");
            replaying.Dispose();
        }
        finally
        {
            foreach (var directory in new[] { spool, spool + "-direct" })
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
        }

        return 0;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>A port that was free a moment ago: nothing listens there, so the producer cannot connect.</summary>
    private static string UnreachableBroker()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return "127.0.0.1:" + ((IPEndPoint)listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
    }

    private static (double Seconds, double CpuSeconds) Measure(Action run)
    {
        GC.Collect();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        run();
        return (clock.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }

    private static void WaitFor(Func<bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException("The sink did not finish within 5 minutes.");
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>Update records of 10 000 TCP flows with realistic counters (about 600-byte JSON lines).</summary>
    private static FlowRecord[] Records(int count)
    {
        var random = new Random(1);
        var records = new FlowRecord[count];
        for (var i = 0; i < count; i++)
        {
            var flow = random.Next(10_000);
            records[i] = new FlowRecord
            {
                Type = FlowRecordType.Update,
                FlowId = 0x9E37_79B9_7F4A_7C15UL * (ulong)(flow + 1),
                Sequence = (uint)i,
                Vni = (uint)(5000 + (flow % 16)),
                Tunnel = TunnelKind.Vxlan,
                TunnelIpVersion = 4,
                TunnelSource = IpAddress.FromIPv4(0xC000_0201),
                TunnelDestination = IpAddress.FromIPv4(0xC000_0202),
                IpVersion = 4,
                Protocol = IpProtocol.Tcp,
                Source = IpAddress.FromIPv4(0x0A00_0000u | (uint)(flow % 250) + 1),
                SourcePort = (ushort)(30000 + flow),
                Destination = IpAddress.FromIPv4(0x0A01_0007),
                DestinationPort = 443,
                FirstSeenNanos = 1_700_000_000_000_000_000,
                LastSeenNanos = 1_700_000_060_000_000_000,
                PacketsSrcToDst = (ulong)random.Next(1, 1000),
                BytesSrcToDst = (ulong)random.Next(60, 1_500_000),
                PacketsDstToSrc = (ulong)random.Next(1, 1000),
                BytesDstToSrc = (ulong)random.Next(60, 1_500_000),
                TcpFlagsSrcToDst = 0x1B,
                TcpFlagsDstToSrc = 0x12,
                ConnState = ConnState.S1,
            };
        }

        return records;
    }
}
