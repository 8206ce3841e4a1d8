namespace VtapCollector.Decoding.Tests;

public class GreHeaderTests
{
    [Fact]
    public void TryRead_NoOptionalFields_IsFourBytesWithoutKey()
    {
        var header = Hex.Parse(
            "00" +     // C 0, R 0, K 0, S 0, s 0, recursion 0
            "00" +     // flags 0, version 0
            "88 be");  // protocol type ERSPAN

        Assert.Equal(DecodeStatus.Ok, GreHeader.TryRead(header, out var gre));
        Assert.Equal((ushort)0x88be, gre.ProtocolType);
        Assert.Equal(4, gre.HeaderLength);
        Assert.Equal(0u, gre.Key);
        Assert.False(gre.HasSequence);
    }

    [Fact]
    public void TryRead_ChecksumKeyAndSequence_ReadsKeyAfterChecksum()
    {
        var header = Hex.Parse(
            "b0 00" +       // C 1, K 1, S 1, version 0
            "65 58" +       // protocol type transparent Ethernet bridging
            "ab cd 00 00" + // checksum, reserved1
            "fe dc ba 98" + // key
            "00 00 00 07"); // sequence number

        Assert.Equal(DecodeStatus.Ok, GreHeader.TryRead(header, out var gre));
        Assert.Equal(16, gre.HeaderLength);
        Assert.Equal(0xfedcba98u, gre.Key);
        Assert.True(gre.HasSequence);
    }

    [Fact]
    public void TryRead_ReservedBitsSixToTwelve_AreIgnored()
    {
        // RFC 2784 section 2.2: bits 6-12 must be ignored on receipt.
        var header = Hex.Parse("03 f8 88 be");

        Assert.Equal(DecodeStatus.Ok, GreHeader.TryRead(header, out var gre));
        Assert.Equal(4, gre.HeaderLength);
    }

    [Theory]
    [InlineData("00 01 88 be")] // version 1 (PPTP's enhanced GRE)
    [InlineData("00 07 88 be")] // version 7
    public void TryRead_VersionNotZero_ReturnsGreVersionUnsupported(string hex)
    {
        Assert.Equal(DecodeStatus.GreVersionUnsupported, GreHeader.TryRead(Hex.Parse(hex), out _));
    }

    [Theory]
    [InlineData("40 00 88 be 00 00 00 00")] // R: routing present (RFC 1701)
    [InlineData("08 00 88 be")]             // s: strict source route
    [InlineData("04 00 88 be")]             // the top recursion bit
    public void TryRead_Rfc1701OnlyBits_ReturnsGreFlagsInvalid(string hex)
    {
        Assert.Equal(DecodeStatus.GreFlagsInvalid, GreHeader.TryRead(Hex.Parse(hex), out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("00 00 88")]
    [InlineData("10 00 88 be 00 00 00")]       // sequence number cut
    [InlineData("a0 00 65 58 00 00 00 00 01")] // key cut after the checksum
    public void TryRead_Cut_ReturnsGreTruncated(string hex)
    {
        Assert.Equal(DecodeStatus.GreTruncated, GreHeader.TryRead(Hex.Parse(hex), out _));
    }
}
