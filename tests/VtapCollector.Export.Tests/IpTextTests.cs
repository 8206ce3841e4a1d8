using System.Net;
using VtapCollector.Decoding;

namespace VtapCollector.Export.Tests;

public class IpTextTests
{
    [Theory]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("fe80::")]
    [InlineData("2001:db8::1:0:0:1")]
    [InlineData("2001:db8:0:0:1:0:0:1")]
    [InlineData("2001:0:0:1::1")]
    [InlineData("1:2:3:4:5:6:7:8")]
    [InlineData("2001:db8::ffff:1.2.3.4")]
    [InlineData("::ffff:1.2.3.4")]
    public void Format_EdgeCases_MatchRfc5952AsDotnetWritesIt(string text)
    {
        var address = IPAddress.Parse(text);
        Assert.Equal(address.ToString(), Format(IpAddress.Parse(text), 6));
    }

    [Fact]
    public void Format_RandomAddresses_MatchSystemNetIpAddress()
    {
        var random = new Random(3);
        var bytes = new byte[16];
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(bytes);

            // Zero some groups so that runs of zeros, and ties between runs, are common.
            for (var group = 0; group < 8; group++)
            {
                if (random.Next(3) == 0)
                {
                    bytes[group * 2] = 0;
                    bytes[(group * 2) + 1] = 0;
                }
            }

            var expected = new IPAddress(bytes);
            if (expected.IsIPv4MappedToIPv6 || (bytes.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0))
            {
                continue; // .NET writes ::a.b.c.d forms that RFC 5952 leaves to the implementation
            }

            Assert.Equal(expected.ToString(), Format(IpAddress.ReadIPv6(bytes), 6));
            Assert.Equal(new IPAddress(bytes.AsSpan(0, 4)).ToString(), Format(IpAddress.ReadIPv4(bytes), 4));
        }
    }

    private static string Format(IpAddress address, int version)
    {
        Span<byte> buffer = stackalloc byte[IpText.MaxLength];
        var written = IpText.Format(address, version, buffer);
        return System.Text.Encoding.ASCII.GetString(buffer[..written]);
    }
}
