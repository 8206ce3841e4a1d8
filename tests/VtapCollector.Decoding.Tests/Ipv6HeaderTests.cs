namespace VtapCollector.Decoding.Tests;

public class Ipv6HeaderTests
{
    private const int MaxExtensions = 8;

    /// <summary>The IPv6 part (after the 14-byte Ethernet header) of the extension-header fixture.</summary>
    private static byte[] ExtensionChainPacket => Fixtures.Ipv6ExtensionHeadersUdp[14..];

    [Fact]
    public void TryRead_HopByHopDestinationRoutingChain_ReturnsUdpAfterAllHeaders()
    {
        var status = Ipv6Header.TryRead(ExtensionChainPacket, MaxExtensions, out var ip);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.Equal(40 + 8 + 8 + 24, ip.HeaderLength);
        Assert.Equal(92u, ip.TotalLength);
        Assert.Equal(92, ip.CapturedEnd);
        Assert.Equal(IpAddress.Parse("2001:db8::1"), ip.Source);
        Assert.Equal(IpAddress.Parse("2001:db8::2"), ip.Destination);
        Assert.Equal(PacketFlags.None, ip.Flags);
    }

    [Fact]
    public void TryRead_ChainLongerThanLimit_ReturnsIpv6TooManyExtensionHeaders()
    {
        // Three extension headers against a limit of two.
        Assert.Equal(DecodeStatus.Ipv6TooManyExtensionHeaders, Ipv6Header.TryRead(ExtensionChainPacket, 2, out _));
    }

