using System.Text;
using VtapCollector.Decoding;
using VtapCollector.Export;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;

namespace VtapCollector.Kafka.Tests;

/// <summary>Flow records for the sink, and what the JSON Lines sink writes for them.</summary>
internal static class TestRecords
{
    /// <summary>
    /// <paramref name="count"/> records over <paramref name="flows"/> flows (in several VNIs), each flow's
    /// records numbered 0, 1, 2, ... in <c>seq</c>, so that per-flow order can be checked after delivery.
    /// </summary>
    public static FlowRecord[] Make(int count, int flows = 257, int seed = 1)
    {
        var random = new Random(seed);
        var sequence = new uint[flows];
        var records = new FlowRecord[count];
        for (var i = 0; i < count; i++)
        {
            var flow = random.Next(flows);
            var tcp = flow % 3 != 0;
            records[i] = new FlowRecord
            {
                Type = i % 7 == 0 ? FlowRecordType.End : FlowRecordType.Update,
                EndReason = i % 7 == 0 ? EndReason.IdleTimeout : EndReason.None,
                FlowId = 0x9E37_79B9_7F4A_7C15UL * (ulong)(flow + 1),
                Sequence = sequence[flow]++,
                Vni = (uint)(5000 + (flow % 5)),
                Tunnel = TunnelKind.Vxlan,
                TunnelIpVersion = 4,
                TunnelSource = IpAddress.Parse("192.0.2.1"),
                TunnelDestination = IpAddress.Parse("192.0.2.2"),
                IpVersion = 4,
                Protocol = tcp ? IpProtocol.Tcp : IpProtocol.Udp,
                Source = IpAddress.Parse("10.0.0." + (flow % 250 + 1)),
                SourcePort = (ushort)(40000 + flow),
                Destination = IpAddress.Parse("10.1.0.7"),
                DestinationPort = tcp ? (ushort)443 : (ushort)53,
                FirstSeenNanos = 1_700_000_000_000_000_000 + flow * 1_000_000L,
                LastSeenNanos = 1_700_000_000_000_000_000 + i * 1_000_000L,
                PacketsSrcToDst = (ulong)random.Next(1, 1000),
                BytesSrcToDst = (ulong)random.Next(60, 1_500_000),
                PacketsDstToSrc = (ulong)random.Next(0, 1000),
                BytesDstToSrc = (ulong)random.Next(0, 1_500_000),
                TcpFlagsSrcToDst = tcp ? (byte)0x1B : (byte)0,
                TcpFlagsDstToSrc = tcp ? (byte)0x12 : (byte)0,
                ConnState = tcp ? ConnState.S1 : ConnState.SF,
            };
        }

        return records;
    }

    /// <summary>Encodes each record once, as the exporter does, and hands the line to every sink.</summary>
    public static void WriteAll(ReadOnlySpan<FlowRecord> records, params IRecordSink[] sinks)
    {
        var line = new byte[FlowRecordJsonEncoder.MaxRecordLength];
        foreach (ref readonly var record in records)
        {
            var length = FlowRecordJsonEncoder.Encode(record, line);
            foreach (var sink in sinks)
            {
                Assert.True(sink.Write(record, line.AsSpan(0, length)), $"{sink.Name} refused a record");
            }
        }
    }

    /// <summary>The lines the JSON Lines sink (<see cref="StreamSink"/>) writes for <paramref name="records"/>, newline included.</summary>
    public static List<string> JsonLines(ReadOnlySpan<FlowRecord> records)
    {
        using var stream = new MemoryStream();
        using (var sink = new StreamSink(stream, "file", leaveOpen: true))
        {
            WriteAll(records, sink);
        }

        return Encoding.UTF8.GetString(stream.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l + "\n").ToList();
    }

    /// <summary>Waits until <paramref name="condition"/> holds, at most <paramref name="timeout"/>; returns whether it did.</summary>
    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            Thread.Sleep(10);
        }

        return true;
    }
}

/// <summary>A fresh directory under the system's temporary directory, deleted with its contents on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vtap-kafka-" + Guid.NewGuid().ToString("N"));

    public string[] Segments() => Directory.GetFiles(Path, "*.spool");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the system cleans its temporary directory.
        }
    }
}

/// <summary>Collects the sink's reports for assertions.</summary>
internal sealed class Reports
{
    private readonly List<KafkaSinkReport> _all = [];

    public Action<KafkaSinkReport> Sink => report =>
    {
        lock (_all)
        {
            _all.Add(report);
        }
    };

    public List<KafkaSinkReport> All
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    public List<KafkaSinkReport> OfCause(string prefix) => All.Where(r => r.Cause.StartsWith(prefix, StringComparison.Ordinal)).ToList();
}
