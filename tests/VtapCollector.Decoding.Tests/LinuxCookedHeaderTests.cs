namespace VtapCollector.Decoding.Tests;

public class LinuxCookedHeaderTests
{
    [Fact]
    public void TryReadSll_Ipv4_ReturnsProtocolAndSixteenByteHeader()
    {
        var frame = Hex.Parse(
            "00 00" +                   // packet type 0: to us
            "00 01" +                   // ARPHRD_ETHER
            "00 06" +                   // link-layer address length 6
            "00 00 5e 00 53 bb 00 00" + // link-layer address, padded to 8
            "08 00");                   // protocol IPv4

        var status = LinuxCookedHeader.TryReadSll(frame, 4, out var header);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(EtherTypes.Ipv4, header.EtherType);
        Assert.Equal(16, header.HeaderLength);
        Assert.Equal(0, header.Vlan);
    }

    [Fact]
    public void TryReadSll2_Ipv6_ReturnsProtocolAndTwentyByteHeader()
    {
        var frame = Hex.Parse(
            "86 dd" +                   // protocol IPv6
            "00 00" +                   // reserved
            "00 00 00 02" +             // interface index 2
            "00 01" +                   // ARPHRD_ETHER
            "04" +                      // packet type 4: outgoing
            "06" +                      // link-layer address length 6
            "00 00 5e 00 53 bb 00 00"); // link-layer address

        var status = LinuxCookedHeader.TryReadSll2(frame, 4, out var header);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(EtherTypes.Ipv6, header.EtherType);
        Assert.Equal(20, header.HeaderLength);
    }

    [Fact]
    public void TryReadSll_VlanTagKept_ReturnsVlanAndInnerProtocol()
    {
        var frame = FrameBuilder.Concat(FrameBuilder.Sll(EtherTypes.Vlan), Hex.Parse(
            "00 c8" +  // TCI VID 200
            "08 00")); // EtherType IPv4

        var status = LinuxCookedHeader.TryReadSll(frame, 4, out var header);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(200, header.Vlan);
        Assert.Equal(EtherTypes.Ipv4, header.EtherType);
        Assert.Equal(20, header.HeaderLength);
    }

    [Fact]
    public void TryReadSll2_VlanTagCutShort_ReturnsVlanTruncated()
    {
        var frame = FrameBuilder.Concat(FrameBuilder.Sll2(EtherTypes.Vlan), [0x00]);

        Assert.Equal(DecodeStatus.VlanTruncated, LinuxCookedHeader.TryReadSll2(frame, 4, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    public void TryReadSll_ShorterThanHeader_ReturnsSllTruncated(int length)
    {
        Assert.Equal(DecodeStatus.SllTruncated, LinuxCookedHeader.TryReadSll(new byte[length], 4, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(19)]
    public void TryReadSll2_ShorterThanHeader_ReturnsSll2Truncated(int length)
    {
        Assert.Equal(DecodeStatus.Sll2Truncated, LinuxCookedHeader.TryReadSll2(new byte[length], 4, out _));
    }
}
