using VtapCollector.Decoding;
using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Workers;

using VtapCollector.Export.Metrics;

namespace VtapCollector.Engine.Tests;

public class DispatchTests
{
    private static DecodedPacket Packet(uint vni, byte protocol, string source, ushort sourcePort, string destination, ushort destinationPort) => new()
    {
        Vni = vni,
        Protocol = protocol,
        IpVersion = source.Contains(':', StringComparison.Ordinal) ? (byte)6 : (byte)4,
        Source = IpAddress.Parse(source),
        SourcePort = sourcePort,
        Destination = IpAddress.Parse(destination),
        DestinationPort = destinationPort,
    };

    [Fact]
    public void Both_directions_of_every_flow_go_to_the_same_worker()
    {
        var random = new Random(7);
        for (var i = 0; i < 10_000; i++)
        {
            var a = $"10.{random.Next(256)}.{random.Next(256)}.{random.Next(256)}";
            var b = $"fd00::{random.Next(65536):x}:{random.Next(65536):x}";
            var useV6 = i % 3 == 0;
            var source = useV6 ? b : a;
            var destination = useV6 ? $"fd00::{random.Next(65536):x}" : $"192.168.{random.Next(256)}.{random.Next(256)}";
            var forward = Packet((uint)random.Next(1 << 24), 6, source, (ushort)random.Next(65536), destination, 443);
            var reverse = Packet(forward.Vni, 6, destination, 443, source, forward.SourcePort);
            for (var workers = 1; workers <= 8; workers++)
            {
                Assert.Equal(PacketIngress.WorkerOf(forward, workers), PacketIngress.WorkerOf(reverse, workers));
            }
        }
    }

    [Fact]
    public void A_later_fragment_without_ports_goes_where_its_first_fragment_went()
    {
        var first = Packet(5, 17, "10.0.0.1", 5353, "10.0.0.2", 53);
        var later = Packet(5, 17, "10.0.0.1", 0, "10.0.0.2", 0);

        Assert.Equal(PacketIngress.WorkerOf(first, 4), PacketIngress.WorkerOf(later, 4));
    }

    [Fact]
    public void Many_address_pairs_spread_evenly_over_workers()
    {
        const int Workers = 4;
        var counts = new int[Workers];
        for (var i = 0; i < 40_000; i++)
        {
            counts[PacketIngress.WorkerOf(Packet(100, 6, $"10.1.{i / 256}.{i % 256}", 40000, "10.2.0.1", 80), Workers)]++;
        }

        Assert.All(counts, count => Assert.InRange(count, 9_000, 11_000));
    }

    [Fact]
    public void Same_addresses_in_different_vnis_may_use_different_workers()
    {
        var workers = Enumerable.Range(0, 64).Select(vni => PacketIngress.WorkerOf(Packet((uint)vni, 6, "10.0.0.1", 1, "10.0.0.2", 2), 4)).Distinct().Count();

        Assert.True(workers > 1);
    }

    [Fact]
    public void Exposition_escapes_label_values_and_formats_numbers()
    {
        var writer = new PrometheusTextWriter();
        writer.Family("x_total", "counter", "Help with a \\ backslash\nand a newline.");
        writer.Sample("x_total", [("a", "q\"uote\\back\nline")], 1.5);
        writer.Sample("x_total", 12345678901234);
        writer.Sample("x_total", [("b", "inf")], double.PositiveInfinity);

        Assert.Equal(
            "# HELP x_total Help with a \\\\ backslash\\nand a newline.\n" +
            "# TYPE x_total counter\n" +
            "x_total{a=\"q\\\"uote\\\\back\\nline\"} 1.5\n" +
            "x_total 12345678901234\n" +
            "x_total{b=\"inf\"} +Inf\n",
            writer.ToString());
    }
}
