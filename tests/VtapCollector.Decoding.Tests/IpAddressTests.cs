namespace VtapCollector.Decoding.Tests;

public class IpAddressTests
{
    [Fact]
    public void FromIPv4_StoresIPv4MappedAddress()
    {
        var address = IpAddress.FromIPv4(0xc0000201);

        Assert.True(address.IsIPv4Mapped);
        Assert.Equal(0xc0000201u, address.IPv4);
        Assert.Equal(0UL, address.Hi);
        Assert.Equal(0x0000_ffff_c000_0201UL, address.Lo);
    }

    [Fact]
    public void ReadIPv4_NetworkOrderBytes_EqualsFromIPv4()
    {
        Assert.Equal(IpAddress.FromIPv4(0x0a000001), IpAddress.ReadIPv4([10, 0, 0, 1]));
    }

    [Fact]
    public void ReadIPv6_NetworkOrderBytes_SplitsIntoHiAndLo()
    {
        var bytes = Hex.Parse("20010db8000000000000000000000001");

        var address = IpAddress.ReadIPv6(bytes);

        Assert.Equal(0x2001_0db8_0000_0000UL, address.Hi);
        Assert.Equal(1UL, address.Lo);
        Assert.False(address.IsIPv4Mapped);
    }

    [Theory]
    [InlineData("192.0.2.1", 4)]
    [InlineData("0.0.0.0", 4)]
    [InlineData("255.255.255.255", 4)]
    [InlineData("2001:db8::1", 6)]
    [InlineData("::", 6)]
    [InlineData("fe80::1:2:3:4", 6)]
    [InlineData("2001:db8:0:1:1:1:1:1", 6)]
    public void ParseThenToString_RoundTrips(string text, int version)
    {
        var address = IpAddress.Parse(text);

        Assert.Equal(text, address.ToString(version));
    }

    [Fact]
    public void ToString_IPv4Mapped_PrintsDottedQuad()
    {
        Assert.Equal("10.1.2.3", IpAddress.Parse("10.1.2.3").ToString());
    }

    [Fact]
    public void ToString_IPv4MappedAsVersion6_PrintsMappedForm()
    {
        Assert.Equal("::ffff:10.1.2.3", IpAddress.Parse("10.1.2.3").ToString(6));
    }

    [Fact]
    public void Parse_MappedIPv6Text_EqualsIPv4()
    {
        Assert.Equal(IpAddress.Parse("10.1.2.3"), IpAddress.Parse("::ffff:10.1.2.3"));
    }

    [Fact]
    public void ToString_Rfc5952_CompressesLongestZeroRunInLowerCase()
    {
        Assert.Equal("2001:db8::1:0:0:1", IpAddress.Parse("2001:0DB8:0000:0000:0001:0000:0000:0001").ToString(6));
    }

    [Fact]
    public void WriteBytes_IPv4_WritesFourBytes()
    {
        Span<byte> buffer = stackalloc byte[16];

        var written = IpAddress.Parse("192.0.2.9").WriteBytes(buffer, 4);

        Assert.Equal(4, written);
        Assert.Equal("c0000209", Hex.Format(buffer[..4]));
    }

    [Fact]
    public void WriteBytes_IPv6_WritesSixteenBytes()
    {
        Span<byte> buffer = stackalloc byte[16];

        var written = IpAddress.Parse("2001:db8::abcd").WriteBytes(buffer, 6);

        Assert.Equal(16, written);
        Assert.Equal("20010db800000000000000000000abcd", Hex.Format(buffer));
    }

    [Fact]
    public void TryFormat_BufferTooSmall_ReturnsFalse()
    {
        Span<char> buffer = stackalloc char[4];

        Assert.False(IpAddress.Parse("192.0.2.1").TryFormat(buffer, 4, out _));
    }

    [Fact]
    public void Equality_SameBits_AreEqualWithSameHash()
    {
        var a = IpAddress.Parse("2001:db8::5");
        var b = new IpAddress(0x2001_0db8_0000_0000UL, 5);

        Assert.True(a == b);
        Assert.False(a != b);
        Assert.True(a.Equals((object)b));
        Assert.False(a.Equals("2001:db8::5"));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void CompareTo_OrdersAsUnsignedNetworkBytes()
    {
        var low = IpAddress.Parse("10.0.0.1");
        var high = IpAddress.Parse("10.0.0.2");
        var v6 = IpAddress.Parse("2001:db8::1");
        var top = IpAddress.Parse("ff02::1");

        Assert.True(low < high);
        Assert.True(high > low);
        Assert.True(low <= IpAddress.Parse("10.0.0.1"));
        Assert.True(high >= low);
        Assert.True(high < v6);   // ::ffff:a.b.c.d sorts before 2001:...
        Assert.True(v6 < top);    // 0xff.. is larger unsigned, not negative
        Assert.Equal(0, v6.CompareTo(IpAddress.Parse("2001:db8::1")));
    }

    [Fact]
    public void CompareTo_LowWordHighBitSet_IsLargerNotNegative()
    {
        Assert.True(IpAddress.Parse("::8000:0:0:1") > IpAddress.Parse("::1"));
    }
}
