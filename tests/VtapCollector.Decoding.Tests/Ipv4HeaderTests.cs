namespace VtapCollector.Decoding.Tests;

public class Ipv4HeaderTests
{
    /// <summary>IPv4 UDP 192.0.2.1 -> 198.51.100.7, total length 28 (header + 8-byte UDP).</summary>
    private const string UdpPacketHex =
        "45" +          // version 4, IHL 5
        "00" +          // DSCP/ECN
        "00 1c" +       // total length 28
        "be ef" +       // identification 0xbeef
        "00 00" +       // no flags, offset 0
        "40" +          // TTL 64
        "11" +          // protocol UDP
        "00 00" +       // checksum
        "c0 00 02 01" + // source 192.0.2.1
        "c6 33 64 07" + // destination 198.51.100.7
        "00 07 00 09 00 08 00 00"; // UDP 7 -> 9, length 8

    [Fact]
    public void TryRead_SimpleHeader_ReturnsAddressesProtocolAndLengths()
    {
        var status = Ipv4Header.TryRead(Hex.Parse(UdpPacketHex), out var ip);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(IpAddress.Parse("192.0.2.1"), ip.Source);
        Assert.Equal(IpAddress.Parse("198.51.100.7"), ip.Destination);
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.Equal(20, ip.HeaderLength);
        Assert.Equal(28u, ip.TotalLength);
        Assert.Equal(28, ip.CapturedEnd);
        Assert.Equal(0xbeef, ip.Identification);
        Assert.Equal(PacketFlags.None, ip.Flags);
        Assert.False(ip.MoreFragments);
        Assert.Equal(0, ip.FragmentOffset);
    }

    [Fact]
    public void TryRead_Ihl6WithRouterAlertOption_HeaderLengthIs24()
    {
        var packet = Hex.Parse(
            "46" +          // version 4, IHL 6 (24 bytes)
            "00" +          // DSCP/ECN
            "00 20" +       // total length 32
            "00 01" +       // identification
            "00 00" +       // flags/offset
            "01" +          // TTL 1
            "02" +          // protocol IGMP
            "00 00" +       // checksum
            "0a 00 00 01" + // source 10.0.0.1
            "e0 00 00 16" + // destination 224.0.0.22
            "94 04 00 00" + // option: Router Alert (RFC 2113)
            "22 00 00 00 00 00 00 00"); // IGMPv3 report (truncated body)

        Assert.Equal(DecodeStatus.Ok, Ipv4Header.TryRead(packet, out var ip));
        Assert.Equal(24, ip.HeaderLength);
        Assert.Equal(2, ip.Protocol);
        Assert.Equal(32u, ip.TotalLength);
    }

    [Fact]
    public void TryRead_Ihl15_HeaderLengthIs60()
    {
        var packet = FrameBuilder.Ipv4(IpProtocol.Udp, FrameBuilder.Udp(1, 2, []), options: new byte[40]);

        Assert.Equal(DecodeStatus.Ok, Ipv4Header.TryRead(packet, out var ip));
        Assert.Equal(60, ip.HeaderLength);
        Assert.Equal(68u, ip.TotalLength);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(19)]
    public void TryRead_ShorterThanTwentyBytes_ReturnsIpv4Truncated(int length)
    {
        Assert.Equal(DecodeStatus.Ipv4Truncated, Ipv4Header.TryRead(Hex.Parse(UdpPacketHex).AsSpan(0, length), out _));
    }

    [Fact]
    public void TryRead_OptionsCutShort_ReturnsIpv4Truncated()
    {
        var packet = FrameBuilder.Ipv4(IpProtocol.Udp, [], options: new byte[8])[..24];

        Assert.Equal(DecodeStatus.Ipv4Truncated, Ipv4Header.TryRead(packet, out _));
    }

