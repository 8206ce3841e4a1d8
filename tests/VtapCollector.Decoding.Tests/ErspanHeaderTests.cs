namespace VtapCollector.Decoding.Tests;

public class ErspanHeaderTests
{
    [Fact]
    public void TryRead_TypeII_ReadsSessionVlanAndTruncation()
    {
        var header = Hex.Parse(
            "10 64" +       // version 1, VLAN 100
            "e7 ff" +       // COS 7, En 0, T 1, session ID 1023
            "00 0f ff ff"); // reserved, index

        Assert.Equal(DecodeStatus.Ok, ErspanHeader.TryRead(header, typeIII: false, out var erspan));
        Assert.Equal((ushort)1023, erspan.SessionId);
        Assert.Equal((ushort)100, erspan.Vlan);
        Assert.True(erspan.Truncated);
        Assert.False(erspan.CarriesIp);
        Assert.Equal(8, erspan.HeaderLength);
    }

    [Fact]
    public void TryRead_TypeIIIWithSubheader_SkipsTwentyBytes()
    {
        var header = Hex.Parse(
            "2f ff" +                    // version 2, VLAN 4095
            "00 01" +                    // COS 0, BSO 0, T 0, session ID 1
            "00 00 00 00" +              // timestamp
            "00 00" +                    // security group tag
            "00 01" +                    // P 0, FT 0, hardware ID 0, D 0, Gra 0, O 1
            "00 00 00 00 00 00 00 00");  // platform-specific subheader

        Assert.Equal(DecodeStatus.Ok, ErspanHeader.TryRead(header, typeIII: true, out var erspan));
        Assert.Equal(20, erspan.HeaderLength);
        Assert.Equal((ushort)4095, erspan.Vlan);
        Assert.False(erspan.Truncated);
    }

    [Fact]
    public void TryRead_TypeIIIFrameTypeIp_CarriesIp()
    {
        var header = Hex.Parse("20 00 00 05 00 00 00 00 00 00 08 00"); // FT 2 (IP), no subheader

        Assert.Equal(DecodeStatus.Ok, ErspanHeader.TryRead(header, typeIII: true, out var erspan));
        Assert.True(erspan.CarriesIp);
        Assert.Equal(12, erspan.HeaderLength);
    }

    [Fact]
    public void TryRead_TypeIIIFrameTypeSeven_ReturnsErspanFrameTypeUnsupported()
    {
        // FT 7, as in tcpdump's erspan-type-iii-ft-7 capture, which it prints as "Frame type unknown".
        var header = Hex.Parse("20 00 00 65 00 00 00 00 00 00 1c 00");

        Assert.Equal(DecodeStatus.ErspanFrameTypeUnsupported, ErspanHeader.TryRead(header, typeIII: true, out _));
    }

    [Theory]
    [InlineData("20 64 00 01 00 00 00 00", false)]             // version 2 under 0x88BE
    [InlineData("00 64 00 01 00 00 00 00", false)]             // version 0
    [InlineData("10 00 00 01 00 00 00 00 00 00 00 00", true)]  // version 1 under 0x22EB
    public void TryRead_VersionForTheOtherType_ReturnsErspanVersionUnsupported(string hex, bool typeIII)
    {
        Assert.Equal(DecodeStatus.ErspanVersionUnsupported, ErspanHeader.TryRead(Hex.Parse(hex), typeIII, out _));
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("10 64 00 01 00 00 00", false)]
    [InlineData("20 00 00 01 00 00 00 00 00 00 00", true)]
    [InlineData("20 00 00 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00", true)] // subheader cut
    public void TryRead_Cut_ReturnsErspanTruncated(string hex, bool typeIII)
    {
        Assert.Equal(DecodeStatus.ErspanTruncated, ErspanHeader.TryRead(Hex.Parse(hex), typeIII, out _));
    }
}
