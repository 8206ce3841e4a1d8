using System.Buffers.Binary;

namespace VtapCollector.Benchmarks;

/// <summary>
/// A deterministic, realistic mirror corpus: VXLAN over IPv4 from a handful of TAP sources, inner
/// frames with and without 802.1Q tags, IPv4 and IPv6, TCP (with handshakes), UDP and ICMP, and
/// IMIX sizes (simple IMIX 7:4:1 of 64/594/1518-byte frames, plus a spread between). All frames
/// live in one array: the benchmark loop touches memory the way a receive ring would.
/// </summary>
public sealed class ImixCorpus
{
    private const int OuterLength = 14 + 20 + 8 + 8;

    private ImixCorpus(byte[] data, int[] offsets, int[] lengths, long[] timestamps)
    {
        Data = data;
        Offsets = offsets;
        Lengths = lengths;
        Timestamps = timestamps;
    }

    public byte[] Data { get; }
    public int[] Offsets { get; }
    public int[] Lengths { get; }

    /// <summary>Packet times, ns since the Unix epoch: 1 microsecond apart.</summary>
    public long[] Timestamps { get; }

    public int Count => Offsets.Length;

    public ReadOnlySpan<byte> Frame(int index) => Data.AsSpan(Offsets[index], Lengths[index]);

    /// <summary>Builds <paramref name="packets"/> frames over <paramref name="flows"/> concurrent flows.</summary>
    public static ImixCorpus Build(int packets, int flows, int seed = 42)
    {
        var generator = new Generator(flows, seed);
        var offsets = new int[packets];
        var lengths = new int[packets];
        var timestamps = new long[packets];
        var data = new byte[(long)packets * 700];
        var position = 0;
        for (var i = 0; i < packets; i++)
        {
            if (data.Length - position < MaxFrameLength)
            {
                Array.Resize(ref data, data.Length + (data.Length / 2));
            }

            lengths[i] = generator.Next(data.AsSpan(position), out timestamps[i]);
            offsets[i] = position;
            position += lengths[i];
        }

        return new ImixCorpus(data, offsets, lengths, timestamps);
    }

    /// <summary>Largest frame the generator writes.</summary>
    public const int MaxFrameLength = OuterLength + 18 + 1500;

    /// <summary>Produces the corpus one frame at a time, for corpora larger than memory allows.</summary>
    public sealed class Generator
    {
        private readonly Random _random;
        private readonly FlowSpec[] _flows;
        private readonly int[] _packetsPerFlow;
        private readonly long _start = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;
        private long _index;

        public Generator(int flows, int seed = 42)
        {
            _random = new Random(seed);
            _flows = new FlowSpec[flows];
            _packetsPerFlow = new int[flows];
            for (var i = 0; i < flows; i++)
            {
                _flows[i] = FlowSpec.Create(_random, i);
            }
        }

        /// <summary>Writes the next frame; packets are 1 microsecond apart.</summary>
        public int Next(Span<byte> frame, out long timestampNanos)
        {
            // The first packets open every flow once; after that, flows are picked at random so the
            // table's working set is the whole population, as on a busy collector.
            var flowIndex = _index < _flows.Length ? (int)_index : _random.Next(_flows.Length);
            var ordinal = _packetsPerFlow[flowIndex]++;
            timestampNanos = _start + (_index * 1000L);
            _index++;
            return _flows[flowIndex].Write(frame, ImixInnerIpLength(_random), ordinal, _random);
        }
    }

    private static int ImixInnerIpLength(Random random)
    {
        var pick = random.Next(16);
        return pick switch
        {
            < 7 => 46,      // 64-byte frames: ACKs, DNS-sized
            < 11 => 576,    // 594-byte frames
            < 12 => 1500,   // full-size frames
            _ => 60 + random.Next(1400),
        };
    }

