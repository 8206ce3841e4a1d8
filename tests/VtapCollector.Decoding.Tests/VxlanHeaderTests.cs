namespace VtapCollector.Decoding.Tests;

public class VxlanHeaderTests
{
    [Fact]
    public void TryRead_IFlagSet_ReturnsVni()
    {
        var header = Hex.Parse(
            "08" +       // flags: I
            "00 00 00" + // reserved
            "ab cd ef" + // VNI 0xabcdef
            "00");       // reserved

        Assert.Equal(DecodeStatus.Ok, VxlanHeader.TryRead(header, out var vxlan));
        Assert.Equal(0xabcdefu, vxlan.Vni);
    }

    [Fact]
    public void TryRead_ReservedBitsSet_AreIgnored()
    {
        var header = Hex.Parse(
            "88" +       // flags: I plus a reserved bit (the G bit of Group Based Policy)
            "00 12 34" + // reserved / group policy id
            "00 00 64" + // VNI 100
            "ff");       // reserved

        Assert.Equal(DecodeStatus.Ok, VxlanHeader.TryRead(header, out var vxlan));
        Assert.Equal(100u, vxlan.Vni);
    }

    [Fact]
    public void TryRead_IFlagClear_ReturnsVxlanFlagNotSet()
    {
        var header = Hex.Parse(
            "00" +       // flags: none
            "00 00 00" + // reserved
            "00 00 64" + // VNI 100 (not valid without I)
            "00");

        Assert.Equal(DecodeStatus.VxlanFlagNotSet, VxlanHeader.TryRead(header, out _));
    }

    [Fact]
    public void TryRead_PFlagSet_ReturnsVxlanGpeUnsupported()
    {
        var header = Hex.Parse(
            "0c" +       // flags: I and P (VXLAN-GPE next protocol present)
            "00 00" +    // reserved
            "04" +       // next protocol 4: NSH
            "00 00 0b" + // VNI 11
            "00");

        Assert.Equal(DecodeStatus.VxlanGpeUnsupported, VxlanHeader.TryRead(header, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void TryRead_ShorterThanEightBytes_ReturnsVxlanTruncated(int length)
    {
        Assert.Equal(DecodeStatus.VxlanTruncated, VxlanHeader.TryRead(new byte[length], out _));
    }
}
