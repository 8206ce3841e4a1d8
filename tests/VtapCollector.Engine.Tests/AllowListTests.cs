using VtapCollector.Decoding;
using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Workers;

namespace VtapCollector.Engine.Tests;

public class AllowListTests
{
    [Theory]
    [InlineData("10.1.0.0/16", "10.1.255.7", true)]
    [InlineData("10.1.0.0/16", "10.2.0.1", false)]
    [InlineData("10.1.2.3", "10.1.2.3", true)]
    [InlineData("10.1.2.3", "10.1.2.4", false)]
    [InlineData("0.0.0.0/0", "203.0.113.9", true)]
    [InlineData("0.0.0.0/0", "2001:db8::1", false)]
    [InlineData("fd00::/8", "fd12:3456::1", true)]
    [InlineData("fd00::/8", "fe80::1", false)]
    [InlineData("2001:db8::/127", "2001:db8::1", true)]
    [InlineData("2001:db8::/127", "2001:db8::2", false)]
    [InlineData("::/0", "10.0.0.1", true)]
    [InlineData("::ffff:10.0.0.0/104", "10.9.9.9", true)]
    [InlineData("10.1.0.0/16", "::ffff:10.1.0.1", true)]
    public void Cidr_contains_exactly_the_addresses_of_its_prefix(string cidr, string address, bool expected)
    {
        var list = AllowList.TryCreate([cidr], [], out var error)!;

        Assert.Null(error);
        Assert.Equal(expected, list.AllowsSource(IpAddress.Parse(address)));
    }

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("10.0.0/8")]
    [InlineData("fd00::/129")]
    [InlineData("not-an-address")]
    [InlineData("")]
    [InlineData("10.0.0.0/8x")]
    [InlineData("fe80::1%eth0")]
    public void Invalid_cidr_is_refused_with_the_entry_named(string cidr)
    {
        var list = AllowList.TryCreate([cidr], [], out var error);

        Assert.Null(list);
        Assert.Equal($"AllowList:SourceCidrs entry '{cidr}' is not a CIDR (examples: 10.1.0.0/16, 10.1.2.3, fd00::/8).", error);
    }

    [Fact]
    public void Empty_lists_allow_everything()
    {
        var list = AllowList.TryCreate([], [], out _)!;

        Assert.True(list.AnySource && list.AnyVni);
        Assert.True(list.AllowsSource(IpAddress.Parse("198.51.100.1")));
        Assert.True(list.AllowsVni(16_777_215));
    }

    [Fact]
    public void Vni_list_allows_only_its_vnis()
    {
        var list = AllowList.TryCreate([], [300, 7, 7, 16_777_215], out _)!;

        Assert.True(list.AllowsVni(7));
        Assert.True(list.AllowsVni(300));
        Assert.True(list.AllowsVni(16_777_215));
        Assert.False(list.AllowsVni(0));
        Assert.False(list.AllowsVni(8));
        Assert.Equal(3, list.VniCount);
        Assert.Equal("any source; VNIs 7, 300, 16777215", list.Describe());
    }

    [Fact]
    public void Vni_above_24_bits_is_refused()
    {
        Assert.Null(AllowList.TryCreate([], [16_777_216], out var error));
        Assert.Equal("AllowList:Vnis entry 16777216 is not a VNI (VNIs are 24-bit: 0 to 16777215).", error);
    }

    [Fact]
    public void Several_cidrs_any_one_matches()
    {
        var list = AllowList.TryCreate(["10.0.0.0/24", "192.168.7.0/24", "fd00::/8"], [], out _)!;

        Assert.True(list.AllowsSource(IpAddress.Parse("192.168.7.200")));
        Assert.True(list.AllowsSource(IpAddress.Parse("fd00::9")));
        Assert.False(list.AllowsSource(IpAddress.Parse("192.168.8.1")));
        Assert.Equal("10.0.0.0/24, 192.168.7.0/24, fd00::/8; any VNI", list.Describe());
    }
}
