using static VtapCollector.Decoding.Tests.FrameBuilder;

namespace VtapCollector.Decoding.Tests;

/// <summary>One frame per <see cref="DecodeStatus"/>: the table proves every status is reachable.</summary>
public partial class PacketDecoderTests
{
    /// <summary>
    /// Statuses the stateless decoder cannot produce by design, with the reason. Kept explicit so
    /// a new status is either given a fixture below or listed here on purpose.
    /// </summary>
    private static readonly Dictionary<DecodeStatus, string> NotProducedByDecoder = new()
    {
        [DecodeStatus.FragmentWithoutFirst] =
            "needs state across packets: the decoder returns Ok with PacketFlags.Fragment for a later fragment and VtapCollector.Flows.FlowTable reports it",
        [DecodeStatus.GreUnsupported] =
            "only with DecoderOptions.Gre false (the table runs the default decoder): Decode_GreOptionOff_ReturnsGreUnsupported proves it",
    };

    public static TheoryData<string, LinkType, byte[], DecodeStatus> StatusTable() => new()
    {
        { "vxlan tcp syn", LinkType.Ethernet, Fixtures.VxlanTcpSyn, DecodeStatus.Ok },
        { "geneve udp", LinkType.Ethernet, Fixtures.GeneveUdp, DecodeStatus.Ok },
        { "ipv6 extension chain", LinkType.Ethernet, Fixtures.Ipv6ExtensionHeadersUdp, DecodeStatus.Ok },
        { "arp", LinkType.Ethernet, Ethernet(EtherTypes.Arp, ArpPayload), DecodeStatus.Arp },
        { "13-byte ethernet", LinkType.Ethernet, new byte[13], DecodeStatus.EthernetTruncated },
        { "vlan tag cut", LinkType.Ethernet, Ethernet(EtherTypes.Vlan, [0x00, 0x64]), DecodeStatus.VlanTruncated },
        { "five vlan tags", LinkType.Ethernet, Ethernet(EtherTypes.Ipv4, [], (0x8100, 1), (0x8100, 2), (0x8100, 3), (0x8100, 4), (0x8100, 5)), DecodeStatus.TooManyVlanTags },
        { "15-byte sll", LinkType.LinuxSll, new byte[15], DecodeStatus.SllTruncated },
        { "19-byte sll2", LinkType.LinuxSll2, new byte[19], DecodeStatus.Sll2Truncated },
        { "3-byte null", LinkType.Null, [2, 0, 0], DecodeStatus.NullHeaderTruncated },
        { "802.11 link type", (LinkType)105, new byte[64], DecodeStatus.UnsupportedLinkType },
        { "lldp", LinkType.Ethernet, Ethernet(0x88cc, new byte[46]), DecodeStatus.UnknownEtherType },
        { "19-byte ipv4", LinkType.Ethernet, Ethernet(EtherTypes.Ipv4, new byte[19]), DecodeStatus.Ipv4Truncated },
        { "ipv6 bytes as ipv4", LinkType.Ethernet, Ethernet(EtherTypes.Ipv4, Ipv6(IpProtocol.Udp, Udp(1, 2, []))), DecodeStatus.Ipv4VersionMismatch },
        { "ipv4 ihl 4", LinkType.Ethernet, Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, []), ihl: 4)), DecodeStatus.Ipv4HeaderLengthInvalid },
        { "ipv4 total length 19", LinkType.Ethernet, Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(1, 2, []), totalLength: 19)), DecodeStatus.Ipv4TotalLengthInvalid },
        { "39-byte ipv6", LinkType.Ethernet, Ethernet(EtherTypes.Ipv6, new byte[39]), DecodeStatus.Ipv6Truncated },
        { "ipv4 bytes as ipv6", LinkType.Ethernet, Ethernet(EtherTypes.Ipv6, Ipv4(IpProtocol.Udp, Udp(1, 2, new byte[20]))), DecodeStatus.Ipv6VersionMismatch },
        { "hop-by-hop cut", LinkType.Ethernet, EthIpv6(IpProtocol.HopByHop, Ipv6Extension(IpProtocol.Udp, units: 1)[..8]), DecodeStatus.Ipv6ExtensionHeaderTruncated },
        { "nine extension headers", LinkType.Ethernet, EthIpv6(IpProtocol.Ipv6DestinationOptions, Concat([.. Enumerable.Repeat(Ipv6Extension(IpProtocol.Ipv6DestinationOptions), 9)])), DecodeStatus.Ipv6TooManyExtensionHeaders },
        { "7-byte udp", LinkType.Ethernet, EthIpv4(IpProtocol.Udp, new byte[7]), DecodeStatus.UdpTruncated },
        { "udp length 5", LinkType.Ethernet, EthIpv4(IpProtocol.Udp, Udp(1, 2, [], length: 5)), DecodeStatus.UdpLengthInvalid },
        { "19-byte tcp", LinkType.Ethernet, EthIpv4(IpProtocol.Tcp, new byte[19]), DecodeStatus.TcpTruncated },
        { "tcp data offset 4", LinkType.Ethernet, EthIpv4(IpProtocol.Tcp, Tcp(1, 2, TcpFlagBits.Syn, dataOffset: 4)), DecodeStatus.TcpHeaderLengthInvalid },
        { "3-byte sctp", LinkType.Ethernet, EthIpv4(IpProtocol.Sctp, [0, 1, 0]), DecodeStatus.SctpTruncated },
        { "1-byte icmp", LinkType.Ethernet, EthIpv4(IpProtocol.Icmp, [8]), DecodeStatus.IcmpTruncated },
        { "1-byte icmpv6", LinkType.Ethernet, EthIpv6(IpProtocol.Icmpv6, [128]), DecodeStatus.Icmpv6Truncated },
        { "7-byte vxlan", LinkType.Ethernet, OverUdp4(4789, new byte[7]), DecodeStatus.VxlanTruncated },
        { "vxlan I flag clear", LinkType.Ethernet, OverUdp4(4789, Vxlan(1, InnerTcp(), flags: 0)), DecodeStatus.VxlanFlagNotSet },
        { "vxlan-gpe on 4790", LinkType.Ethernet, OverUdp4(4790, Vxlan(1, new byte[24], flags: 0x0c)), DecodeStatus.VxlanGpeUnsupported },
        { "7-byte geneve", LinkType.Ethernet, OverUdp4(6081, new byte[7]), DecodeStatus.GeneveTruncated },
        { "geneve version 1", LinkType.Ethernet, OverUdp4(6081, Geneve(1, EtherTypes.Ipv4, [], version: 1)), DecodeStatus.GeneveVersionUnsupported },
        { "geneve options cut", LinkType.Ethernet, OverUdp4(6081, Geneve(1, EtherTypes.Ipv4, [], options: new byte[8])[..12]), DecodeStatus.GeneveOptionsTruncated },
        { "geneve nsh", LinkType.Ethernet, OverUdp4(6081, Geneve(1, 0x894f, new byte[24])), DecodeStatus.GeneveProtocolUnsupported },
        { "erspan ii", LinkType.Ethernet, Fixtures.ErspanIITcp, DecodeStatus.Ok },
        { "erspan iii", LinkType.Ethernet, Fixtures.ErspanIIIUdp, DecodeStatus.Ok },
        { "gre bridged", LinkType.Ethernet, Fixtures.GreBridgedIcmp, DecodeStatus.Ok },
        { "3-byte gre", LinkType.Ethernet, EthIpv4(IpProtocol.Gre, [0x10, 0x00, 0x88]), DecodeStatus.GreTruncated },
        { "gre version 1 erspan", LinkType.Ethernet, OverGre4(Hex.Parse("10 01 88 be 00 00 00 01")), DecodeStatus.GreVersionUnsupported },
        { "gre routing erspan", LinkType.Ethernet, OverGre4(Hex.Parse("50 00 88 be 00 00 00 00 00 00 00 01")), DecodeStatus.GreFlagsInvalid },
        { "7-byte erspan ii", LinkType.Ethernet, OverGre4(Gre(EtherTypes.ErspanII, new byte[7], sequence: 1)), DecodeStatus.ErspanTruncated },
        { "erspan version 3", LinkType.Ethernet, OverGre4(Gre(EtherTypes.ErspanIII, ErspanII(1, InnerTcp(), version: 3), sequence: 1)), DecodeStatus.ErspanVersionUnsupported },
        { "erspan iii frame type 7", LinkType.Ethernet, OverGre4(Gre(EtherTypes.ErspanIII, ErspanIII(1, InnerTcp(), frameType: 7), sequence: 1)), DecodeStatus.ErspanFrameTypeUnsupported },
        { "four nested vxlan", LinkType.Ethernet, NestedVxlan(4), DecodeStatus.TooManyLayers },
    };

    [Theory]
    [MemberData(nameof(StatusTable))]
    public void Decode_StatusTableRow_ReturnsExpectedStatus(string name, LinkType linkType, byte[] frame, DecodeStatus expected)
    {
        var status = _decoder.Decode(linkType, frame, out _);

        Assert.Equal((name, expected), (name, status));
    }

    [Fact]
    public void Decode_StatusTable_ProducesEveryStatus()
    {
        var produced = new HashSet<DecodeStatus>();
        foreach (var row in StatusTable())
        {
            produced.Add(_decoder.Decode((LinkType)row[1], (byte[])row[2], out _));
        }

        var missing = Enumerable.Range(0, (int)DecodeStatus.Count)
            .Select(i => (DecodeStatus)i)
            .Where(s => !produced.Contains(s) && !NotProducedByDecoder.ContainsKey(s))
            .ToList();

        Assert.Empty(missing);
        Assert.DoesNotContain(DecodeStatus.Count, produced);
    }

    [Fact]
    public void Decode_LaterFragment_ReturnsOkNotFragmentWithoutFirst()
    {
        // The decoder has no memory of earlier packets: pairing fragments is the flow table's job.
        var frame = EthIpv4(IpProtocol.Udp, new byte[8]);
        frame[14 + 7] = 0x10; // fragment offset 16

        Assert.Equal(DecodeStatus.Ok, _decoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.True(p.IsLaterFragment);
        Assert.Contains(DecodeStatus.FragmentWithoutFirst, NotProducedByDecoder.Keys);
    }
}
