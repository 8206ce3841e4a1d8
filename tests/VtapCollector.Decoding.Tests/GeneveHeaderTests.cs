namespace VtapCollector.Decoding.Tests;

public class GeneveHeaderTests
{
    /// <summary>The Geneve header with its option, taken from the Geneve fixture (offset 42).</summary>
    private static byte[] HeaderWithOption => Fixtures.GeneveUdp[42..58];

    [Fact]
    public void TryRead_WithOneOption_ReturnsVniProtocolAndLengthIncludingOptions()
    {
        Assert.Equal(DecodeStatus.Ok, GeneveHeader.TryRead(HeaderWithOption, out var geneve));
        Assert.Equal(0xabcdefu, geneve.Vni);
        Assert.Equal(EtherTypes.TransparentEthernetBridging, geneve.ProtocolType);
        Assert.Equal(16, geneve.HeaderLength);
    }

    [Fact]
    public void TryRead_MaximumOptionLength_Is260Bytes()
    {
        var header = FrameBuilder.Geneve(5, EtherTypes.Ipv4, [], options: new byte[63 * 4]);

        Assert.Equal(DecodeStatus.Ok, GeneveHeader.TryRead(header, out var geneve));
        Assert.Equal(8 + 252, geneve.HeaderLength);
    }

    [Theory]
    [InlineData(EtherTypes.Ipv4)]
    [InlineData(EtherTypes.Ipv6)]
    public void TryRead_IpProtocolType_ReturnsOk(ushort protocolType)
    {
        var header = Hex.Parse(
            "00" +       // version 0, no options
            "40" +       // O bit (control packet) set
            "00 00" +    // protocol type, replaced below
            "00 00 0b" + // VNI 11
            "00");
        header[2] = (byte)(protocolType >> 8);
        header[3] = (byte)protocolType;

        Assert.Equal(DecodeStatus.Ok, GeneveHeader.TryRead(header, out var geneve));
        Assert.Equal(protocolType, geneve.ProtocolType);
        Assert.Equal(11u, geneve.Vni);
        Assert.Equal(8, geneve.HeaderLength);
    }

    [Theory]
    [InlineData(0x40)] // version 1
    [InlineData(0x80)] // version 2
    [InlineData(0xc2)] // version 3 with options
    public void TryRead_VersionNot0_ReturnsGeneveVersionUnsupported(byte first)
    {
        var header = HeaderWithOption;
        header[0] = first;

        Assert.Equal(DecodeStatus.GeneveVersionUnsupported, GeneveHeader.TryRead(header, out _));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(15)]
    public void TryRead_OptionsCutShort_ReturnsGeneveOptionsTruncated(int length)
    {
        Assert.Equal(DecodeStatus.GeneveOptionsTruncated, GeneveHeader.TryRead(HeaderWithOption.AsSpan(0, length), out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void TryRead_ShorterThanFixedHeader_ReturnsGeneveTruncated(int length)
    {
        Assert.Equal(DecodeStatus.GeneveTruncated, GeneveHeader.TryRead(HeaderWithOption.AsSpan(0, length), out _));
    }

    [Theory]
    [InlineData(0x894f)] // NSH
    [InlineData(0x8847)] // MPLS
    [InlineData(0x0806)] // ARP
    public void TryRead_UnknownProtocolType_ReturnsGeneveProtocolUnsupported(ushort protocolType)
    {
        var header = FrameBuilder.Geneve(1, protocolType, []);

        Assert.Equal(DecodeStatus.GeneveProtocolUnsupported, GeneveHeader.TryRead(header, out _));
    }
}
