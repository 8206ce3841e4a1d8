using static VtapCollector.Decoding.Tests.FrameBuilder;

namespace VtapCollector.Decoding.Tests;

public partial class PacketDecoderTests
{
    private readonly PacketDecoder _decoder = new();

    private static IpAddress Ip(string text) => IpAddress.Parse(text);

    // ---------------------------------------------------------------- main fixtures

    [Fact]
    public void Decode_VxlanInnerTcpSyn_ReturnsInnerTupleAndVni()
    {
        var status = _decoder.Decode(LinkType.Ethernet, Fixtures.VxlanTcpSyn, out var p);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(TunnelKind.Vxlan, p.Tunnel);
        Assert.Equal(1, p.TunnelDepth);
        Assert.Equal(12345u, p.Vni);
        Assert.Equal(4, p.TunnelIpVersion);
        Assert.Equal(Ip("192.0.2.1"), p.TunnelSource);
        Assert.Equal(Ip("192.0.2.2"), p.TunnelDestination);
        Assert.Equal(0, p.Vlan);
        Assert.Equal(4, p.IpVersion);
        Assert.Equal(IpProtocol.Tcp, p.Protocol);
        Assert.Equal(Ip("10.0.0.1"), p.Source);
        Assert.Equal(Ip("10.0.0.2"), p.Destination);
        Assert.Equal(49152, p.SourcePort);
        Assert.Equal(80, p.DestinationPort);
        Assert.Equal(TcpFlagBits.Syn, p.TcpFlags);
        Assert.Equal(44u, p.IpBytes);
        Assert.Equal(PacketFlags.None, p.Flags);
        Assert.Equal(0xabcdu, p.FragmentId);
        Assert.False(p.MoreFragments);
        Assert.False(p.IsLaterFragment);
        Assert.False(p.IsIcmp);
    }

    [Fact]
    public void Decode_GeneveWithOption_ReturnsInnerUdpAndVni()
    {
        var status = _decoder.Decode(LinkType.Ethernet, Fixtures.GeneveUdp, out var p);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(TunnelKind.Geneve, p.Tunnel);
        Assert.Equal(1, p.TunnelDepth);
        Assert.Equal(0xabcdefu, p.Vni);
        Assert.Equal(Ip("198.51.100.1"), p.TunnelSource);
        Assert.Equal(Ip("198.51.100.2"), p.TunnelDestination);
        Assert.Equal(IpProtocol.Udp, p.Protocol);
        Assert.Equal(Ip("10.1.1.1"), p.Source);
        Assert.Equal(Ip("10.1.1.2"), p.Destination);
        Assert.Equal(5353, p.SourcePort);
        Assert.Equal(53, p.DestinationPort);
        Assert.Equal(0, p.TcpFlags);
        Assert.Equal(32u, p.IpBytes);
    }

    [Fact]
    public void Decode_Ipv6HopByHopDestinationRoutingChain_ReturnsUdpPorts()
    {
        var status = _decoder.Decode(LinkType.Ethernet, Fixtures.Ipv6ExtensionHeadersUdp, out var p);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(TunnelKind.None, p.Tunnel);
        Assert.Equal(0, p.TunnelDepth);
        Assert.Equal(6, p.IpVersion);
        Assert.Equal(IpProtocol.Udp, p.Protocol);
        Assert.Equal(Ip("2001:db8::1"), p.Source);
        Assert.Equal(Ip("2001:db8::2"), p.Destination);
        Assert.Equal(40000, p.SourcePort);
        Assert.Equal(4500, p.DestinationPort);
        Assert.Equal(92u, p.IpBytes);
    }

    [Fact]
    public void Decode_VlanTaggedTcp_ReturnsVlanPortsAndFlags()
    {
        var status = _decoder.Decode(LinkType.Ethernet, Fixtures.VlanTcp, out var p);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(100, p.Vlan);
        Assert.Equal(443, p.SourcePort);
        Assert.Equal(51000, p.DestinationPort);
        Assert.Equal(TcpFlagBits.Ack | TcpFlagBits.Psh, p.TcpFlags);
        Assert.Equal(48u, p.IpBytes);
    }

