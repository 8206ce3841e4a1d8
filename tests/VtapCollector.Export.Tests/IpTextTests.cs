using System.Net;
using System.Text;
using VtapCollector.Decoding;

namespace VtapCollector.Export.Tests;

/// <summary>IpText against RFC 5952 and System.Net.IPAddress, which follows it for these addresses.</summary>
public class IpTextTests
{
    [Theory]
    [InlineData("::", "::")]
    [InlineData("::1", "::1")]
    [InlineData("fe80::", "fe80::")]
    [InlineData("fe80:0:0:0:0:0:0:1", "fe80::1")]
    [InlineData("2001:db8::1:0:0:1", "2001:db8::1:0:0:1")]      // two runs of two: the first is compressed
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [InlineData("1:0:0:2:0:0:0:3", "1:0:0:2::3")]               // the longest run wins over an earlier one
    [InlineData("1:0:0:0:2:0:0:0", "1::2:0:0:0")]               // the first of two equal runs
    [InlineData("0:0:1:0:0:0:0:0", "0:0:1::")]
    [InlineData("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0")]          // a single zero group is not compressed
    [InlineData("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7")]
    [InlineData("0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7")]
    [InlineData("1:2:3:4:5:6::", "1:2:3:4:5:6::")]
    [InlineData("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8")]          // "::" never stands for one group
    [InlineData("2001:0DB8:000A:00B0:0C00:ABCD:0000:0001", "2001:db8:a:b0:c00:abcd:0:1")] // lower case, no leading zeros
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
    [InlineData("::ffff:1.2.3.4", "::ffff:1.2.3.4")]            // IPv4-mapped keeps the dotted quad (section 5)
    [InlineData("::ffff:255.255.255.255", "::ffff:255.255.255.255")]
    public void Format_Ipv6EdgeCase_IsRfc5952Canonical(string input, string expected)
    {
        Assert.Equal(expected, Format(IpAddress.Parse(input), 6));
        Assert.Equal(IPAddress.Parse(input).ToString(), expected);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("1.2.3.4")]
    [InlineData("10.0.0.1")]
    [InlineData("192.168.100.200")]
    [InlineData("100.64.9.99")]
    public void Format_Ipv4_IsTheDottedQuad(string text) =>
        Assert.Equal(text, Format(IpAddress.Parse(text), 4));

    [Fact]
    public void Format_Ipv4AddressAsVersion6_IsTheMappedForm() =>
        Assert.Equal("::ffff:10.1.2.3", Format(IpAddress.Parse("10.1.2.3"), 6));

    [Fact]
    public void Format_RandomIpv4_MatchesIpAddressToString()
    {
        var random = new Random(42);
        var bytes = new byte[4];
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(bytes);
            Assert.Equal(new IPAddress(bytes).ToString(), Format(IpAddress.ReadIPv4(bytes), 4));
        }
    }

    [Fact]
    public void Format_RandomIpv6_MatchesIpAddressToString()
    {
        var random = new Random(43);
        var bytes = new byte[16];
        var compared = 0;
        const int Samples = 50_000;
        for (var i = 0; i < Samples; i++)
        {
            // Groups are zero, short (leading zeros to drop) or full, so runs and ties are common.
            for (var group = 0; group < 8; group++)
            {
                var value = random.Next(4) switch
                {
                    0 or 1 => 0,
                    2 => random.Next(1, 0x100),
                    _ => random.Next(1, 0x10000),
                };
                bytes[group * 2] = (byte)(value >> 8);
                bytes[(group * 2) + 1] = (byte)value;
            }

            var expected = new IPAddress(bytes).ToString();
            if (expected.Contains('.', StringComparison.Ordinal))
            {
                // IPAddress also writes IPv4-compatible (::a.b.c.d) and ISATAP (...:0:5efe:a.b.c.d)
                // addresses with a dotted quad, which RFC 5952 section 5 leaves optional; IpText
                // reserves that form for IPv4-mapped addresses.
                continue;
            }

            Assert.Equal(expected, Format(IpAddress.ReadIPv6(bytes), 6));
            compared++;
        }

        Assert.True(compared > Samples * 99 / 100, $"only {compared} of {Samples} addresses were compared");
    }

    [Fact]
    public void Format_LongestText_FitsMaxLength()
    {
        var longest = new IpAddress(0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFE);
        var text = Format(longest, 6);
        Assert.Equal("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", text);
        Assert.True(text.Length <= IpText.MaxLength);
        Assert.True("::ffff:255.255.255.255".Length <= IpText.MaxLength);
    }

    [Fact]
    public void Format_WritesOnlyTheBytesItReports()
    {
        var buffer = new byte[64];
        buffer.AsSpan().Fill((byte)'#');
        var written = IpText.Format(IpAddress.Parse("2001:db8::1"), 6, buffer);

        Assert.Equal("2001:db8::1", Encoding.ASCII.GetString(buffer, 0, written));
        Assert.All(buffer.Skip(written), b => Assert.Equal((byte)'#', b));
    }

    [Theory]
    [InlineData("1.2.3.4")]
    [InlineData("255.255.255.255")]
    [InlineData("10.0.100.9")]
    public void Format_Ipv4_WritesOnlyTheBytesItReports(string text)
    {
        var buffer = new byte[64];
        buffer.AsSpan().Fill((byte)'#');
        var written = IpText.Format(IpAddress.Parse(text), 4, buffer);

        Assert.Equal(text, Encoding.ASCII.GetString(buffer, 0, written));
        Assert.All(buffer.Skip(written), b => Assert.Equal((byte)'#', b));
    }

    [Fact]
    public void Format_Ipv4IntoASpanOfExactlyItsLength_Fits()
    {
        var exact = new byte["255.255.255.255".Length];
        Assert.Equal(exact.Length, IpText.Format(IpAddress.Parse("255.255.255.255"), 4, exact));
        Assert.Equal("255.255.255.255", Encoding.ASCII.GetString(exact));
    }

    [Fact]
    public void Format_AllocatesNothing()
    {
        var buffer = new byte[IpText.MaxLength];
        var v6 = IpAddress.Parse("2001:db8::1:0:0:1");
        var v4 = IpAddress.Parse("192.168.100.200");
        void Run()
        {
            for (var i = 0; i < 10_000; i++)
            {
                IpText.Format(v6, 6, buffer);
                IpText.Format(v4, 4, buffer);
                IpText.Format(v4, 6, buffer);
            }
        }

        Run();
        Assert.Equal(0, Allocations.Least(Run));
    }

    private static string Format(IpAddress address, int version)
    {
        Span<byte> buffer = stackalloc byte[IpText.MaxLength];
        var written = IpText.Format(address, version, buffer);
        return Encoding.ASCII.GetString(buffer[..written]);
    }
}
