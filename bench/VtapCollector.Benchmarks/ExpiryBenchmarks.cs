using BenchmarkDotNet.Attributes;
using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Benchmarks;

/// <summary>
/// The once-a-second expiry sweep of a live flow worker over a full table when nothing is due (the
/// steady state: every flow seen within its timeouts), per flow held. A worker pays this every
/// second whatever the packet rate, so it bounds how many flows one worker should hold.
/// </summary>
[MemoryDiagnoser]
public class ExpiryBenchmarks
{
    private FlowTable _table = null!;
    private long _now;

    [Params(200_000, 1_000_000)]
    public int Flows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _table = new FlowTable(new FlowTableOptions { Capacity = Flows * 2 }, new DiscardingWriter());
        var packet = new DecodedPacket { IpVersion = 4, Protocol = IpProtocol.Tcp, TcpFlags = TcpFlagBits.Ack, IpBytes = 60, Vni = 7 };
        const long start = 1_700_000_000_000_000_000L;
        for (var i = 0; i < Flows; i++)
        {
            packet.Source = IpAddress.FromIPv4(0x0A00_0000u | (uint)i);
            packet.Destination = IpAddress.FromIPv4(0xC0A8_0001u);
            packet.SourcePort = (ushort)(1024 + (i % 60000));
            packet.DestinationPort = 443;
            _table.Update(packet, start + i);
        }

        // Within every timeout: the sweep visits each flow and emits nothing.
        _now = start + Flows + 1_000_000_000L;
    }

    [Benchmark(OperationsPerInvoke = 1)]
    public int SweepFullTable()
    {
        _table.Expire(_now);
        return _table.Count;
    }
}
