using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using VtapCollector.Decoding;
using VtapCollector.Export.Ipfix;
using VtapCollector.Flows;

namespace VtapCollector.Tests.Ipfix;

/// <summary>
/// nfdump's collector nfcapd (UDP only: it has no TCP listener) receives the export; <c>nfdump -o json</c>
/// of what it stored must equal the records flow by flow. nfdump 1.7 reads RFC 5103 reverse elements
/// into its out_packets/out_bytes, so both modes are checked. It keeps no layer2SegmentId, so the VNI is not compared.
/// </summary>
public class IpfixNfdumpTests
{
    /// <summary>A flow as nfdump shows it, reduced to what a record determines.</summary>
    internal readonly record struct Flow(string Source, string Destination, int SourcePort, int DestinationPort, int Protocol, long First, long Last, ulong InPackets, ulong InBytes, ulong OutPackets, ulong OutBytes);

    /// <summary>The flows <paramref name="records"/> must become: one per record (biflow), or one per direction that carried packets.</summary>
    internal static List<Flow> Expected(IEnumerable<FlowRecord> records, bool biflow)
    {
        var flows = new List<Flow>();
        foreach (var record in records)
        {
            var icmp = record.Protocol is IpProtocol.Icmp or IpProtocol.Icmpv6;
            var first = record.FirstSeenNanos / 1_000_000;
            var last = record.LastSeenNanos / 1_000_000;
            flows.Add(new Flow(
                record.Source.ToString(record.IpVersion), record.Destination.ToString(record.IpVersion),
                icmp ? 0 : record.SourcePort, icmp ? 0 : record.DestinationPort, record.Protocol, first, last,
                record.PacketsSrcToDst, record.BytesSrcToDst, biflow ? record.PacketsDstToSrc : 0, biflow ? record.BytesDstToSrc : 0));
            if (!biflow && record.PacketsDstToSrc > 0)
            {
                flows.Add(new Flow(
                    record.Destination.ToString(record.IpVersion), record.Source.ToString(record.IpVersion),
                    icmp ? 0 : record.DestinationPort, icmp ? 0 : record.SourcePort, record.Protocol, first, last,
                    record.PacketsDstToSrc, record.BytesDstToSrc, 0, 0));
            }
        }

        return [.. flows.OrderBy(f => f.ToString(), StringComparer.Ordinal)];
    }

    /// <summary>Starts nfcapd on 127.0.0.1:<paramref name="port"/> writing into <paramref name="directory"/>, and waits until it listens.</summary>
    internal static Process StartNfcapd(int port, string directory)
    {
        var process = IpfixTestSupport.Start("nfcapd", "-b", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-w", directory, "-t", "3600");
        IpfixTestSupport.WaitBound(port, udp: true);
        return process;
    }

    /// <summary>Stops nfcapd (it writes its file on SIGTERM) and returns what nfdump reads back, sorted.</summary>
    internal static List<Flow> StopAndDump(Process nfcapd, string directory)
    {
        IpfixTestSupport.Stop(nfcapd);
        var json = IpfixTestSupport.Run("nfdump", "-R", directory, "-o", "json");
        using var document = JsonDocument.Parse(json);
        var flows = new List<Flow>();
        foreach (var flow in document.RootElement.EnumerateArray())
        {
            var v6 = flow.TryGetProperty("src6_addr", out _);
            var icmp = flow.TryGetProperty("icmp_type", out _);
            flows.Add(new Flow(
                flow.GetProperty(v6 ? "src6_addr" : "src4_addr").GetString()!,
                flow.GetProperty(v6 ? "dst6_addr" : "dst4_addr").GetString()!,
                icmp ? 0 : flow.GetProperty("src_port").GetInt32(),
                icmp ? 0 : flow.GetProperty("dst_port").GetInt32(),
                flow.GetProperty("proto").GetInt32(),
                Milliseconds(flow.GetProperty("first").GetString()!),
                Milliseconds(flow.GetProperty("last").GetString()!),
                flow.GetProperty("in_packets").GetUInt64(),
                flow.GetProperty("in_bytes").GetUInt64(),
                Counter(flow, "out_packets"),
                Counter(flow, "out_bytes")));
        }

        return [.. flows.OrderBy(f => f.ToString(), StringComparer.Ordinal)];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Nfcapd_UdpExportFromTheEngine_DumpEqualsTheRecords(bool biflow)
    {
        using var directory = new TempFolder();
        var port = IpfixTestSupport.FreePort(SocketType.Dgram);
        var nfcapd = StartNfcapd(port, directory.Path);
        List<FlowRecord> records;
        long sent;
        using (var sink = new IpfixSink(new IpfixSinkOptions { Collectors = [$"udp://127.0.0.1:{port}"], Biflow = biflow, MaxMessageBytes = 700 }))
        {
            records = IpfixTestSupport.Replay(sink);
            sent = sink.Exporters[0].Transport.Counters.MessagesSent;
        }

        Thread.Sleep(300);
        var dumped = StopAndDump(nfcapd, directory.Path);

        Assert.True(sent > 1, $"{sent} messages");
        Assert.Equal(Expected(records, biflow), dumped);
    }

    [Fact]
    public void Nfcapd_StartedAfterTheExporter_DecodesEverythingAfterOneRefreshInterval()
    {
        using var directory = new TempFolder();
        var port = IpfixTestSupport.FreePort(SocketType.Dgram);
        var records = IpfixTestSupport.Replay();
        var refresh = TimeSpan.FromSeconds(1);
        using var sink = new IpfixSink(new IpfixSinkOptions { Collectors = [$"udp://127.0.0.1:{port}"], TemplateRefresh = refresh, TemplateRefreshMessages = 1_000_000 });

        // Templates and records go out while nothing listens: they are lost, and counted as the
        // kernel reports the ICMP port unreachable errors.
        IpfixTestSupport.Write(sink, records);
        IpfixTestSupport.Write(sink, records);
        Assert.True(sink.Exporters[0].Transport.Counters.DroppedNotConnected > 0);
        var nfcapd = StartNfcapd(port, directory.Path);

        // Within the refresh interval the records carry no templates: the collector cannot read them.
        IpfixTestSupport.Write(sink, records);
        Thread.Sleep(refresh + TimeSpan.FromMilliseconds(200));
        var later = records.Select(r => r with { FirstSeenNanos = r.FirstSeenNanos + 3_600_000_000_000L, LastSeenNanos = r.LastSeenNanos + 3_600_000_000_000L }).ToList();
        IpfixTestSupport.Write(sink, later);
        Thread.Sleep(300);
        var dumped = StopAndDump(nfcapd, directory.Path);

        Assert.Equal(Expected(later, biflow: true), dumped);
        Assert.True(sink.Exporters[0].Transport.Counters.TemplatesSent >= 2);
    }

    /// <summary>nfdump leaves the out counters out of a record that had no reverse elements.</summary>
    private static ulong Counter(JsonElement flow, string name) => flow.TryGetProperty(name, out var value) ? value.GetUInt64() : 0;

    private static long Milliseconds(string text) =>
        new DateTimeOffset(DateTime.ParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture), TimeSpan.Zero).ToUnixTimeMilliseconds();
}
