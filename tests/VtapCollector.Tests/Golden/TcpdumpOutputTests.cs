namespace VtapCollector.Tests.Golden;

/// <summary>The .out parser, on lines copied from tcpdump's test outputs.</summary>
public class TcpdumpOutputTests
{
    [Fact]
    public void Parse_VxlanWithEthernetHeaders_ReadsInnerIcmpAndFrameLength()
    {
        var packets = TcpdumpOutput.Parse(
        [
            "    1  2013-05-18 20:21:44.837063 36:dc:85:1e:b3:40 > 00:16:3e:08:71:cf, ethertype IPv4 (0x0800), length 148: 192.168.203.1.45149 > 192.168.202.1.4789: VXLAN, flags [I] (0x08), vni 100",
            "00:16:3e:37:f6:04 > 00:30:88:01:00:02, ethertype IPv4 (0x0800), length 98: 192.168.203.3 > 192.168.203.5: ICMP echo request, id 1292, seq 1, length 64",
            "    2  2013-05-18 20:21:44.882198 00:16:3e:08:71:cf > 36:dc:85:1e:b3:40, ethertype IPv4 (0x0800), length 92: 192.168.202.1.42710 > 192.168.203.1.4789: VXLAN, flags [I] (0x08), vni 100",
            "00:30:88:01:00:02 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.168.203.3 tell 192.168.203.5, length 28",
        ]);

        Assert.Equal(2, packets.Count);
        var icmp = packets[0];
        Assert.Equal(1, icmp.Number);
        Assert.Equal("192.168.203.1", icmp.OuterSource);
        Assert.Equal("192.168.202.1", icmp.OuterDestination);
        Assert.Equal("192.168.203.3", icmp.Source);
        Assert.Equal("192.168.203.5", icmp.Destination);
        Assert.Null(icmp.SourcePort);
        Assert.Equal(100u, icmp.Vni);
        Assert.Equal(1, icmp.Protocol);
        Assert.Equal(8, icmp.IcmpType);
        Assert.Equal(84u, icmp.IpLength);
        Assert.False(icmp.IsArp);
        Assert.True(packets[1].IsArp);
    }

    [Fact]
    public void Parse_GeneveVerbose_ReadsHexVniInnerTcpAndIpLength()
    {
        var packets = TcpdumpOutput.Parse(
        [
            "    3  2015-02-01 22:04:33.999279 IP (tos 0x0, ttl 64, id 34822, offset 0, flags [DF], proto UDP (17), length 110)",
            "    20.0.0.2.43443 > 20.0.0.1.6081: [no cksum] Geneve, Flags [none], vni 0xb",
            "\tIP (tos 0x0, ttl 64, id 23057, offset 0, flags [DF], proto TCP (6), length 60)",
            "    30.0.0.2.51225 > 30.0.0.1.22: Flags [S], cksum 0xe437 (correct), seq 397610159, win 14600, options [mss 1460,sackOK,TS val 2876069566 ecr 0,nop,wscale 7], length 0",
        ]);

        var p = Assert.Single(packets);
        Assert.Equal(0xbu, p.Vni);
        Assert.Equal("30.0.0.2", p.Source);
        Assert.Equal(51225, p.SourcePort);
        Assert.Equal(22, p.DestinationPort);
        Assert.Equal(6, p.Protocol);
        Assert.Equal((byte)0x02, p.TcpFlags);
        Assert.Equal(60u, p.IpLength);
        Assert.False(p.LengthPresumed);
    }

    [Fact]
    public void Parse_BigTcpIpv6Inner_TakesRealLength()
    {
        var p = TcpdumpOutput.ParsePacket(1,
            "    1  2025-10-02 15:11:04.542102 IP6 (hlim 64, next-header UDP (17), payload length 0) [real length 80142, presumed BIG TCP] 2604:1380:4091:ce00::d.37059 > 2604:1380:4091:ce00::b.4789: [bad udp cksum 0xc93c -> 0x286f!] VXLAN, flags [I] (0x08), vni 5001\n" +
            "IP6 (flowlabel 0xbf7fd, hlim 64, next-header TCP (6), payload length 0) [real length 80072, presumed BIG TCP] fd00::1.40007 > fd00::2.40607: Flags [P.], cksum 0x32ac (incorrect -> 0xb3b0), seq 936978514:937058514, ack 729791262, win 368, options [nop,nop,TS val 3914226831 ecr 1407220872], length 80000\n");

        Assert.Equal("fd00::1", p.Source);
        Assert.Equal("fd00::2", p.Destination);
        Assert.Equal(40007, p.SourcePort);
        Assert.Equal(5001u, p.Vni);
        Assert.Equal(80072u, p.IpLength);
        Assert.True(p.LengthPresumed);
        Assert.Equal((byte)0x18, p.TcpFlags);
    }

