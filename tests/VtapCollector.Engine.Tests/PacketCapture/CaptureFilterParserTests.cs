using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Engine.Tests.PacketCapture;

/// <summary>The compact filter syntax: what it accepts, how it prints, and the sentence for each mistake.</summary>
public class CaptureFilterParserTests
{
    [Theory]
    [InlineData("")]
    [InlineData("proto=tcp")]
    [InlineData("proto=47,vni=16777215")]
    [InlineData("proto=udp,local=10.0.0.0/8,remote=2001:db8::/32,lport=1-1024,rport=443,vni=100,tunnel=192.0.2.1/32")]
    [InlineData("host=10.1.2.3/32,port=53")]
    public void TryParse_CanonicalText_PrintsBackTheSame(string text)
    {
        var filter = CaptureFilterParser.TryParse(text, out var error);

        Assert.Null(error);
        Assert.Equal(text, filter!.ToString());
    }

    [Theory]
    [InlineData("proto=tcpp", "protocol")]
    [InlineData("proto=256", "protocol")]
    [InlineData("vni=16777216", "vni")]
    [InlineData("local=10.0.0", "local")]
    [InlineData("remote=10.0.0.0/33", "remote")]
    [InlineData("lport=2000-1000", "lport")]
    [InlineData("port=65536", "port")]
    [InlineData("colour=red", "unknown")]
    [InlineData("proto", "key=value")]
    [InlineData("vni=1,vni=2", "twice")]
    public void TryParse_BadTerm_ReturnsOneSentenceNamingIt(string text, string named)
    {
        var filter = CaptureFilterParser.TryParse(text, out var error);

        Assert.Null(filter);
        Assert.Contains(named, error, StringComparison.Ordinal);
        Assert.EndsWith(".", error, StringComparison.Ordinal);
    }
}
