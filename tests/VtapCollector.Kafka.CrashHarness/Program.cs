using System.Diagnostics;
using System.Globalization;
using VtapCollector.Decoding;
using VtapCollector.Export;
using VtapCollector.Flows;
using VtapCollector.Kafka;

namespace VtapCollector.Kafka.CrashHarness;

/// <summary>
/// A process for the crash-consistency test to kill: writes numbered records through a <see cref="KafkaSink"/>
/// and says on standard output, line by line (each line one <c>write</c>, so a kill loses none that was
/// printed), what the sink accepted and what its durability guarantee covers.
/// </summary>
/// <remarks>
/// <para>
/// <c>write &lt;bootstrap&gt; &lt;topic&gt; &lt;spool&gt; &lt;first&gt; &lt;records/s&gt;</c> writes records
/// <c>first</c>, <c>first+1</c>, ... until killed (or a minute has passed); <c>drain &lt;bootstrap&gt;
/// &lt;topic&gt; &lt;spool&gt;</c> writes nothing, waits until the log is delivered, closes the sink and exits 0.
/// Record number <c>n</c> is flow <c>n % 97</c> (flow id <see cref="FlowId"/>) with <c>seq = n / 97</c>.
/// </para>
/// <para>
/// Lines: <c>start &lt;recovered&gt; &lt;truncated segments&gt; &lt;truncated bytes&gt;</c> once the sink is open;
/// <c>accepted &lt;n&gt;</c>: Write accepted every record below n; <c>flushed &lt;n&gt;</c>: Flush returned after
/// every record below n was accepted (the guarantee covers them); <c>stats &lt;produced&gt; &lt;checkpointed&gt;
/// &lt;delivered&gt;</c> every 50 ms; <c>refused &lt;n&gt;</c>; <c>drained</c>.
/// </para>
/// </remarks>
internal static class Program
{
    /// <summary>The number of flows records are spread over.</summary>
    public const int Flows = 97;

    /// <summary>The VNI of every record.</summary>
    public const uint Vni = 7000;

    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    /// <summary>The flow id of flow <paramref name="flow"/>.</summary>
    public static ulong FlowId(int flow) => 0x9E37_79B9_7F4A_7C15UL * (ulong)(flow + 1);

    private static int Main(string[] args)
    {
        if (args.Length < 4 || args[0] is not ("write" or "drain") || (args[0] == "write" && args.Length < 6))
        {
            Console.Error.WriteLine("usage: write <bootstrap> <topic> <spool> <first> <records/s> | drain <bootstrap> <topic> <spool>");
            return 64;
        }

        var options = new KafkaSinkOptions
        {
            BootstrapServers = args[1],
            Topic = args[2],
            SpoolDirectory = args[3],
            QueueMaxRecords = 5_000,
            SpoolSegmentBytes = 1024 * 1024,
            SpoolMaxBytes = 4L * 1024 * 1024 * 1024,
            ReadyWatermarkBytes = 4L * 1024 * 1024 * 1024,
            ShutdownTimeout = TimeSpan.FromSeconds(10),
            Producer = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["reconnect.backoff.max.ms"] = "200",
                ["linger.ms"] = "5",
            },
        };
        using var sink = new KafkaSink(options, report => Console.Error.WriteLine($"{report.Severity} {report.Cause}: {report.Message}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"start {sink.SpoolRecovered} {sink.RecoveryTruncatedSegments} {sink.SpoolTruncatedBytes}"));
        using var stats = new Timer(_ => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stats {sink.Produced} {sink.Checkpointed} {sink.Delivered}")), null, 0, 50);
        return args[0] == "write"
            ? Write(sink, long.Parse(args[4], CultureInfo.InvariantCulture), int.Parse(args[5], CultureInfo.InvariantCulture))
            : Drain(sink);
    }

    private static int Write(KafkaSink sink, long first, int perSecond)
    {
        var line = new byte[FlowRecordJsonEncoder.MaxRecordLength];
        var perTick = Math.Max(1, perSecond / 100);
        var clock = Stopwatch.StartNew();
        var lastFlush = TimeSpan.Zero;
        var next = first;
        while (clock.Elapsed < Limit)
        {
            for (var i = 0; i < perTick; i++, next++)
            {
                var record = Record(next);
                var length = FlowRecordJsonEncoder.Encode(record, line);
                if (!sink.Write(record, line.AsSpan(0, length)))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"refused {next}"));
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accepted {next}"));
            if (clock.Elapsed - lastFlush >= FlushInterval)
            {
                sink.Flush();
                lastFlush = clock.Elapsed;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"flushed {next}"));
            }

            Thread.Sleep(10);
        }

        return 0;
    }

    private static int Drain(KafkaSink sink)
    {
        var clock = Stopwatch.StartNew();
        while (sink.LogRecords > 0 || sink.InFlight > 0)
        {
            if (clock.Elapsed > Limit)
            {
                Console.Error.WriteLine($"not drained after {Limit}: log {sink.LogRecords}, in flight {sink.InFlight}");
                return 2;
            }

            Thread.Sleep(20);
        }

        sink.Dispose();
        Console.WriteLine("drained");
        return 0;
    }

    private static FlowRecord Record(long number) => new()
    {
        Type = FlowRecordType.Update,
        FlowId = FlowId((int)(number % Flows)),
        Sequence = (uint)(number / Flows),
        Vni = Vni,
        Tunnel = TunnelKind.Vxlan,
        TunnelIpVersion = 4,
        TunnelSource = IpAddress.FromIPv4(0xC000_0201),
        TunnelDestination = IpAddress.FromIPv4(0xC000_0202),
        IpVersion = 4,
        Protocol = IpProtocol.Udp,
        Source = IpAddress.FromIPv4(0x0A00_0001),
        SourcePort = (ushort)(10000 + (number % Flows)),
        Destination = IpAddress.FromIPv4(0x0A01_0007),
        DestinationPort = 53,
        FirstSeenNanos = 1_700_000_000_000_000_000,
        LastSeenNanos = 1_700_000_000_000_000_000 + number,
        PacketsSrcToDst = 1,
        BytesSrcToDst = 80,
    };
}
