using System.Globalization;
using static VtapCollector.Decoding.Tests.FrameBuilder;

namespace VtapCollector.Decoding.Tests;

/// <summary>Cut, random and mutated input: statuses, never exceptions; and no allocation.</summary>
public partial class PacketDecoderTests
{
    /// <summary>Iterations of the random-input test; set <c>VTAP_FUZZ_ITERATIONS</c> for a long run.</summary>
    private const int DefaultFuzzIterations = 200_000;

    private static readonly LinkType[] FuzzLinkTypes =
    [
        LinkType.Ethernet, LinkType.Ethernet, LinkType.Ethernet, LinkType.Raw, LinkType.Ipv4, LinkType.Ipv6,
        LinkType.Null, LinkType.LinuxSll, LinkType.LinuxSll2, (LinkType)105,
    ];

    [Theory]
    [MemberData(nameof(Fixtures.ValidEthernetFixtureNames), MemberType = typeof(Fixtures))]
    public void Decode_EveryPrefixOfValidFixture_IsTruncatedOrTruncatedCopy(string fixture)
    {
        var frame = Fixtures.ByName(fixture);
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var full));
        Assert.Equal(PacketFlags.None, full.Flags);

        for (var length = 0; length < frame.Length; length++)
        {
            var status = _decoder.Decode(LinkType.Ethernet, frame.AsSpan(0, length), out var p);

            var soft = status == DecodeStatus.Ok
                ? p.Flags.HasFlag(PacketFlags.TruncatedCopy)
                : status.ToString().EndsWith("Truncated", StringComparison.Ordinal);
            Assert.True(soft, $"{fixture}[..{length}] returned {status} with flags {p.Flags}");
            if (status == DecodeStatus.Ok)
            {
                // A copy cut after the headers counts the packet by its length field.
                Assert.Equal(full.IpBytes, p.IpBytes);
                Assert.Equal(full.SourcePort, p.SourcePort);
                Assert.Equal(full.DestinationPort, p.DestinationPort);
            }
        }
    }

    [Fact]
    public void Decode_EveryPrefixOfVxlanFixture_NamesTheLayerItStopsIn()
    {
        var frame = Fixtures.VxlanTcpSyn;
        var expected = new (int Below, DecodeStatus Status)[]
        {
            (14, DecodeStatus.EthernetTruncated), // outer Ethernet
            (34, DecodeStatus.Ipv4Truncated),     // outer IPv4
            (42, DecodeStatus.UdpTruncated),      // outer UDP
            (50, DecodeStatus.VxlanTruncated),    // VXLAN
            (64, DecodeStatus.EthernetTruncated), // inner Ethernet
            (84, DecodeStatus.Ipv4Truncated),     // inner IPv4
            (104, DecodeStatus.TcpTruncated),     // inner TCP fixed header
            (108, DecodeStatus.Ok),               // inside the TCP options: a truncated copy
        };

        for (var length = 0; length < frame.Length; length++)
        {
            var want = expected.First(e => length < e.Below).Status;
            Assert.Equal((length, want), (length, _decoder.Decode(LinkType.Ethernet, frame.AsSpan(0, length), out _)));
        }
    }

    [Fact]
    public void Decode_RandomAndMutatedFrames_NeverThrow()
    {
        var iterations = FuzzIterations();
        var seed = int.TryParse(Environment.GetEnvironmentVariable("VTAP_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 20240611;
        var random = new Random(seed);
        var decoders = new[]
        {
            _decoder,
            new PacketDecoder(new DecoderOptions { MaxTunnelDepth = 16, MaxVlanTags = 16, MaxIpv6ExtensionHeaders = 64, VxlanPorts = [4789, 8472, 4790] }),
            new PacketDecoder(new DecoderOptions { MaxTunnelDepth = 1, MaxVlanTags = 0, MaxIpv6ExtensionHeaders = 0 }),
            new PacketDecoder(new DecoderOptions { Gre = false }),
        };
        var seeds = FuzzSeeds();
        var counts = new int[(int)DecodeStatus.Count];
        var buffer = new byte[2048];

        for (var i = 0; i < iterations; i++)
        {
            var length = NextFrame(random, seeds, buffer, out var linkType);
            var decoder = decoders[random.Next(decoders.Length)];
            DecodeStatus status;
            DecodedPacket p;
            try
            {
                status = decoder.Decode(linkType, buffer.AsSpan(0, length), out p);
                if (random.Next(8) == 0)
                {
                    var kind = (TunnelKind)random.Next(5);
                    status = decoder.DecodeTunnelPayload(kind, default, default, 4, buffer.AsSpan(0, length), out p);
                }
            }
            catch (Exception e)
            {
                throw new InvalidOperationException(
                    $"seed {seed}, iteration {i}, link type {linkType}: {e.GetType().Name} on {Hex.Format(buffer.AsSpan(0, length))}", e);
            }

            Assert.InRange((int)status, 0, (int)DecodeStatus.Count - 1);
            counts[(int)status]++;
            if (status == DecodeStatus.Ok)
            {
                AssertConsistent(p);
            }
        }

        // The mutations reach past the outer headers: tunnels decode and fail in several ways.
        if (iterations >= 100_000)
        {
            Assert.True(counts[(int)DecodeStatus.Ok] > iterations / 50, $"only {counts[(int)DecodeStatus.Ok]} Ok");
            Assert.True(counts.Count(c => c > 0) >= 25, $"only {counts.Count(c => c > 0)} distinct statuses");
        }
    }

    private static void AssertConsistent(in DecodedPacket p)
    {
        Assert.True(p.IpVersion is 4 or 6, $"IpVersion {p.IpVersion}");
        Assert.True(p.IpBytes >= (p.IpVersion == 4 ? 20u : 40u), $"IpBytes {p.IpBytes}");
        Assert.Equal(p.Tunnel == TunnelKind.None, p.TunnelDepth == 0);
        Assert.True(p.TunnelDepth <= 16);
        if (p.Tunnel is TunnelKind.Vxlan or TunnelKind.Geneve)
        {
            Assert.True(p.Vni <= 0xFFFFFF);
        }
        else if (p.Tunnel == TunnelKind.Erspan)
        {
            Assert.True(p.Vni <= 0x3FF, $"ERSPAN session {p.Vni}");
        }

        Assert.True(p.Vlan <= 0x0FFF);
        if (p.IsLaterFragment)
        {
            Assert.Equal(0, p.SourcePort);
            Assert.Equal(0, p.DestinationPort);
        }
    }

    private static int FuzzIterations()
    {
        var text = Environment.GetEnvironmentVariable("VTAP_FUZZ_ITERATIONS");
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : DefaultFuzzIterations;
    }

    /// <summary>Valid frames to mutate, by link type.</summary>
    private static (LinkType LinkType, byte[] Frame)[] FuzzSeeds() =>
    [
        (LinkType.Ethernet, Fixtures.VxlanTcpSyn),
        (LinkType.Ethernet, Fixtures.GeneveUdp),
        (LinkType.Ethernet, Fixtures.Ipv6ExtensionHeadersUdp),
        (LinkType.Ethernet, Fixtures.VlanTcp),
        (LinkType.Ethernet, Fixtures.Ipv6Udp),
        (LinkType.Ethernet, NestedVxlan(3)),
        (LinkType.Ethernet, OverUdp4(6081, Geneve(9, EtherTypes.Ipv6, Ipv6(IpProtocol.Ipv6Fragment, Concat(Ipv6Fragment(IpProtocol.Tcp, 0, true, 5), Tcp(1, 2, 2)))))),
        (LinkType.Ethernet, EthIpv6(IpProtocol.HopByHop, Concat(Hex.Parse("06 00 c2 04 00 00 00 1c"), Tcp(1, 2, 0x10)), payloadLength: 0)),
        (LinkType.Ethernet, EthIpv4(IpProtocol.Gre, Concat(Hex.Parse("10 00 88 be 00 00 00 01"), new byte[20]))),
        (LinkType.Ethernet, Fixtures.ErspanIITcp),
        (LinkType.Ethernet, Fixtures.ErspanIIIUdp),
        (LinkType.Ethernet, Fixtures.GreBridgedIcmp),
        (LinkType.Ethernet, OverGre4(Gre(EtherTypes.ErspanII, InnerTcp()))),
        (LinkType.Ethernet, Ethernet(EtherTypes.Arp, ArpPayload, (EtherTypes.QinQ, 3), (EtherTypes.Vlan, 4))),
        (LinkType.LinuxSll, Concat(Sll(EtherTypes.Ipv4), Ipv4(IpProtocol.Udp, Udp(1, 4789, Vxlan(3, InnerTcp()))))),
        (LinkType.LinuxSll2, Concat(Sll2(EtherTypes.Ipv6), Ipv6(IpProtocol.Udp, Udp(1, 6081, Geneve(3, EtherTypes.TransparentEthernetBridging, InnerTcp(), new byte[4]))))),
        (LinkType.Null, Concat([2, 0, 0, 0], Ipv4(IpProtocol.Icmp, [8, 0, 0, 0]))),
        (LinkType.Raw, Ipv6(IpProtocol.Icmpv6, [128, 0, 0, 0])),
        (LinkType.Ipv4, Ipv4(IpProtocol.Sctp, new byte[12], options: new byte[4])),
    ];

    /// <summary>Writes one frame into <paramref name="buffer"/>: random bytes, or a mutated valid frame.</summary>
    private static int NextFrame(Random random, (LinkType LinkType, byte[] Frame)[] seeds, byte[] buffer, out LinkType linkType)
    {
        var mode = random.Next(10);
        if (mode < 2)
        {
            // Pure noise on any link type.
            linkType = FuzzLinkTypes[random.Next(FuzzLinkTypes.Length)];
            var length = random.Next(0, 256);
            random.NextBytes(buffer.AsSpan(0, length));
            return length;
        }

        var (seedLinkType, frame) = seeds[random.Next(seeds.Length)];
        linkType = random.Next(50) == 0 ? FuzzLinkTypes[random.Next(FuzzLinkTypes.Length)] : seedLinkType;
        var size = frame.Length;
        frame.CopyTo(buffer, 0);

        if (mode < 4)
        {
            // A valid prefix followed by noise.
            var keep = random.Next(0, size + 1);
            var total = Math.Min(buffer.Length, keep + random.Next(0, 128));
            random.NextBytes(buffer.AsSpan(keep, total - keep));
            return total;
        }

        var mutations = 1 + random.Next(4);
        for (var m = 0; m < mutations; m++)
        {
            switch (random.Next(5))
            {
                case 0: // flip one bit
                    if (size > 0)
                    {
                        buffer[random.Next(size)] ^= (byte)(1 << random.Next(8));
                    }

                    break;
                case 1: // overwrite one byte, biased to the values length fields like
                    if (size > 0)
                    {
                        buffer[random.Next(size)] = random.Next(3) switch { 0 => 0, 1 => 0xff, _ => (byte)random.Next(256) };
                    }

                    break;
                case 2: // insert bytes
                    if (size < buffer.Length - 8)
                    {
                        var at = random.Next(size + 1);
                        var count = 1 + random.Next(8);
                        Array.Copy(buffer, at, buffer, at + count, size - at);
                        random.NextBytes(buffer.AsSpan(at, count));
                        size += count;
                    }

                    break;
                case 3: // delete bytes
                    if (size > 0)
                    {
                        var at = random.Next(size);
                        var count = Math.Min(size - at, 1 + random.Next(8));
                        Array.Copy(buffer, at + count, buffer, at, size - at - count);
                        size -= count;
                    }

                    break;
                default: // cut
                    size = random.Next(size + 1);
                    break;
            }
        }

        return size;
    }

    [Fact]
    public void Decode_WarmFixtures_AllocatesNothing()
    {
        var frames = new (LinkType LinkType, byte[] Frame)[]
        {
            (LinkType.Ethernet, Fixtures.VxlanTcpSyn),
            (LinkType.Ethernet, Fixtures.GeneveUdp),
            (LinkType.Ethernet, Fixtures.Ipv6ExtensionHeadersUdp),
            (LinkType.Ethernet, Fixtures.VlanTcp),
            (LinkType.Ethernet, NestedVxlan(3)),
            (LinkType.Ethernet, NestedVxlan(4)),
            (LinkType.Ethernet, Fixtures.VxlanTcpSyn[..90]),
            (LinkType.Ethernet, Fixtures.ErspanIITcp),
            (LinkType.Ethernet, Fixtures.ErspanIIIUdp),
            (LinkType.Ethernet, Fixtures.GreBridgedIcmp),
            (LinkType.Ethernet, Fixtures.ErspanIITcp[..70]),
            (LinkType.Ethernet, Ethernet(EtherTypes.Arp, ArpPayload)),
            (LinkType.LinuxSll2, Concat(Sll2(EtherTypes.Ipv6), Ipv6(IpProtocol.Udp, Udp(1, 2, [])))),
            (LinkType.Null, Concat([0, 0, 0, 30], Ipv6(IpProtocol.Icmpv6, [1, 0, 0, 0]))),
            (LinkType.Raw, Ipv4(IpProtocol.Tcp, Tcp(1, 2, 2), totalLength: 0)),
        };
        var geneve = Fixtures.GeneveUdp[42..];
        var decoder = new PacketDecoder();
        long checksum = 0;

        void RunOnce()
        {
            foreach (var (linkType, frame) in frames)
            {
                checksum += (int)decoder.Decode(linkType, frame, out var p) + p.SourcePort;
            }

            checksum += (int)decoder.DecodeTunnelPayload(TunnelKind.Geneve, default, default, 4, geneve, out _);
        }

        for (var i = 0; i < 1_000; i++)
        {
            RunOnce();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100_000; i++)
        {
            RunOnce();
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.NotEqual(0, checksum);
    }
}