    private readonly struct FlowSpec
    {
        private readonly uint _vni;
        private readonly byte _version;
        private readonly byte _protocol;
        private readonly ushort _vlan;
        private readonly uint _client4;
        private readonly uint _server4;
        private readonly ulong _clientLo6;
        private readonly ulong _serverLo6;
        private readonly ushort _clientPort;
        private readonly ushort _serverPort;
        private readonly uint _tapSource;

        private FlowSpec(uint vni, byte version, byte protocol, ushort vlan, uint client4, uint server4, ulong clientLo6, ulong serverLo6, ushort clientPort, ushort serverPort, uint tapSource)
        {
            _vni = vni;
            _version = version;
            _protocol = protocol;
            _vlan = vlan;
            _client4 = client4;
            _server4 = server4;
            _clientLo6 = clientLo6;
            _serverLo6 = serverLo6;
            _clientPort = clientPort;
            _serverPort = serverPort;
            _tapSource = tapSource;
        }

        public static FlowSpec Create(Random random, int index)
        {
            var protocolPick = random.Next(20);
            byte protocol = protocolPick < 14 ? (byte)6 : protocolPick < 19 ? (byte)17 : (byte)1;
            var version = random.Next(5) == 0 ? (byte)6 : (byte)4;
            return new FlowSpec(
                vni: (uint)(100 + random.Next(16)),
                version: version,
                protocol: version == 6 && protocol == 1 ? (byte)58 : protocol,
                vlan: random.Next(4) == 0 ? (ushort)(10 + random.Next(100)) : (ushort)0,
                client4: 0x0A000000u | (uint)random.Next(1 << 20),
                server4: 0x0A800000u | (uint)random.Next(1 << 16),
                clientLo6: (ulong)index + 1,
                serverLo6: 0x1000_0000UL | (ulong)random.Next(1 << 16),
                clientPort: (ushort)(1024 + random.Next(60000)),
                serverPort: (ushort)(random.Next(3) == 0 ? 443 : random.Next(1, 1024)),
                tapSource: 0xC0A80000u | (uint)(1 + random.Next(8)));
        }

        public int Write(Span<byte> frame, int innerIpLength, int ordinal, Random random)
        {
            var fromClient = ordinal == 0 || random.Next(2) == 0;
            var innerEthernet = _vlan != 0 ? 18 : 14;
            if (_version == 6)
            {
                innerIpLength = Math.Max(innerIpLength, 40 + 20);
            }

            var udpLength = 8 + 8 + innerEthernet + innerIpLength;
            WriteOuter(frame, udpLength);
            var inner = frame[OuterLength..];
            inner[..12].Fill(0x02);
            if (_vlan != 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(inner[12..], 0x8100);
                BinaryPrimitives.WriteUInt16BigEndian(inner[14..], _vlan);
            }

            BinaryPrimitives.WriteUInt16BigEndian(inner[(innerEthernet - 2)..], _version == 4 ? (ushort)0x0800 : (ushort)0x86DD);
            var ip = inner[innerEthernet..];
            int ipHeader;
            if (_version == 4)
            {
                ipHeader = 20;
                ip[0] = 0x45;
                ip[1] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)innerIpLength);
                BinaryPrimitives.WriteUInt32BigEndian(ip[4..], 0x4000);
                ip[8] = 64;
                ip[9] = _protocol;
                ip[10] = 0;
                ip[11] = 0;
                BinaryPrimitives.WriteUInt32BigEndian(ip[12..], fromClient ? _client4 : _server4);
                BinaryPrimitives.WriteUInt32BigEndian(ip[16..], fromClient ? _server4 : _client4);
            }
            else
            {
                ipHeader = 40;
                BinaryPrimitives.WriteUInt32BigEndian(ip, 0x6000_0000);
                BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(innerIpLength - 40));
                ip[6] = _protocol;
                ip[7] = 64;
                WriteV6(ip[8..], fromClient ? _clientLo6 : _serverLo6);
                WriteV6(ip[24..], fromClient ? _serverLo6 : _clientLo6);
            }

            var l4 = ip[ipHeader..innerIpLength];
            l4.Clear();
            var sourcePort = fromClient ? _clientPort : _serverPort;
            var destinationPort = fromClient ? _serverPort : _clientPort;
            switch (_protocol)
            {
                case 6:
                    BinaryPrimitives.WriteUInt16BigEndian(l4, sourcePort);
                    BinaryPrimitives.WriteUInt16BigEndian(l4[2..], destinationPort);
                    l4[12] = 0x50;
                    l4[13] = ordinal switch
                    {
                        0 => 0x02,
                        1 => 0x12,
                        _ => 0x18,
                    };
                    break;
                case 17:
                    BinaryPrimitives.WriteUInt16BigEndian(l4, sourcePort);
                    BinaryPrimitives.WriteUInt16BigEndian(l4[2..], destinationPort);
                    BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)l4.Length);
                    break;
                default:
                    var request = _protocol == 1 ? (byte)8 : (byte)128;
                    var reply = _protocol == 1 ? (byte)0 : (byte)129;
                    l4[0] = fromClient ? request : reply;
                    break;
            }

            return OuterLength + innerEthernet + innerIpLength;
        }

        private void WriteOuter(Span<byte> frame, int udpLength)
        {
            frame[..12].Fill(0x0A);
            BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0800);
            var ip = frame[14..];
            ip[0] = 0x45;
            ip[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + udpLength));
            BinaryPrimitives.WriteUInt32BigEndian(ip[4..], 0);
            ip[8] = 64;
            ip[9] = 17;
            ip[10] = 0;
            ip[11] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(ip[12..], _tapSource);
            BinaryPrimitives.WriteUInt32BigEndian(ip[16..], 0xC0A80064);
            var udp = ip[20..];
            BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)(49152 + (_clientPort & 0x3FFF)));
            BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 4789);
            BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLength);
            BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
            var vxlan = udp[8..];
            vxlan[0] = 0x08;
            vxlan[1] = 0;
            vxlan[2] = 0;
            vxlan[3] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(vxlan[4..], _vni << 8);
        }

        private static void WriteV6(Span<byte> destination, ulong lo)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination, 0xFD00_0000_0000_0000UL);
            BinaryPrimitives.WriteUInt64BigEndian(destination[8..], lo);
        }
    }
}
