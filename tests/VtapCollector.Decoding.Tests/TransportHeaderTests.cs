namespace VtapCollector.Decoding.Tests;

public class TransportHeaderTests
{
    [Fact]
    public void TryRead_TcpSynAck_ReturnsPortsAndFlags()
    {
        var tcp = Hex.Parse(
            "00 50" +       // source port 80
            "d9 03" +       // destination port 55555
            "00 00 00 10" + // sequence
            "00 00 00 02" + // acknowledgment
            "50" +          // data offset 5
            "12" +          // flags SYN|ACK
            "72 10" +       // window
            "00 00" +       // checksum
            "00 00");       // urgent pointer
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.Ok, TransportHeader.TryRead(IpProtocol.Tcp, tcp, ref packet));
        Assert.Equal(80, packet.SourcePort);
        Assert.Equal(55555, packet.DestinationPort);
        Assert.Equal(TcpFlagBits.Syn | TcpFlagBits.Ack, packet.TcpFlags);
    }

    [Fact]
    public void TryRead_TcpAllFlags_ReturnsFlagsByte()
    {
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.Ok, TransportHeader.TryRead(IpProtocol.Tcp, FrameBuilder.Tcp(1, 2, 0xff), ref packet));
        Assert.Equal(0xff, packet.TcpFlags);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(19)]
    public void TryRead_TcpShorterThanTwentyBytes_ReturnsTcpTruncated(int length)
    {
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.TcpTruncated, TransportHeader.TryRead(IpProtocol.Tcp, FrameBuilder.Tcp(1, 2, 0).AsSpan(0, length), ref packet));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void TryRead_TcpDataOffsetBelow5_ReturnsTcpHeaderLengthInvalid(int dataOffset)
    {
        var tcp = FrameBuilder.Tcp(1, 2, TcpFlagBits.Syn);
        tcp[12] = (byte)(dataOffset << 4);
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.TcpHeaderLengthInvalid, TransportHeader.TryRead(IpProtocol.Tcp, tcp, ref packet));
    }

    [Fact]
    public void TryRead_TcpOptionsBeyondCapture_StillReadsPorts()
    {
        // Data offset 15 (60 bytes) but only the fixed 20 bytes captured: ports are all a flow needs.
        var tcp = FrameBuilder.Tcp(1234, 80, TcpFlagBits.Syn, dataOffset: 15)[..20];
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.Ok, TransportHeader.TryRead(IpProtocol.Tcp, tcp, ref packet));
        Assert.Equal(1234, packet.SourcePort);
    }

    [Fact]
    public void TryRead_Udp_ReturnsPorts()
    {
        var udp = Hex.Parse(
            "00 44" + // source port 68
            "00 43" + // destination port 67
            "00 08" + // length 8
            "00 00"); // checksum
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.Ok, TransportHeader.TryRead(IpProtocol.Udp, udp, ref packet));
        Assert.Equal(68, packet.SourcePort);
        Assert.Equal(67, packet.DestinationPort);
        Assert.Equal(0, packet.TcpFlags);
    }

    [Fact]
    public void TryRead_UdpLengthZero_IsAcceptedAsJumboOrGso()
    {
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.Ok, TransportHeader.TryRead(IpProtocol.Udp, FrameBuilder.Udp(1, 2, [], length: 0), ref packet));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void TryRead_UdpLengthBelow8_ReturnsUdpLengthInvalid(int length)
    {
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.UdpLengthInvalid, TransportHeader.TryRead(IpProtocol.Udp, FrameBuilder.Udp(1, 2, [], length: length), ref packet));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void TryRead_UdpCutShort_ReturnsUdpTruncated(int length)
    {
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.UdpTruncated, TransportHeader.TryRead(IpProtocol.Udp, FrameBuilder.Udp(1, 2, []).AsSpan(0, length), ref packet));
    }

    [Fact]
    public void TryRead_Sctp_ReturnsPorts()
    {
        var sctp = Hex.Parse(
            "0b 59" +       // source port 2905 (M3UA)
            "0b 5a" +       // destination port 2906
            "00 00 00 01" + // verification tag
            "00 00 00 00"); // checksum
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.Ok, TransportHeader.TryRead(IpProtocol.Sctp, sctp, ref packet));
        Assert.Equal(2905, packet.SourcePort);
        Assert.Equal(2906, packet.DestinationPort);
    }

    [Fact]
    public void TryRead_SctpShorterThanPorts_ReturnsSctpTruncated()
    {
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.SctpTruncated, TransportHeader.TryRead(IpProtocol.Sctp, [0x0b, 0x59, 0x0b], ref packet));
    }

    [Fact]
    public void TryRead_IcmpEchoRequest_ReturnsTypeAndCodeAsPorts()
    {
        var icmp = Hex.Parse(
            "08" +     // type 8 echo request
            "00" +     // code 0
            "00 00" +  // checksum
            "00 01 00 01"); // identifier, sequence
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.Ok, TransportHeader.TryRead(IpProtocol.Icmp, icmp, ref packet));
        Assert.Equal(8, packet.SourcePort);
        Assert.Equal(0, packet.DestinationPort);
    }

    [Fact]
    public void TryRead_Icmpv6DestinationUnreachable_ReturnsTypeAndCodeAsPorts()
    {
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.Ok, TransportHeader.TryRead(IpProtocol.Icmpv6, [0x01, 0x04, 0x00, 0x00], ref packet));
        Assert.Equal(1, packet.SourcePort);
        Assert.Equal(4, packet.DestinationPort);
    }

    [Theory]
    [InlineData(IpProtocol.Icmp, DecodeStatus.IcmpTruncated)]
    [InlineData(IpProtocol.Icmpv6, DecodeStatus.Icmpv6Truncated)]
    public void TryRead_IcmpOneByte_ReturnsIcmpTruncated(byte protocol, DecodeStatus expected)
    {
        var packet = default(DecodedPacket);

        Assert.Equal(expected, TransportHeader.TryRead(protocol, [0x08], ref packet));
    }

    [Theory]
    [InlineData(IpProtocol.Esp)]
    [InlineData(IpProtocol.Ah)]
    [InlineData(IpProtocol.Gre)]
    [InlineData(253)]
    public void TryRead_ProtocolWithoutPorts_ReturnsOkAndLeavesPortsZero(byte protocol)
    {
        var packet = default(DecodedPacket);

        Assert.Equal(DecodeStatus.Ok, TransportHeader.TryRead(protocol, [], ref packet));
        Assert.Equal(0, packet.SourcePort);
        Assert.Equal(0, packet.DestinationPort);
    }
}