    [Fact]
    public void TryRead_ChainAtLimit_ReturnsOk()
    {
        Assert.Equal(DecodeStatus.Ok, Ipv6Header.TryRead(ExtensionChainPacket, 3, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(39)]
    public void TryRead_ShorterThanFixedHeader_ReturnsIpv6Truncated(int length)
    {
        Assert.Equal(DecodeStatus.Ipv6Truncated, Ipv6Header.TryRead(ExtensionChainPacket.AsSpan(0, length), MaxExtensions, out _));
    }

    [Fact]
    public void TryRead_VersionNot6_ReturnsIpv6VersionMismatch()
    {
        var packet = ExtensionChainPacket;
        packet[0] = 0x45;

        Assert.Equal(DecodeStatus.Ipv6VersionMismatch, Ipv6Header.TryRead(packet, MaxExtensions, out _));
    }

    [Theory]
    [InlineData(44)] // inside the Hop-by-Hop header's first 8 bytes
    [InlineData(60)] // inside the Routing header's first 8 bytes
    [InlineData(70)] // inside the Routing header's segment list
    public void TryRead_ExtensionHeaderCutShort_ReturnsIpv6ExtensionHeaderTruncated(int length)
    {
        Assert.Equal(DecodeStatus.Ipv6ExtensionHeaderTruncated, Ipv6Header.TryRead(ExtensionChainPacket.AsSpan(0, length), MaxExtensions, out _));
    }

    [Fact]
    public void TryRead_ExtensionHeaderLongerThanPayloadLength_ReturnsIpv6ExtensionHeaderTruncated()
    {
        // The Hop-by-Hop header claims 16 bytes, the payload length only allows 8 (captured bytes follow).
        var packet = FrameBuilder.Ipv6(IpProtocol.HopByHop, FrameBuilder.Concat(FrameBuilder.Ipv6Extension(IpProtocol.Udp, units: 1), new byte[16]), payloadLength: 8);

        Assert.Equal(DecodeStatus.Ipv6ExtensionHeaderTruncated, Ipv6Header.TryRead(packet, MaxExtensions, out _));
    }

    [Fact]
    public void TryRead_FirstFragment_ReadsIdAndMoreFlagAndStopsAtUpperLayer()
    {
        var packet = FrameBuilder.Ipv6(IpProtocol.Ipv6Fragment, Hex.Parse(
            "11" +          // next header UDP
            "00" +          // reserved
            "00 01" +       // fragment offset 0, M = 1
            "de ad be ef" + // identification
            "30 39 00 35 00 40 00 00")); // UDP 12345 -> 53, length 64 (of the reassembled datagram)

        Assert.Equal(DecodeStatus.Ok, Ipv6Header.TryRead(packet, MaxExtensions, out var ip));
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.Equal(48, ip.HeaderLength);
        Assert.Equal(0xdeadbeefu, ip.FragmentId);
        Assert.Equal(0, ip.FragmentOffset);
        Assert.True(ip.MoreFragments);
        Assert.Equal(PacketFlags.Fragment, ip.Flags);
    }

    [Fact]
    public void TryRead_LaterFragment_ReturnsOffsetAndStopsAfterFragmentHeader()
    {
        var packet = FrameBuilder.Ipv6(IpProtocol.Ipv6Fragment, FrameBuilder.Concat(
            FrameBuilder.Ipv6Fragment(IpProtocol.Udp, offsetUnits: 181, more: false, identification: 7),
            new byte[24]));

        Assert.Equal(DecodeStatus.Ok, Ipv6Header.TryRead(packet, MaxExtensions, out var ip));
        Assert.Equal(181, ip.FragmentOffset);
        Assert.False(ip.MoreFragments);
        Assert.Equal(7u, ip.FragmentId);
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.Equal(48, ip.HeaderLength);
    }

    [Fact]
    public void TryRead_AuthenticationHeader_SkipsByFourOctetLength()
    {
        var packet = FrameBuilder.Ipv6(IpProtocol.Ah, FrameBuilder.Concat(
            Hex.Parse(
                "06" +            // next header TCP
                "04" +            // payload length 4: (4 + 2) * 4 = 24 bytes
                "00 00" +         // reserved
                "00 00 01 00" +   // SPI
                "00 00 00 01" +   // sequence number
                "00 00 00 00 00 00 00 00 00 00 00 00"), // ICV (12 bytes)
            FrameBuilder.Tcp(22, 50022, TcpFlagBits.Ack)));

        Assert.Equal(DecodeStatus.Ok, Ipv6Header.TryRead(packet, MaxExtensions, out var ip));
        Assert.Equal(IpProtocol.Tcp, ip.Protocol);
        Assert.Equal(40 + 24, ip.HeaderLength);
    }

    [Fact]
    public void TryRead_PayloadLengthZeroWithoutJumboOption_TakesCapturedLength()
    {
        // Linux BIG TCP: payload length 0, no Hop-by-Hop header.
        var packet = FrameBuilder.Ipv6(IpProtocol.Tcp, FrameBuilder.Tcp(1, 2, TcpFlagBits.Ack, new byte[70000 - 60]), payloadLength: 0);

        Assert.Equal(DecodeStatus.Ok, Ipv6Header.TryRead(packet, MaxExtensions, out var ip));
        Assert.Equal(70000u, ip.TotalLength);
        Assert.Equal(PacketFlags.LengthFromCapture, ip.Flags);
    }

    [Fact]
    public void TryRead_PayloadLengthZeroWithJumboOption_TakesJumboLength()
    {
        var tcp = FrameBuilder.Tcp(1, 2, TcpFlagBits.Ack, new byte[70000]);
        var hopByHop = Hex.Parse(
            "06" +           // next header TCP
            "00" +           // header extension length 0 (8 bytes)
            "c2" +           // option type 0xC2 Jumbo Payload (RFC 2675)
            "04" +           // option data length 4
            "00 01 11 90");  // jumbo payload length 70032 = 8 + 20 + 70000 + 4 (more than captured)
        var packet = FrameBuilder.Ipv6(IpProtocol.HopByHop, FrameBuilder.Concat(hopByHop, tcp), payloadLength: 0);

        Assert.Equal(DecodeStatus.Ok, Ipv6Header.TryRead(packet, MaxExtensions, out var ip));
        Assert.Equal(40u + 70032u, ip.TotalLength);
        Assert.Equal(IpProtocol.Tcp, ip.Protocol);
        Assert.Equal(PacketFlags.TruncatedCopy, ip.Flags);
    }

    [Fact]
    public void TryRead_PayloadLengthZeroAndNoNextHeader_IsFortyBytes()
    {
        var packet = FrameBuilder.Concat(FrameBuilder.Ipv6(IpProtocol.Ipv6NoNext, [], payloadLength: 0), new byte[20]);

        Assert.Equal(DecodeStatus.Ok, Ipv6Header.TryRead(packet, MaxExtensions, out var ip));
        Assert.Equal(40u, ip.TotalLength);
        Assert.Equal(40, ip.CapturedEnd);
        Assert.Equal(PacketFlags.None, ip.Flags);
    }

    [Fact]
    public void TryRead_CopyCutShort_SetsTruncatedCopy()
    {
        var packet = FrameBuilder.Ipv6(IpProtocol.Udp, FrameBuilder.Udp(1, 2, new byte[100]))[..60];

        Assert.Equal(DecodeStatus.Ok, Ipv6Header.TryRead(packet, MaxExtensions, out var ip));
        Assert.Equal(148u, ip.TotalLength);
        Assert.Equal(60, ip.CapturedEnd);
        Assert.Equal(PacketFlags.TruncatedCopy, ip.Flags);
    }

    [Fact]
    public void TryRead_TrailingPadding_CapturedEndStopsAtPayloadLength()
    {
        var packet = FrameBuilder.Concat(FrameBuilder.Ipv6(IpProtocol.Udp, FrameBuilder.Udp(1, 2, [])), new byte[4]);

        Assert.Equal(DecodeStatus.Ok, Ipv6Header.TryRead(packet, MaxExtensions, out var ip));
        Assert.Equal(48u, ip.TotalLength);
        Assert.Equal(48, ip.CapturedEnd);
    }
}