    [Theory]
    [InlineData(0x65)] // version 6
    [InlineData(0x05)] // version 0
    [InlineData(0xf5)] // version 15
    public void TryRead_VersionNot4_ReturnsIpv4VersionMismatch(byte versionIhl)
    {
        var packet = Hex.Parse(UdpPacketHex);
        packet[0] = versionIhl;

        Assert.Equal(DecodeStatus.Ipv4VersionMismatch, Ipv4Header.TryRead(packet, out _));
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x44)]
    public void TryRead_IhlBelow5_ReturnsIpv4HeaderLengthInvalid(byte versionIhl)
    {
        var packet = Hex.Parse(UdpPacketHex);
        packet[0] = versionIhl;

        Assert.Equal(DecodeStatus.Ipv4HeaderLengthInvalid, Ipv4Header.TryRead(packet, out _));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(19)]
    public void TryRead_TotalLengthBelowHeaderLength_ReturnsIpv4TotalLengthInvalid(int totalLength)
    {
        var packet = FrameBuilder.Ipv4(IpProtocol.Udp, new byte[8], totalLength: totalLength);

        Assert.Equal(DecodeStatus.Ipv4TotalLengthInvalid, Ipv4Header.TryRead(packet, out _));
    }

    [Fact]
    public void TryRead_TotalLengthZero_TakesCapturedLengthAndSetsLengthFromCapture()
    {
        var packet = FrameBuilder.Ipv4(IpProtocol.Tcp, FrameBuilder.Tcp(1, 2, TcpFlagBits.Ack, new byte[3000]), totalLength: 0);

        Assert.Equal(DecodeStatus.Ok, Ipv4Header.TryRead(packet, out var ip));
        Assert.Equal((uint)packet.Length, ip.TotalLength);
        Assert.Equal(packet.Length, ip.CapturedEnd);
        Assert.Equal(PacketFlags.LengthFromCapture, ip.Flags);
    }

    [Fact]
    public void TryRead_TrailingEthernetPadding_CapturedEndStopsAtTotalLength()
    {
        // 46 bytes of IP in the 46-byte minimum Ethernet payload; then 6 bytes a NIC left after it.
        var packet = FrameBuilder.Concat(FrameBuilder.Ipv4(IpProtocol.Udp, FrameBuilder.Udp(1, 2, new byte[18])), new byte[6]);

        Assert.Equal(DecodeStatus.Ok, Ipv4Header.TryRead(packet, out var ip));
        Assert.Equal(46u, ip.TotalLength);
        Assert.Equal(46, ip.CapturedEnd);
        Assert.Equal(PacketFlags.None, ip.Flags);
    }

    [Fact]
    public void TryRead_CopyCutBeforeTotalLength_SetsTruncatedCopyAndKeepsTotalLength()
    {
        var packet = FrameBuilder.Ipv4(IpProtocol.Udp, FrameBuilder.Udp(1, 2, new byte[50]), totalLength: 1500)[..78];

        Assert.Equal(DecodeStatus.Ok, Ipv4Header.TryRead(packet, out var ip));
        Assert.Equal(1500u, ip.TotalLength);
        Assert.Equal(78, ip.CapturedEnd);
        Assert.Equal(PacketFlags.TruncatedCopy, ip.Flags);
    }

    [Fact]
    public void TryRead_FirstFragment_SetsMoreFragmentsAndFragmentFlag()
    {
        var packet = FrameBuilder.Ipv4(IpProtocol.Udp, new byte[16], identification: 0x4242, moreFragments: true);

        Assert.Equal(DecodeStatus.Ok, Ipv4Header.TryRead(packet, out var ip));
        Assert.True(ip.MoreFragments);
        Assert.Equal(0, ip.FragmentOffset);
        Assert.Equal(0x4242, ip.Identification);
        Assert.Equal(PacketFlags.Fragment, ip.Flags);
    }

    [Fact]
    public void TryRead_LastFragment_ReturnsOffsetInEightByteUnits()
    {
        var packet = Hex.Parse(
            "45 00 00 1c" + // version 4, IHL 5, total length 28
            "42 42" +       // identification 0x4242
            "00 b9" +       // flags: none (last fragment); offset 185 (1480 bytes)
            "40 11 00 00" + // TTL 64, UDP, checksum
            "0a 00 00 01" + // source
            "0a 00 00 02" + // destination
            "00 00 00 00 00 00 00 00"); // fragment data

        Assert.Equal(DecodeStatus.Ok, Ipv4Header.TryRead(packet, out var ip));
        Assert.False(ip.MoreFragments);
        Assert.Equal(185, ip.FragmentOffset);
        Assert.Equal(PacketFlags.Fragment, ip.Flags);
    }

    [Fact]
    public void TryRead_DontFragmentOnly_IsNotAFragment()
    {
        var packet = Hex.Parse(UdpPacketHex);
        packet[6] = 0x40; // DF

        Assert.Equal(DecodeStatus.Ok, Ipv4Header.TryRead(packet, out var ip));
        Assert.Equal(PacketFlags.None, ip.Flags);
    }
}
