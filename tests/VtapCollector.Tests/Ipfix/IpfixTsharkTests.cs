using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using VtapCollector.Decoding;
using VtapCollector.Export.Ipfix;
using VtapCollector.Flows;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Ipfix;

/// <summary>One flow record as tshark's IPFIX dissector shows it: each field's values in order (a biflow record has two octets, forward then reverse).</summary>
internal sealed class TsharkFlow(List<(string Name, string Value)> fields)
{
    public IReadOnlyList<string> All(string name) => fields.Where(f => f.Name == name).Select(f => f.Value).ToList();

    public string One(string name) => All(name)[0];

    public bool Has(string name) => fields.Any(f => f.Name == name);

    /// <summary>tshark writes absolute times as <c>Nov 23, 2026 06:12:45.126000000 UTC</c>.</summary>
    public long Milliseconds(string name)
    {
        var text = string.Join(' ', One(name).Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var time = DateTime.ParseExact(text[..^"000000 UTC".Length], "MMM d, yyyy HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        return new DateTimeOffset(time, TimeSpan.Zero).ToUnixTimeMilliseconds();
    }
}

/// <summary>tshark's IPFIX dissector as the oracle of the bytes the UDP sink sends.</summary>
public class IpfixTsharkTests
{
    /// <summary>Sends the sample's records over loopback UDP to a socket of the test and returns the datagrams received.</summary>
    internal static (List<byte[]> Messages, List<FlowRecord> Records) ExportOverUdp(bool biflow)
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20 };
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)receiver.LocalEndPoint!).Port;
        List<FlowRecord> records;
        using (var sink = new IpfixSink(new IpfixSinkOptions { Collectors = [$"udp://127.0.0.1:{port}"], Biflow = biflow, ObservationDomainId = 42, MaxMessageBytes = 600 }))
        {
            records = IpfixTestSupport.Replay(sink);
        }

        var messages = new List<byte[]>();
        var buffer = new byte[65536];
        receiver.ReceiveTimeout = 2000;
        while (receiver.Available > 0 || messages.Count == 0)
        {
            var length = receiver.Receive(buffer);
            messages.Add(buffer[..length]);
        }

        return (messages, records);
    }

    /// <summary>Decodes the pcap with tshark (IPFIX on <paramref name="port"/>) and returns every flow record in message order.</summary>
    internal static List<TsharkFlow> Decode(string pcap, int port)
    {
        var json = IpfixTestSupport.Run(ExternalTools.Tshark, "-n", "-r", pcap, "-d", $"udp.port=={port},cflow", "-T", "json");
        using var document = JsonDocument.Parse(json);
        var flows = new List<TsharkFlow>();
        foreach (var packet in document.RootElement.EnumerateArray())
        {
            Collect(packet.GetProperty("_source").GetProperty("layers").GetProperty("cflow"), flows);
        }

        return flows;
    }

    /// <summary>tshark -z expert on the pcap: every line, to assert that none is an error or a warning.</summary>
    internal static IReadOnlyList<string> Expert(string pcap, int port) =>
        IpfixTestSupport.Run(ExternalTools.Tshark, "-n", "-r", pcap, "-d", $"udp.port=={port},cflow", "-q", "-z", "expert")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Asserts that tshark's flows are <paramref name="records"/>, field by field, in order.</summary>
    internal static void AssertSame(IReadOnlyList<FlowRecord> records, IReadOnlyList<TsharkFlow> flows, bool biflow)
    {
        var expected = new List<(FlowRecord Record, bool Reverse)>();
        foreach (var record in records)
        {
            expected.Add((record, false));
            if (!biflow && record.PacketsDstToSrc > 0)
            {
                expected.Add((record, true));
            }
        }

        Assert.Equal(expected.Count, flows.Count);
        for (var i = 0; i < flows.Count; i++)
        {
            var (record, reverse) = expected[i];
            var flow = flows[i];
            var v6 = record.IpVersion == 6;
            var source = IPAddress.Parse(flow.One(v6 ? "cflow.srcaddrv6" : "cflow.srcaddr"));
            var destination = IPAddress.Parse(flow.One(v6 ? "cflow.dstaddrv6" : "cflow.dstaddr"));
            Assert.Equal((reverse ? record.Destination : record.Source).ToString(record.IpVersion), source.ToString());
            Assert.Equal((reverse ? record.Source : record.Destination).ToString(record.IpVersion), destination.ToString());
            Assert.Equal(record.Protocol.ToString(CultureInfo.InvariantCulture), flow.One("cflow.protocol"));
            var icmp = record.Protocol is IpProtocol.Icmp or IpProtocol.Icmpv6;
            Assert.Equal(icmp ? "0" : (reverse ? record.DestinationPort : record.SourcePort).ToString(CultureInfo.InvariantCulture), flow.One("cflow.srcport"));
            Assert.Equal(icmp ? "0" : (reverse ? record.SourcePort : record.DestinationPort).ToString(CultureInfo.InvariantCulture), flow.One("cflow.dstport"));
            if (icmp && !reverse)
            {
                // tshark splits the IPv6 element into type and code, and shows the IPv4 one whole, in hex.
                Assert.Equal(
                    v6 ? record.SourcePort.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"0x{record.SourcePort << 8:x4}"),
                    flow.One(v6 ? "cflow.icmp_ipv6_type" : "cflow.icmp_type_code_ipv4"));
            }

            var octets = flow.All("cflow.octets");
            var packets = flow.All("cflow.packets");
            Assert.Equal(biflow ? 2 : 1, octets.Count);
            Assert.Equal((reverse ? record.BytesDstToSrc : record.BytesSrcToDst).ToString(CultureInfo.InvariantCulture), octets[0]);
            Assert.Equal((reverse ? record.PacketsDstToSrc : record.PacketsSrcToDst).ToString(CultureInfo.InvariantCulture), packets[0]);
            if (biflow)
            {
                Assert.Equal(record.BytesDstToSrc.ToString(CultureInfo.InvariantCulture), octets[1]);
                Assert.Equal(record.PacketsDstToSrc.ToString(CultureInfo.InvariantCulture), packets[1]);
            }

            Assert.Equal(record.FirstSeenNanos / 1_000_000, flow.Milliseconds("cflow.abstimestart"));
            Assert.Equal(record.LastSeenNanos / 1_000_000, flow.Milliseconds("cflow.abstimeend"));
            var segment = record.Tunnel == TunnelKind.Vxlan ? (1UL << 56) | record.Vni : 0;
            Assert.Equal(segment.ToString(CultureInfo.InvariantCulture), flow.One("cflow.layer2_segment_id"));
            Assert.Equal(reverse ? "2" : "1", flow.One("cflow.biflow_direction"));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UdpExport_RealCapture_TsharkDecodesEveryRecordAsExported(bool biflow)
    {
        var (messages, records) = ExportOverUdp(biflow);
        using var directory = new TempFolder();
        var pcap = Path.Combine(directory.Path, "export.pcap");
        IpfixTestSupport.WritePcap(pcap, messages, 4739);

        Assert.True(messages.Count > 1, $"{messages.Count} messages: the sample should need several of at most 600 bytes");
        AssertSame(records, Decode(pcap, 4739), biflow);
        Assert.DoesNotContain(Expert(pcap, 4739), line => line.Contains("Error", StringComparison.OrdinalIgnoreCase) || line.Contains("Warning", StringComparison.OrdinalIgnoreCase) || line.Contains("Malformed", StringComparison.OrdinalIgnoreCase));
    }

    private static void Collect(JsonElement element, List<TsharkFlow> flows)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (property.Name.StartsWith("Flow ", StringComparison.Ordinal) && property.Value.ValueKind == JsonValueKind.Object)
            {
                var fields = new List<(string, string)>();
                Flatten(property.Value, fields);
                flows.Add(new TsharkFlow(fields));
            }
            else
            {
                Collect(property.Value, flows);
            }
        }
    }

    private static void Flatten(JsonElement element, List<(string, string)> fields)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                Flatten(property.Value, fields);
            }
            else if (property.Value.ValueKind == JsonValueKind.String)
            {
                fields.Add((property.Name, property.Value.GetString()!));
            }
        }
    }
}

/// <summary>A fresh directory under the system temp folder, removed with everything in it.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Path = Directory.CreateTempSubdirectory("vtap-ipfix-").FullName;

    public string Path { get; }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
