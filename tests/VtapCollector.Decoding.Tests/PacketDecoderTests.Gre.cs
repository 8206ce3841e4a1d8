using static VtapCollector.Decoding.Tests.FrameBuilder;

namespace VtapCollector.Decoding.Tests;

/// <summary>GRE, ERSPAN types I-III and Ethernet bridged over GRE.</summary>
public partial class PacketDecoderTests
{
    private static readonly PacketDecoder GreOff = new(new DecoderOptions { Gre = false });

    [Fact]
    public void Decode_ErspanIIFixture_ReturnsSessionIdVlanAndInnerTuple()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, Fixtures.ErspanIITcp, out var p));

        Assert.Equal(TunnelKind.Erspan, p.Tunnel);
        Assert.Equal(1, p.TunnelDepth);
        Assert.Equal(666u, p.Vni);
        Assert.Equal(100, p.Vlan);
        Assert.Equal(4, p.TunnelIpVersion);
        Assert.Equal(Ip("192.0.2.1"), p.TunnelSource);
        Assert.Equal(Ip("192.0.2.2"), p.TunnelDestination);
        Assert.Equal(Ip("10.1.0.1"), p.Source);
        Assert.Equal(Ip("10.1.0.2"), p.Destination);
        Assert.Equal(IpProtocol.Tcp, p.Protocol);
        Assert.Equal(33000, p.SourcePort);
        Assert.Equal(22, p.DestinationPort);
        Assert.Equal(TcpFlagBits.Psh | TcpFlagBits.Ack, p.TcpFlags);
        Assert.Equal(40u, p.IpBytes);
        Assert.Equal(PacketFlags.None, p.Flags);
    }

    [Fact]
    public void Decode_ErspanIIIFixtureWithSubheader_ReadsInnerTaggedUdpOverIpv6()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, Fixtures.ErspanIIIUdp, out var p));

        Assert.Equal(TunnelKind.Erspan, p.Tunnel);
        Assert.Equal(1023u, p.Vni);
        Assert.Equal(7, p.Vlan);
        Assert.Equal(6, p.TunnelIpVersion);
        Assert.Equal(Ip("2001:db8::1"), p.TunnelSource);
        Assert.Equal(Ip("10.2.0.1"), p.Source);
        Assert.Equal(5353, p.SourcePort);
        Assert.Equal(53, p.DestinationPort);
        Assert.Equal(32u, p.IpBytes);
    }

    [Fact]
    public void Decode_GreBridgedFixture_PutsKeyInVni()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, Fixtures.GreBridgedIcmp, out var p));

        Assert.Equal(TunnelKind.Gre, p.Tunnel);
        Assert.Equal(0x01020304u, p.Vni);
        Assert.Equal(Ip("198.51.100.1"), p.TunnelSource);
        Assert.Equal(Ip("10.3.0.1"), p.Source);
        Assert.True(p.IsIcmp);
        Assert.Equal(8, p.SourcePort);
        Assert.Equal(34u, p.IpBytes);
    }

    [Fact]
    public void Decode_GreBridgedWithoutKey_HasVniZero()
    {
        var frame = OverGre4(Gre(EtherTypes.TransparentEthernetBridging, InnerTcp()));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(TunnelKind.Gre, p.Tunnel);
        Assert.Equal(0u, p.Vni);
        Assert.Equal(443, p.DestinationPort);
    }

    [Fact]
    public void Decode_ErspanTypeI_DecapsulatesWithSessionZero()
    {
        // Type I: protocol 0x88BE without a sequence number, the mirrored frame right after GRE.
        var frame = OverGre4(Gre(EtherTypes.ErspanII, InnerTcp("10.4.0.1", "10.4.0.2", 1, 2)));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(TunnelKind.Erspan, p.Tunnel);
        Assert.Equal(0u, p.Vni);
        Assert.Equal(Ip("10.4.0.1"), p.Source);
        Assert.Equal(2, p.DestinationPort);
    }

    [Fact]
    public void Decode_ErspanInnerTag_WinsOverErspanVlan()
    {
        var tagged = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, [])), (EtherTypes.Vlan, 300));
        var frame = OverGre4(Gre(EtherTypes.ErspanII, ErspanII(5, tagged, vlan: 200), sequence: 1));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(300, p.Vlan);
    }

    [Fact]
    public void Decode_ErspanTruncatedBit_SetsTruncatedCopy()
    {
        // A whole inner packet under the T bit: the switch says it cut the frame (for example the
        // Ethernet FCS or padding), and the record should say so as for a cut VXLAN copy.
        var frame = OverGre4(Gre(EtherTypes.ErspanII, ErspanII(5, InnerTcp(), truncated: true), sequence: 1));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.True(p.Flags.HasFlag(PacketFlags.TruncatedCopy));
        Assert.Equal(443, p.DestinationPort);
    }

    [Fact]
    public void Decode_ErspanIIIFrameTypeIp_DecodesWithoutEthernet()
    {
        var inner = Ipv6(IpProtocol.Udp, Udp(7, 8, [1, 2]), "fd00::1", "fd00::2");
        var frame = OverGre4(Gre(EtherTypes.ErspanIII, ErspanIII(9, inner, vlan: 12, frameType: 2), sequence: 1));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(TunnelKind.Erspan, p.Tunnel);
        Assert.Equal(9u, p.Vni);
        Assert.Equal(12, p.Vlan);
        Assert.Equal(6, p.IpVersion);
        Assert.Equal(Ip("fd00::1"), p.Source);
        Assert.Equal(8, p.DestinationPort);
    }

    [Fact]
    public void Decode_ErspanInnerArp_ReturnsArp()
    {
        var frame = OverGre4(Gre(EtherTypes.ErspanII, ErspanII(1, Ethernet(EtherTypes.Arp, ArpPayload)), sequence: 1));

        Assert.Equal(DecodeStatus.Arp, _decoder.Decode(LinkType.Ethernet, frame, out _));
    }

    [Theory]
    [InlineData("00 01 88 be", DecodeStatus.GreVersionUnsupported)]
    [InlineData("40 00 88 be 00 00 00 00", DecodeStatus.GreFlagsInvalid)]
    [InlineData("10 00 88 be 00 00 00 01 20 00 00 01 00 00 00 00", DecodeStatus.ErspanVersionUnsupported)]
    [InlineData("10 00 22 eb 00 00 00 01 20 00 00 01 00 00 00 00 00 00 1c 00", DecodeStatus.ErspanFrameTypeUnsupported)]
    [InlineData("10 00 88 be 00 00 00 01 10 00 00", DecodeStatus.ErspanTruncated)]
    [InlineData("20 00 65 58 00 00", DecodeStatus.GreTruncated)]
    public void Decode_MalformedMirrorGre_ReturnsNamedReason(string greHex, DecodeStatus expected)
    {
        Assert.Equal(expected, _decoder.Decode(LinkType.Ethernet, OverGre4(Hex.Parse(greHex)), out _));
    }

    [Theory]
    [InlineData("00 00 08 00")] // IPv4 over GRE
    [InlineData("30 01 88 0b 00 00 00 00 00 00 00 01")] // PPTP's enhanced GRE (version 1)
    [InlineData("40 00 08 00 00 00 00 00")] // RFC 1701 routing: not a mirror, so not validated
    public void Decode_GreNotCarryingMirroredFrames_IsAFlowOfProtocol47(string greHex)
    {
        var frame = OverGre4(Concat(Hex.Parse(greHex), Ipv4(IpProtocol.Udp, Udp(1, 2, []))));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(IpProtocol.Gre, p.Protocol);
        Assert.Equal(0, p.SourcePort);
        Assert.Equal(TunnelKind.None, p.Tunnel);
        Assert.Equal(Ip("192.0.2.1"), p.Source);
    }

    [Theory]
    [InlineData("10 00 88 be 00 00 00 01")] // ERSPAN type II
    [InlineData("10 00 22 eb 00 00 00 01")] // ERSPAN type III
    [InlineData("00 00 88 be")]             // ERSPAN type I
    [InlineData("20 00 65 58 00 00 00 2a")] // transparent Ethernet bridging with a key
    public void Decode_GreOptionOff_ReturnsGreUnsupported(string greHex)
    {
        var frame = EthIpv4(IpProtocol.Gre, Concat(Hex.Parse(greHex), new byte[40]));

        Assert.Equal(DecodeStatus.GreUnsupported, GreOff.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(IpProtocol.Gre, p.Protocol);
    }

    [Fact]
    public void Decode_GreOptionOffShortGre_IsAFlowOfProtocol47()
    {
        Assert.Equal(DecodeStatus.Ok, GreOff.Decode(LinkType.Ethernet, EthIpv4(IpProtocol.Gre, [0, 0]), out var p));
        Assert.Equal(IpProtocol.Gre, p.Protocol);
    }

    [Fact]
    public void Decode_GreOptionOff_StillDecodesVxlan()
    {
        Assert.Equal(DecodeStatus.Ok, GreOff.Decode(LinkType.Ethernet, Fixtures.VxlanTcpSyn, out var p));
        Assert.Equal(TunnelKind.Vxlan, p.Tunnel);
    }

    [Fact]
    public void Decode_ErspanInVxlan_ReportsInnermostTunnel()
    {
        var middle = OverGre4(Gre(EtherTypes.ErspanII, ErspanII(77, InnerTcp()), sequence: 9), "172.16.0.1", "172.16.0.2");

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, VxlanFrame(vni: 1, innerFrame: middle), out var p));
        Assert.Equal(TunnelKind.Erspan, p.Tunnel);
        Assert.Equal(2, p.TunnelDepth);
        Assert.Equal(77u, p.Vni);
        Assert.Equal(Ip("172.16.0.1"), p.TunnelSource);
    }

    [Fact]
    public void Decode_GreBridgedNestedBeyondMaximum_ReturnsTooManyLayers()
    {
        var frame = InnerTcp();
        for (var i = 1; i <= 4; i++)
        {
            // Key 1 is the innermost tunnel, key 4 the outermost.
            frame = OverGre4(Gre(EtherTypes.TransparentEthernetBridging, frame, key: (uint)i));
        }

        Assert.Equal(DecodeStatus.TooManyLayers, _decoder.Decode(LinkType.Ethernet, frame, out _));
        Assert.Equal(DecodeStatus.Ok, new PacketDecoder(new DecoderOptions { MaxTunnelDepth = 4 }).Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(4, p.TunnelDepth);
        Assert.Equal(1u, p.Vni);
    }

    [Fact]
    public void Decode_EveryPrefixOfErspanIIFixture_NamesTheLayerItStopsIn()
    {
        var frame = Fixtures.ErspanIITcp;
        var expected = new (int Below, DecodeStatus Status)[]
        {
            (14, DecodeStatus.EthernetTruncated), // outer Ethernet
            (34, DecodeStatus.Ipv4Truncated),     // outer IPv4
            (42, DecodeStatus.GreTruncated),      // GRE and its sequence number
            (50, DecodeStatus.ErspanTruncated),   // ERSPAN type II
            (64, DecodeStatus.EthernetTruncated), // mirrored Ethernet
            (84, DecodeStatus.Ipv4Truncated),     // inner IPv4
            (104, DecodeStatus.TcpTruncated),     // inner TCP
        };

        for (var length = 0; length < frame.Length; length++)
        {
            var want = expected.First(e => length < e.Below).Status;
            Assert.Equal((length, want), (length, _decoder.Decode(LinkType.Ethernet, frame.AsSpan(0, length), out _)));
        }
    }
}
