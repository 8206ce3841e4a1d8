using BenchmarkDotNet.Attributes;
using VtapCollector.Decoding;
using VtapCollector.Engine.Networks;
using VtapCollector.Flows;

namespace VtapCollector.Benchmarks;

/// <summary>
/// Classifying a record by the configured networks: two longest-prefix lookups (source and
/// destination, in the record's VNI) and the direction, as a flow worker does once per record it
/// emits. The table holds IPv4 prefixes from /8 to /32 and IPv6 ones from /32 to /64, a tenth of
/// them scoped to VNIs; half the addresses fall in a prefix, half in none (the slowest case: every
/// length is probed). Nothing is allocated.
/// </summary>
[MemoryDiagnoser]
public class NetworkLookupBenchmarks
{
    private const int Records = 4096;

    private readonly FlowRecord[] _records = new FlowRecord[Records];
    private NetworkMap _map = null!;

    [Params(100, 10_000)]
    public int Prefixes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var definitions = new List<NetworkDefinition>();
        var inside = new List<IpAddress>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (definitions.Count < Prefixes)
        {
            var ipv6 = random.Next(5) == 0;
            string cidr;
            IpAddress member;
            if (ipv6)
            {
                var length = 32 + random.Next(33);
                var hi = (0x2001_0DB8UL << 32) | ((ulong)random.NextInt64() & 0xFFFF_FFFFUL);
                hi &= ulong.MaxValue << (64 - length);
                cidr = $"{new System.Net.IPAddress([.. BitConverter.GetBytes(hi).Reverse(), .. new byte[8]])}/{length}";
                member = new IpAddress(hi | ((ulong)random.NextInt64() & ~(ulong.MaxValue << (64 - length))), (ulong)random.NextInt64());
            }
            else
            {
                var length = 8 + random.Next(25);
                var mask = length == 32 ? uint.MaxValue : ~(uint.MaxValue >> length);
                var network = (uint)random.Next() & mask;
                cidr = $"{new System.Net.IPAddress(BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(network)))}/{length}";
                member = IpAddress.FromIPv4(network | ((uint)random.Next() & ~mask));
            }

            if (!seen.Add(cidr))
            {
                continue;
            }

            uint[] vnis = random.Next(10) == 0 ? [(uint)random.Next(1, 8)] : [];
            definitions.Add(new NetworkDefinition($"n{definitions.Count}", [cidr], vnis, random.Next(2) == 0));
            inside.Add(member);
        }

        _map = NetworkMap.TryCreate(definitions, out var error) ?? throw new InvalidOperationException(error);
        for (var i = 0; i < Records; i++)
        {
            IpAddress Pick() => random.Next(2) == 0 ? inside[random.Next(inside.Count)] : IpAddress.FromIPv4((uint)random.Next());
            _records[i] = new FlowRecord { IpVersion = 4, Source = Pick(), Destination = Pick(), Vni = (uint)random.Next(0, 8), PacketsSrcToDst = 1 };
        }
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public int ClassifyRecord()
    {
        var local = 0;
        foreach (ref readonly var record in _records.AsSpan())
        {
            var classified = _map.Classify(record);
            local += (int)classified.Direction;
        }

        return local;
    }
}