    [Fact]
    public void Parse_Ipv6JumboHopByHop_TakesJumboLengthAndBarePorts()
    {
        var p = TcpdumpOutput.ParsePacket(1,
            "    1  2025-10-06 14:13:27.172200 IP6 (flowlabel 0xa31ee, hlim 64, next-header HBH (0), payload length 0) 2604:1380:4091:ce00::d > 2604:1380:4091:ce00::b: HBH (jumbo: 80040)  41851 > 43913: Flags [P.], cksum 0xc8eb (incorrect -> 0x3146), seq 592820498:592900498, ack 2512896041, win 2128, options [nop,nop,TS val 1186840160 ecr 4237097528], length 80000\n");

        Assert.Equal("2604:1380:4091:ce00::d", p.Source);
        Assert.Equal(41851, p.SourcePort);
        Assert.Equal(43913, p.DestinationPort);
        Assert.Equal(80080u, p.IpLength);
        Assert.False(p.LengthPresumed);
        Assert.Equal(6, p.Protocol);
    }

    [Fact]
    public void Parse_Ipv4PresumedBigTcp_MarksLengthPresumed()
    {
        var p = TcpdumpOutput.ParsePacket(1,
            "    1  2025-10-02 15:05:40.030951 IP (tos 0x0, ttl 64, id 12031, offset 0, flags [DF], proto TCP (6), length 80052 [was 0, presumed BIG TCP])\n" +
            "    10.25.132.13.35871 > 10.25.132.11.36425: Flags [P.], cksum 0x54f2 (incorrect -> 0x199e), seq 4155358606:4155438606, ack 17023525, win 635, length 80000\n");

        Assert.Equal(80052u, p.IpLength);
        Assert.True(p.LengthPresumed);
        Assert.Null(p.Vni);
    }

    [Fact]
    public void Parse_GreErspan_FlagsGre()
    {
        var p = TcpdumpOutput.ParsePacket(1,
            "    1  2011-09-07 18:53:28.139390 IP (tos 0xfc, ttl 251, id 171, offset 0, flags [DF], proto GRE (47), length 108)\n" +
            "    1.1.1.2 > 192.168.255.5: GREv0, Flags [sequence# present], seq 171, length 88\n" +
            "\terspan type2 session 666 cos 6 index 32760: IP (tos 0xc0, ttl 1, id 23540, offset 0, flags [none], proto PIM (103), length 58)\n");

        Assert.True(p.IsGre);
        Assert.Equal(103, p.Protocol);
        Assert.Equal(new TcpdumpErspan(2, 666, null), p.Erspan);
        Assert.Equal("1.1.1.2", p.OuterSource);
        Assert.Equal(58u, p.IpLength);
    }

    [Theory]
    [InlineData("\terspan type1: IP (tos 0x0, ttl 255, id 40771, offset 0, flags [none], proto ICMP (1), length 84)", 1, null, null)]
    [InlineData("\terspan type2 session 101 vlan 865 cos 0 index 43973: ARP, Ethernet (len 6)", 2, 101u, 865)]
    [InlineData("\terspan type2 session 1 isl 101 cos 0 index 540773: IP (tos 0xc0)", 2, 1u, 101)]
    [InlineData("\terspan type3 session 0 bso Good/unknown cos 0 ft Ethernet: IP (tos 0x0)", 3, 0u, null)]
    public void Parse_ErspanHeaderForms_ReadTypeSessionAndVlan(string line, int type, uint? session, int? vlan)
    {
        var p = TcpdumpOutput.ParsePacket(1, "    1  2017-02-11 17:15:19.096226 IP 192.168.1.172 > 192.168.1.249: GREv0, Flags [none], length 76\n" + line + "\n");

        Assert.Equal(new TcpdumpErspan(type, session, vlan), p.Erspan);
    }

    [Theory]
    [InlineData("S", 0x02)]
    [InlineData("S.", 0x12)]
    [InlineData("P.", 0x18)]
    [InlineData("F.", 0x11)]
    [InlineData("R", 0x04)]
    [InlineData("SEW", 0xc2)]
    [InlineData("none", 0x00)]
    public void ParseTcpFlags_Letters_MapToBits(string letters, int expected)
    {
        Assert.Equal((byte)expected, TcpdumpOutput.ParseTcpFlags(letters));
    }

    [Theory]
    [InlineData("192.168.203.1.45149", "192.168.203.1", 45149)]
    [InlineData("192.168.203.3", "192.168.203.3", null)]
    [InlineData("fd00::2.34235", "fd00::2", 34235)]
    [InlineData("2604:1380:4091:ce00::d", "2604:1380:4091:ce00::d", null)]
    [InlineData("41851", null, 41851)]
    public void SplitEndpoint_Forms_AreRecognised(string token, string? address, int? port)
    {
        Assert.Equal((address, port), TcpdumpOutput.SplitEndpoint(token));
    }
}
