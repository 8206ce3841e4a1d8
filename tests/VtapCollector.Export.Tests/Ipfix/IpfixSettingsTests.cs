using VtapCollector.Export.Ipfix;

namespace VtapCollector.Export.Tests.Ipfix;

/// <summary>Collector addresses and the sink's options, refused with a sentence naming the key.</summary>
public class IpfixSettingsTests
{
    [Theory]
    [InlineData("udp://127.0.0.1:4739", IpfixTransportKind.Udp, "127.0.0.1", 4739)]
    [InlineData("tcp://[::1]:4739", IpfixTransportKind.Tcp, "::1", 4739)]
    [InlineData("udp://collector.example:2055", IpfixTransportKind.Udp, "collector.example", 2055)]
    [InlineData(" tcp://localhost:1 ", IpfixTransportKind.Tcp, "localhost", 1)]
    public void TryParse_ValidCollector_ReturnsTransportHostAndPort(string text, IpfixTransportKind transport, string host, int port)
    {
        var parsed = IpfixCollectorAddress.TryParse(text, out var error);

        Assert.Null(error);
        Assert.NotNull(parsed);
        Assert.Equal(transport, parsed.Transport);
        Assert.Equal(host, parsed.Host);
        Assert.Equal(port, parsed.Port);
    }

    [Theory]
    [InlineData("127.0.0.1:4739")]
    [InlineData("sctp://127.0.0.1:4739")]
    [InlineData("udp://1.2.3:4739")]
    [InlineData("udp://::1:4739")]
    [InlineData("udp://127.0.0.1")]
    [InlineData("udp://127.0.0.1:0")]
    [InlineData("udp://127.0.0.1:65536")]
    [InlineData("tcp://bad_host!:4739")]
    [InlineData("")]
    public void TryParse_InvalidCollector_ReturnsNullWithReason(string text)
    {
        Assert.Null(IpfixCollectorAddress.TryParse(text, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Validate_NoCollector_NamesCollectors()
    {
        Assert.Contains("Sinks:Ipfix:Collectors", new IpfixSinkOptions().Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MessageTooSmallForTheLargestRecord_NamesMaxMessageBytes()
    {
        var options = new IpfixSinkOptions { Collectors = ["udp://127.0.0.1:4739"], MaxMessageBytes = IpfixSinkOptions.MinMessageBytes - 1 };

        Assert.Contains("Sinks:Ipfix:MaxMessageBytes", options.Validate(), StringComparison.Ordinal);
        Assert.Null(new IpfixSinkOptions { Collectors = ["udp://127.0.0.1:4739"], MaxMessageBytes = IpfixSinkOptions.MinMessageBytes }.Validate());
    }

    [Fact]
    public void Validate_DedupTemplates_NeedRoomForTheirLargerRecord()
    {
        var least = IpfixSinkOptions.MinMessageBytesFor(dedup: true);
        Assert.True(least > IpfixSinkOptions.MinMessageBytes);
        Assert.Contains($"from {least} to 65535", new IpfixSinkOptions { Collectors = ["udp://127.0.0.1:4739"], MaxMessageBytes = least - 1, Dedup = true }.Validate(), StringComparison.Ordinal);
        Assert.Null(new IpfixSinkOptions { Collectors = ["udp://127.0.0.1:4739"], MaxMessageBytes = least, Dedup = true }.Validate());
    }
}