    [Fact]
    public void Decode_Ipv6Udp_ReturnsTupleAndLength()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, Fixtures.Ipv6Udp, out var p));
        Assert.Equal(Ip("2001:db8::10"), p.Source);
        Assert.Equal(Ip("2001:db8::20"), p.Destination);
        Assert.Equal(1234, p.SourcePort);
        Assert.Equal(53, p.DestinationPort);
        Assert.Equal(52u, p.IpBytes);
    }

    [Fact]
    public void Decode_AfterAnotherPacket_ResetsEveryField()
    {
        _decoder.Decode(LinkType.Ethernet, Fixtures.VxlanTcpSyn, out _);
        var status = _decoder.Decode(LinkType.Ethernet, Ethernet(EtherTypes.Arp, ArpPayload), out var p);

        Assert.Equal(DecodeStatus.Arp, status);
        Assert.Equal(default, p);
    }

    // ---------------------------------------------------------------- link layers and VLAN tags

    [Theory]
    [InlineData(EtherTypes.Vlan, EtherTypes.Vlan)]
    [InlineData(EtherTypes.QinQ, EtherTypes.Vlan)]
    [InlineData(EtherTypes.QinQLegacy, EtherTypes.Vlan)]
    [InlineData(EtherTypes.QinQ, EtherTypes.QinQ)]
    public void Decode_QinQ_ReportsInnermostVlan(ushort outerTpid, ushort innerTpid)
    {
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, [])), (outerTpid, 0x0fff), (innerTpid, 0x2123));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(0x123, p.Vlan);
        Assert.Equal(2, p.DestinationPort);
    }

    [Fact]
    public void Decode_FiveVlanTags_ReturnsTooManyVlanTags()
    {
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, [])),
            (EtherTypes.QinQ, 1), (EtherTypes.Vlan, 2), (EtherTypes.Vlan, 3), (EtherTypes.Vlan, 4), (EtherTypes.Vlan, 5));

        Assert.Equal(DecodeStatus.TooManyVlanTags, _decoder.Decode(LinkType.Ethernet, frame, out _));
    }

    [Fact]
    public void Decode_MaxVlanTagsOption_IsHonoured()
    {
        var decoder = new PacketDecoder(new DecoderOptions { MaxVlanTags = 1 });
        var oneTag = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, [])), (EtherTypes.Vlan, 9));
        var twoTags = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, [])), (EtherTypes.QinQ, 8), (EtherTypes.Vlan, 9));

        Assert.Equal(DecodeStatus.Ok, decoder.Decode(LinkType.Ethernet, oneTag, out _));
        Assert.Equal(DecodeStatus.TooManyVlanTags, decoder.Decode(LinkType.Ethernet, twoTags, out _));
    }

    [Fact]
    public void Decode_Arp_ReturnsArp()
    {
        Assert.Equal(DecodeStatus.Arp, _decoder.Decode(LinkType.Ethernet, Ethernet(EtherTypes.Arp, ArpPayload), out _));
    }

    [Fact]
    public void Decode_VlanTaggedArp_ReturnsArp()
    {
        Assert.Equal(DecodeStatus.Arp, _decoder.Decode(LinkType.Ethernet, Ethernet(EtherTypes.Arp, ArpPayload, (EtherTypes.Vlan, 5)), out _));
    }

    [Theory]
    [InlineData(0x88cc)] // LLDP
    [InlineData(0x8847)] // MPLS unicast
    [InlineData(0x0005)] // an 802.3 length field
    public void Decode_UnknownEtherType_ReturnsUnknownEtherType(ushort etherType)
    {
        Assert.Equal(DecodeStatus.UnknownEtherType, _decoder.Decode(LinkType.Ethernet, Ethernet(etherType, new byte[46]), out _));
    }

    [Fact]
    public void Decode_SllIpv4_ReturnsTuple()
    {
        var frame = Concat(Sll(EtherTypes.Ipv4), Ipv4(IpProtocol.Tcp, Tcp(1111, 22, TcpFlagBits.Ack)));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.LinuxSll, frame, out var p));
        Assert.Equal(1111, p.SourcePort);
        Assert.Equal(22, p.DestinationPort);
    }

    [Fact]
    public void Decode_Sll2Ipv6_ReturnsTuple()
    {
        var frame = Concat(Sll2(EtherTypes.Ipv6), Ipv6(IpProtocol.Udp, Udp(5000, 5001, [1, 2])));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.LinuxSll2, frame, out var p));
        Assert.Equal(6, p.IpVersion);
        Assert.Equal(5001, p.DestinationPort);
    }

    [Fact]
    public void Decode_Sll2VxlanWithVlanTag_DecodesTunnel()
    {
        var frame = Concat(Sll2(EtherTypes.Vlan), U16(33), U16(EtherTypes.Ipv4),
            Ipv4(IpProtocol.Udp, Udp(50000, 4789, Vxlan(7, InnerTcp()))));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.LinuxSll2, frame, out var p));
        Assert.Equal(7u, p.Vni);
        Assert.Equal(0, p.Vlan); // the inner frame is untagged
    }

    [Theory]
    [InlineData("02 00 00 00", 4)] // AF_INET, little-endian host
    [InlineData("00 00 00 02", 4)] // AF_INET, big-endian host
    [InlineData("0a 00 00 00", 6)] // AF_INET6 Linux (10), little-endian
    [InlineData("18 00 00 00", 6)] // AF_INET6 NetBSD/OpenBSD (24), little-endian
    [InlineData("00 00 00 1c", 6)] // AF_INET6 FreeBSD (28), big-endian
    [InlineData("1e 00 00 00", 6)] // AF_INET6 macOS (30), little-endian
    [InlineData("00 00 00 1e", 6)] // AF_INET6 macOS (30), big-endian
    public void Decode_NullLinkBothByteOrders_ReadsFamily(string familyHex, int version)
    {
        var ip = version == 4 ? Ipv4(IpProtocol.Udp, Udp(7, 8, [])) : Ipv6(IpProtocol.Udp, Udp(7, 8, []));
        var frame = Concat(Hex.Parse(familyHex), ip);

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Null, frame, out var p));
        Assert.Equal(version, p.IpVersion);
        Assert.Equal(8, p.DestinationPort);
    }

    [Fact]
    public void Decode_NullLinkUnknownFamily_ReturnsUnknownEtherType()
    {
        var frame = Concat(Hex.Parse("07 00 00 00"), Ipv4(IpProtocol.Udp, Udp(7, 8, [])));

        Assert.Equal(DecodeStatus.UnknownEtherType, _decoder.Decode(LinkType.Null, frame, out _));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(6)]
    public void Decode_RawLinkType_TakesVersionFromFirstNibble(int version)
    {
        var frame = version == 4 ? Ipv4(IpProtocol.Tcp, Tcp(1, 2, TcpFlagBits.Fin)) : Ipv6(IpProtocol.Tcp, Tcp(1, 2, TcpFlagBits.Fin));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Raw, frame, out var p));
        Assert.Equal(version, p.IpVersion);
        Assert.Equal(TcpFlagBits.Fin, p.TcpFlags);
    }

    [Fact]
    public void Decode_RawLinkTypeOtherVersion_ReturnsUnknownEtherType()
    {
        var frame = Ipv4(IpProtocol.Udp, Udp(1, 2, []), version: 5);

        Assert.Equal(DecodeStatus.UnknownEtherType, _decoder.Decode(LinkType.Raw, frame, out _));
    }

    [Fact]
    public void Decode_RawLinkTypeEmpty_ReturnsIpv4Truncated()
    {
        Assert.Equal(DecodeStatus.Ipv4Truncated, _decoder.Decode(LinkType.Raw, [], out _));
    }

    [Fact]
    public void Decode_LinkTypeIpv4AndIpv6_ReadFixedVersion()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, [])), out _));
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ipv6, Ipv6(IpProtocol.Udp, Udp(1, 2, [])), out _));
        Assert.Equal(DecodeStatus.Ipv4VersionMismatch, _decoder.Decode(LinkType.Ipv4, Ipv6(IpProtocol.Udp, Udp(1, 2, [])), out _));
        Assert.Equal(DecodeStatus.Ipv6VersionMismatch, _decoder.Decode(LinkType.Ipv6, Ipv4(IpProtocol.Udp, Udp(1, 2, new byte[20])), out _));
    }

    [Theory]
    [InlineData((ushort)105)] // IEEE 802.11
    [InlineData((ushort)127)] // radiotap
    [InlineData((ushort)9999)]
    public void Decode_OtherLinkType_ReturnsUnsupportedLinkType(ushort linkType)
    {
        Assert.Equal(DecodeStatus.UnsupportedLinkType, _decoder.Decode((LinkType)linkType, Fixtures.VxlanTcpSyn, out _));
    }

    // ---------------------------------------------------------------- IPv4

    [Fact]
    public void Decode_Ipv4WithOptions_ReadsPortsAfterOptions()
    {
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1812, 1813, [9]), options: Hex.Parse(
            "94 04 00 00" +   // Router Alert
            "01 01 01 00"))); // NOP NOP NOP EOL -> IHL 7

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(1812, p.SourcePort);
        Assert.Equal(1813, p.DestinationPort);
        Assert.Equal(37u, p.IpBytes);
    }

    [Fact]
    public void Decode_Ipv4TotalLengthZero_TakesCapturedLengthAndSetsLengthFromCapture()
    {
        var ip = Ipv4(IpProtocol.Tcp, Tcp(40000, 5201, TcpFlagBits.Ack, new byte[9000]), totalLength: 0);

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, Ethernet(EtherTypes.Ipv4, ip), out var p));
        Assert.Equal((uint)ip.Length, p.IpBytes);
        Assert.Equal(9040u, p.IpBytes);
        Assert.Equal(PacketFlags.LengthFromCapture, p.Flags);
        Assert.Equal(5201, p.DestinationPort);
    }

    [Fact]
    public void Decode_Ipv4InMinimumFrame_TrimsEthernetPadding()
    {
        // A 28-byte IPv4 UDP packet padded to the 60-byte Ethernet minimum (14 + 28 + 18).
        var frame = Concat(Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, []))), new byte[18]);

        Assert.Equal(60, frame.Length);
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(28u, p.IpBytes);
        Assert.Equal(PacketFlags.None, p.Flags);
    }

    [Fact]
    public void Decode_Ipv4Total46FillingSixtyByteFrame_IpBytesIs46()
    {
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, new byte[18])));

        Assert.Equal(60, frame.Length);
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(46u, p.IpBytes);
        Assert.Equal(PacketFlags.None, p.Flags);
    }

    [Fact]
    public void Decode_Ipv4TotalLength46WithPaddingAfter_IpBytesIs46()
    {
        // A 46-byte packet, then 14 bytes of trailer (FCS, a switch's timestamp): only 46 counted.
        var frame = Concat(Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, new byte[18]))), new byte[14]);

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(46u, p.IpBytes);
        Assert.Equal(PacketFlags.None, p.Flags);
    }

    [Fact]
    public void Decode_TruncatedCopy_SetsFlagAndCountsTotalLength()
    {
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Tcp, Tcp(40000, 443, TcpFlagBits.Ack, new byte[1460])))[..96];

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(1500u, p.IpBytes);
        Assert.Equal(PacketFlags.TruncatedCopy, p.Flags);
        Assert.Equal(443, p.DestinationPort);
    }

    [Fact]
    public void Decode_VxlanCopyCutInsideInnerPayload_ReportsInnerTotalLength()
    {
        var inner = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Tcp, Tcp(40000, 443, TcpFlagBits.Ack, new byte[1400])));
        var frame = VxlanFrame(innerFrame: inner)[..200];

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(1440u, p.IpBytes);
        Assert.True(p.Flags.HasFlag(PacketFlags.TruncatedCopy));
    }

    [Fact]
    public void Decode_Ipv4FirstFragment_ReadsPortsAndSetsFragmentFlag()
    {
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(5353, 5353, new byte[100], length: 3000), identification: 0x7777, moreFragments: true));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(5353, p.SourcePort);
        Assert.True(p.MoreFragments);
        Assert.Equal(0, p.FragmentOffset);
        Assert.Equal(0x7777u, p.FragmentId);
        Assert.Equal(PacketFlags.Fragment, p.Flags);
        Assert.False(p.IsLaterFragment);
    }

    [Fact]
    public void Decode_Ipv4LaterFragment_LeavesPortsZero()
    {
        // The payload looks like a UDP header; a later fragment's bytes must not be read as one.
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(9999, 9999, new byte[32]), identification: 0x7777, fragmentOffset: 185));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(0, p.SourcePort);
        Assert.Equal(0, p.DestinationPort);
        Assert.Equal(185, p.FragmentOffset);
        Assert.Equal(0x7777u, p.FragmentId);
        Assert.Equal(PacketFlags.Fragment, p.Flags);
        Assert.True(p.IsLaterFragment);
        Assert.Equal(IpProtocol.Udp, p.Protocol);
    }

    [Fact]
    public void Decode_Ipv4LaterFragmentShorterThanTransportHeader_IsStillOk()
    {
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Tcp, [1, 2, 3], fragmentOffset: 1, moreFragments: true));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(1, p.FragmentOffset);
        Assert.True(p.MoreFragments);
    }

    // ---------------------------------------------------------------- IPv6

    [Fact]
    public void Decode_Ipv6FragmentHeaderFirstFragment_ReadsPorts()
    {
        var frame = EthIpv6(IpProtocol.Ipv6Fragment, Concat(Ipv6Fragment(IpProtocol.Udp, 0, true, 0x01020304), Udp(4000, 4001, new byte[64], length: 4000)));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(IpProtocol.Udp, p.Protocol);
        Assert.Equal(4000, p.SourcePort);
        Assert.Equal(0x01020304u, p.FragmentId);
        Assert.True(p.MoreFragments);
        Assert.Equal(PacketFlags.Fragment, p.Flags);
    }

    [Fact]
    public void Decode_Ipv6FragmentHeaderLaterFragment_LeavesPortsZero()
    {
        var frame = EthIpv6(IpProtocol.Ipv6Fragment, Concat(Ipv6Fragment(IpProtocol.Tcp, 100, false, 9), Tcp(1, 2, TcpFlagBits.Syn)));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(IpProtocol.Tcp, p.Protocol);
        Assert.Equal(0, p.SourcePort);
        Assert.Equal(0, p.TcpFlags);
        Assert.Equal(100, p.FragmentOffset);
        Assert.Equal(9u, p.FragmentId);
    }

    [Fact]
    public void Decode_NineDestinationOptionsHeaders_ReturnsIpv6TooManyExtensionHeaders()
    {
        var chain = new List<byte[]>();
        for (var i = 0; i < 9; i++)
        {
            chain.Add(Ipv6Extension(i < 8 ? IpProtocol.Ipv6DestinationOptions : IpProtocol.Udp));
        }

        chain.Add(Udp(1, 2, []));
        var frame = EthIpv6(IpProtocol.Ipv6DestinationOptions, Concat([.. chain]));

        Assert.Equal(DecodeStatus.Ipv6TooManyExtensionHeaders, _decoder.Decode(LinkType.Ethernet, frame, out _));
        Assert.Equal(DecodeStatus.Ok, new PacketDecoder(new DecoderOptions { MaxIpv6ExtensionHeaders = 9 }).Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(2, p.DestinationPort);
    }

    [Fact]
    public void Decode_Ipv6PayloadLengthZeroWithoutJumbo_TakesCapturedLength()
    {
        // Linux BIG TCP as tcpdump sees it: payload length 0, no Hop-by-Hop header.
        var frame = EthIpv6(IpProtocol.Tcp, Tcp(50000, 5201, TcpFlagBits.Ack | TcpFlagBits.Psh, new byte[100000]), payloadLength: 0);

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(100060u, p.IpBytes);
        Assert.Equal(PacketFlags.LengthFromCapture, p.Flags);
        Assert.Equal(5201, p.DestinationPort);
    }

    [Fact]
    public void Decode_Ipv6PayloadLengthZeroWithJumboOption_TakesJumboLength()
    {
        var tcp = Tcp(50000, 5201, TcpFlagBits.Ack, new byte[100000]);
        var hopByHop = Hex.Parse(
            "06" +          // next header TCP
            "00" +          // header extension length 0
            "c2" +          // Jumbo Payload option (RFC 2675)
            "04" +          // option length 4
            "00 01 86 bc"); // jumbo payload length 100028 = 8 + 20 + 100000
        var frame = EthIpv6(IpProtocol.HopByHop, Concat(hopByHop, tcp), payloadLength: 0);

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(40u + 100028u, p.IpBytes);
        Assert.Equal(PacketFlags.None, p.Flags);
        Assert.Equal(IpProtocol.Tcp, p.Protocol);
        Assert.Equal(5201, p.DestinationPort);
    }

    [Fact]
    public void Decode_Ipv6JumboOptionAfterPadding_IsFound()
    {
        var hopByHop = Hex.Parse(
            "11" +          // next header UDP
            "01" +          // header extension length 1 (16 bytes)
            "00" +          // Pad1
            "01 01 00" +    // PadN, 1 byte
            "c2 04" +       // Jumbo Payload option
            "00 01 00 28" + // jumbo payload length 65576 = 16 + 8 + 65552
            "01 02 00 00"); // PadN, 2 bytes
        var frame = EthIpv6(IpProtocol.HopByHop, Concat(hopByHop, Udp(1, 2, new byte[65552], length: 0)), payloadLength: 0);

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(40u + 65576u, p.IpBytes);
        Assert.Equal(PacketFlags.None, p.Flags);
    }

    [Fact]
    public void Decode_Ipv6AuthenticationHeader_ReadsTransportBehindIt()
    {
        var ah = Hex.Parse(
            "11" +          // next header UDP
            "04" +          // payload length 4 -> 24 bytes
            "00 00" +       // reserved
            "00 00 10 01" + // SPI
            "00 00 00 05" + // sequence
            "00 00 00 00 00 00 00 00 00 00 00 00"); // ICV
        var frame = EthIpv6(IpProtocol.Ah, Concat(ah, Udp(500, 500, new byte[4])));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(IpProtocol.Udp, p.Protocol);
        Assert.Equal(500, p.SourcePort);
        Assert.Equal(500, p.DestinationPort);
    }

    [Fact]
    public void Decode_Ipv4AuthenticationHeader_IsAFlowOfProtocol51()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, EthIpv4(IpProtocol.Ah, new byte[24]), out var p));
        Assert.Equal(IpProtocol.Ah, p.Protocol);
        Assert.Equal(0, p.SourcePort);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(6)]
    public void Decode_Esp_IsAFlowWithoutPorts(int version)
    {
        var esp = Hex.Parse("00 00 20 00" + "00 00 00 01" + "de ad be ef"); // SPI, sequence, encrypted data
        var frame = version == 4 ? EthIpv4(IpProtocol.Esp, esp) : EthIpv6(IpProtocol.Esp, esp);

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(IpProtocol.Esp, p.Protocol);
        Assert.Equal(0, p.SourcePort);
        Assert.Equal(0, p.DestinationPort);
    }

    [Fact]
    public void Decode_IcmpEchoReply_PutsTypeAndCodeInPorts()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, EthIpv4(IpProtocol.Icmp, [0, 0, 0, 0, 0, 1, 0, 1]), out var p));
        Assert.True(p.IsIcmp);
        Assert.Equal(0, p.SourcePort);
        Assert.Equal(0, p.DestinationPort);

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, EthIpv4(IpProtocol.Icmp, [3, 13, 0, 0, 0, 0, 0, 0]), out p));
        Assert.Equal(3, p.SourcePort);
        Assert.Equal(13, p.DestinationPort);
    }

    [Fact]
    public void Decode_Icmpv6NeighborSolicitation_PutsTypeAndCodeInPorts()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, EthIpv6(IpProtocol.Icmpv6, [135, 0, 0, 0, 0, 0, 0, 0]), out var p));
        Assert.True(p.IsIcmp);
        Assert.Equal(135, p.SourcePort);
        Assert.Equal(0, p.DestinationPort);
    }

    [Fact]
    public void Decode_Sctp_ReadsPorts()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, EthIpv4(IpProtocol.Sctp, Hex.Parse("0b 59 96 00 00 00 00 00 00 00 00 00")), out var p));
        Assert.Equal(IpProtocol.Sctp, p.Protocol);
        Assert.Equal(2905, p.SourcePort);
        Assert.Equal(38400, p.DestinationPort);
    }

    // ---------------------------------------------------------------- VXLAN

    [Theory]
    [InlineData((ushort)4789)]
    [InlineData((ushort)8472)]
    public void Decode_VxlanOnDefaultPorts_Decapsulates(ushort port)
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, VxlanFrame(vni: 0xfffffe, port: port), out var p));
        Assert.Equal(TunnelKind.Vxlan, p.Tunnel);
        Assert.Equal(0xfffffeu, p.Vni);
        Assert.Equal(Ip("10.9.0.1"), p.Source);
        Assert.Equal(443, p.DestinationPort);
    }

    [Fact]
    public void Decode_VxlanOnCustomPort_DecapsulatesOnlyConfiguredPorts()
    {
        var decoder = new PacketDecoder(new DecoderOptions { VxlanPorts = [9999] });

        Assert.Equal(DecodeStatus.Ok, decoder.Decode(LinkType.Ethernet, VxlanFrame(vni: 5, port: 9999), out var p));
        Assert.Equal(TunnelKind.Vxlan, p.Tunnel);
        Assert.Equal(5u, p.Vni);
        Assert.Equal(443, p.DestinationPort);

        // 4789 is then ordinary UDP: the outer packet is the flow.
        Assert.Equal(DecodeStatus.Ok, decoder.Decode(LinkType.Ethernet, VxlanFrame(vni: 5, port: 4789), out p));
        Assert.Equal(TunnelKind.None, p.Tunnel);
        Assert.Equal(4789, p.DestinationPort);
        Assert.Equal(Ip("192.0.2.1"), p.Source);
    }

    [Fact]
    public void Decode_VxlanSourcePortOnly_IsNotATunnel()
    {
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(4789, 50000, Vxlan(1, InnerTcp()))));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(TunnelKind.None, p.Tunnel);
        Assert.Equal(50000, p.DestinationPort);
    }

    [Fact]
    public void Decode_VxlanOverIpv6_RecordsIpv6TunnelEndpoints()
    {
        var frame = Ethernet(EtherTypes.Ipv6, Ipv6(IpProtocol.Udp, Udp(50000, 4789, Vxlan(42, InnerTcp())), "2001:db8:1::1", "2001:db8:1::2"));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(6, p.TunnelIpVersion);
        Assert.Equal(Ip("2001:db8:1::1"), p.TunnelSource);
        Assert.Equal(Ip("2001:db8:1::2"), p.TunnelDestination);
        Assert.Equal(4, p.IpVersion);
        Assert.Equal(42u, p.Vni);
    }

    [Fact]
    public void Decode_VxlanInnerVlanTag_ReportsInnerVlanNotOuter()
    {
        var inner = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, [])), (EtherTypes.Vlan, 30));
        var frame = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(50000, 4789, Vxlan(1, inner))), (EtherTypes.Vlan, 7));
        var untaggedInner = Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(50000, 4789, Vxlan(1, InnerTcp()))), (EtherTypes.Vlan, 7));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(30, p.Vlan);
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, untaggedInner, out p));
        Assert.Equal(0, p.Vlan);
    }

    [Fact]
    public void Decode_VxlanInnerArp_ReturnsArp()
    {
        Assert.Equal(DecodeStatus.Arp, _decoder.Decode(LinkType.Ethernet, VxlanFrame(innerFrame: Ethernet(EtherTypes.Arp, ArpPayload)), out var p));
        Assert.Equal(TunnelKind.Vxlan, p.Tunnel);
    }

    [Fact]
    public void Decode_VxlanIFlagClear_ReturnsVxlanFlagNotSet()
    {
        var frame = OverUdp4(4789, Vxlan(1, InnerTcp(), flags: 0x00));

        Assert.Equal(DecodeStatus.VxlanFlagNotSet, _decoder.Decode(LinkType.Ethernet, frame, out _));
    }

    [Fact]
    public void Decode_VxlanGpePFlagOnVxlanPort_ReturnsVxlanGpeUnsupported()
    {
        var frame = OverUdp4(4789, Vxlan(1, new byte[40], flags: 0x0c));

        Assert.Equal(DecodeStatus.VxlanGpeUnsupported, _decoder.Decode(LinkType.Ethernet, frame, out _));
    }

    [Fact]
    public void Decode_Port4790_ReturnsVxlanGpeUnsupported()
    {
        // Even with a header that would parse as plain VXLAN: port 4790 means GPE.
        var frame = OverUdp4(DecoderOptions.VxlanGpeIanaPort, Vxlan(1, InnerTcp()));

        Assert.Equal(DecodeStatus.VxlanGpeUnsupported, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(Ip("192.0.2.1"), p.TunnelSource);
    }

    // ---------------------------------------------------------------- Geneve

    [Fact]
    public void Decode_GeneveCarryingIpv4Directly_DecodesWithoutEthernet()
    {
        // GCP packet mirroring: Geneve protocol type 0x0800, IP right after the header.
        var frame = Ethernet(EtherTypes.Ipv4,
            Ipv4(IpProtocol.Udp, Udp(50000, 6081, Geneve(0x1234, EtherTypes.Ipv4, Ipv4(IpProtocol.Tcp, Tcp(3306, 40000, TcpFlagBits.Ack), "10.128.0.5", "10.128.0.6"), options: new byte[8]))),
            (EtherTypes.Vlan, 7));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(TunnelKind.Geneve, p.Tunnel);
        Assert.Equal(1, p.TunnelDepth);
        Assert.Equal(0x1234u, p.Vni);
        Assert.Equal(Ip("10.128.0.5"), p.Source);
        Assert.Equal(3306, p.SourcePort);
        Assert.Equal(0, p.Vlan); // the outer tag does not belong to the inner packet
    }

    [Fact]
    public void Decode_GeneveCarryingIpv6Directly_DecodesWithoutEthernet()
    {
        var frame = OverUdp4(6081, Geneve(9, EtherTypes.Ipv6, Ipv6(IpProtocol.Udp, Udp(1, 2, []), "fd00::1", "fd00::2")));

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(6, p.IpVersion);
        Assert.Equal(Ip("fd00::1"), p.Source);
        Assert.Equal(9u, p.Vni);
    }

    [Fact]
    public void Decode_GeneveVersion1_ReturnsGeneveVersionUnsupported()
    {
        var frame = OverUdp4(6081, Geneve(9, EtherTypes.TransparentEthernetBridging, InnerTcp(), version: 1));

        Assert.Equal(DecodeStatus.GeneveVersionUnsupported, _decoder.Decode(LinkType.Ethernet, frame, out _));
    }

    [Fact]
    public void Decode_GeneveUnknownProtocol_ReturnsGeneveProtocolUnsupported()
    {
        var frame = OverUdp4(6081, Geneve(9, 0x894f, new byte[24]));

        Assert.Equal(DecodeStatus.GeneveProtocolUnsupported, _decoder.Decode(LinkType.Ethernet, frame, out _));
    }

    [Fact]
    public void Decode_GeneveOnCustomPort_Decapsulates()
    {
        var decoder = new PacketDecoder(new DecoderOptions { GenevePorts = [6082] });

        Assert.Equal(DecodeStatus.Ok, decoder.Decode(LinkType.Ethernet, OverUdp4(6082, Geneve(3, EtherTypes.TransparentEthernetBridging, InnerTcp())), out var p));
        Assert.Equal(TunnelKind.Geneve, p.Tunnel);
        Assert.Equal(3u, p.Vni);
    }

    // ---------------------------------------------------------------- nesting

    [Fact]
    public void Decode_VxlanInVxlan_ReturnsInnerTunnelVniAndEndpoints()
    {
        var middle = OverUdp4(4789, Vxlan(2, InnerTcp()), "172.16.0.1", "172.16.0.2");
        var frame = VxlanFrame(vni: 1, innerFrame: middle);

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(2, p.TunnelDepth);
        Assert.Equal(TunnelKind.Vxlan, p.Tunnel);
        Assert.Equal(2u, p.Vni);
        Assert.Equal(Ip("172.16.0.1"), p.TunnelSource);
        Assert.Equal(Ip("172.16.0.2"), p.TunnelDestination);
        Assert.Equal(Ip("10.9.0.1"), p.Source);
        Assert.Equal(443, p.DestinationPort);
    }

    [Fact]
    public void Decode_GeneveInVxlan_ReportsInnermostTunnelKind()
    {
        var middle = OverUdp4(6081, Geneve(77, EtherTypes.TransparentEthernetBridging, InnerTcp()), "172.16.0.1", "172.16.0.2");

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, VxlanFrame(vni: 1, innerFrame: middle), out var p));
        Assert.Equal(TunnelKind.Geneve, p.Tunnel);
        Assert.Equal(2, p.TunnelDepth);
        Assert.Equal(77u, p.Vni);
    }

    private static byte[] NestedVxlan(int depth)
    {
        var frame = InnerTcp();
        for (var i = depth; i >= 1; i--)
        {
            frame = OverUdp4(4789, Vxlan((uint)i, frame), $"172.16.{i}.1", $"172.16.{i}.2");
        }

        return frame;
    }

    [Fact]
    public void Decode_DepthAtMaximum_ReturnsOk()
    {
        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, NestedVxlan(3), out var p));
        Assert.Equal(3, p.TunnelDepth);
        Assert.Equal(3u, p.Vni);
        Assert.Equal(Ip("172.16.3.1"), p.TunnelSource);
    }

    [Fact]
    public void Decode_DepthAboveMaximum_ReturnsTooManyLayers()
    {
        Assert.Equal(DecodeStatus.TooManyLayers, _decoder.Decode(LinkType.Ethernet, NestedVxlan(4), out _));
        Assert.Equal(DecodeStatus.TooManyLayers, new PacketDecoder(new DecoderOptions { MaxTunnelDepth = 1 }).Decode(LinkType.Ethernet, NestedVxlan(2), out _));
        Assert.Equal(DecodeStatus.Ok, new PacketDecoder(new DecoderOptions { MaxTunnelDepth = 1 }).Decode(LinkType.Ethernet, NestedVxlan(1), out _));
    }

    // ---------------------------------------------------------------- DecodeTunnelPayload

    [Fact]
    public void DecodeTunnelPayload_Vxlan_UsesSocketAddressesAsTunnelEndpoints()
    {
        var payload = Vxlan(4321, InnerTcp("10.7.0.1", "10.7.0.2", 1000, 2000));

        var status = _decoder.DecodeTunnelPayload(TunnelKind.Vxlan, Ip("192.0.2.50"), Ip("192.0.2.60"), 4, payload, out var p);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(TunnelKind.Vxlan, p.Tunnel);
        Assert.Equal(1, p.TunnelDepth);
        Assert.Equal(4321u, p.Vni);
        Assert.Equal(Ip("192.0.2.50"), p.TunnelSource);
        Assert.Equal(Ip("192.0.2.60"), p.TunnelDestination);
        Assert.Equal(4, p.TunnelIpVersion);
        Assert.Equal(Ip("10.7.0.1"), p.Source);
        Assert.Equal(1000, p.SourcePort);
        Assert.Equal(2000, p.DestinationPort);
    }

    [Fact]
    public void DecodeTunnelPayload_GeneveFixturePayload_DecodesInnerUdp()
    {
        // The Geneve fixture from its Geneve header on: what a UDP socket on 6081 receives.
        var payload = Fixtures.GeneveUdp[42..];

        var status = _decoder.DecodeTunnelPayload(TunnelKind.Geneve, Ip("2001:db8::a"), Ip("2001:db8::b"), 6, payload, out var p);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(TunnelKind.Geneve, p.Tunnel);
        Assert.Equal(0xabcdefu, p.Vni);
        Assert.Equal(6, p.TunnelIpVersion);
        Assert.Equal(Ip("2001:db8::a"), p.TunnelSource);
        Assert.Equal(5353, p.SourcePort);
        Assert.Equal(53, p.DestinationPort);
    }

    [Fact]
    public void DecodeTunnelPayload_VxlanTruncated_ReturnsVxlanTruncated()
    {
        Assert.Equal(DecodeStatus.VxlanTruncated, _decoder.DecodeTunnelPayload(TunnelKind.Vxlan, default, default, 4, new byte[7], out _));
    }

    [Fact]
    public void DecodeTunnelPayload_KindNone_ReturnsUnknownEtherType()
    {
        Assert.Equal(DecodeStatus.UnknownEtherType, _decoder.DecodeTunnelPayload(TunnelKind.None, default, default, 4, Vxlan(1, InnerTcp()), out _));
    }

    [Fact]
    public void DecodeTunnelPayload_NestedVxlan_CountsBothLayers()
    {
        var payload = Vxlan(1, NestedVxlan(1));

        Assert.Equal(DecodeStatus.Ok, _decoder.DecodeTunnelPayload(TunnelKind.Vxlan, Ip("192.0.2.1"), Ip("192.0.2.2"), 4, payload, out var p));
        Assert.Equal(2, p.TunnelDepth);
        Assert.Equal(Ip("172.16.1.1"), p.TunnelSource);
    }
}
