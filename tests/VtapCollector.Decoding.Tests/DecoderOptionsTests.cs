namespace VtapCollector.Decoding.Tests;

public class DecoderOptionsTests
{
    [Fact]
    public void Defaults_AreValidAndUseIanaAndLinuxPorts()
    {
        var options = new DecoderOptions();

        Assert.Null(options.Validate());
        Assert.Equal(new ushort[] { 4789, 8472 }, options.VxlanPorts);
        Assert.Equal(new ushort[] { 6081 }, options.GenevePorts);
        Assert.Equal(3, options.MaxTunnelDepth);
        Assert.Equal(4, options.MaxVlanTags);
        Assert.Equal(8, options.MaxIpv6ExtensionHeaders);
    }

    public static TheoryData<string, DecoderOptions> InvalidOptions => new()
    {
        { "MaxTunnelDepth", new DecoderOptions { MaxTunnelDepth = 0 } },
        { "MaxTunnelDepth", new DecoderOptions { MaxTunnelDepth = 17 } },
        { "MaxVlanTags", new DecoderOptions { MaxVlanTags = -1 } },
        { "MaxIpv6ExtensionHeaders", new DecoderOptions { MaxIpv6ExtensionHeaders = 65 } },
        { "VXLAN ports", new DecoderOptions { VxlanPorts = [0] } },
        { "Geneve ports", new DecoderOptions { GenevePorts = [0] } },
        { "both as a VXLAN and as a Geneve port", new DecoderOptions { VxlanPorts = [6081] } },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Validate_InvalidSetting_NamesIt(string expectedFragment, DecoderOptions options)
    {
        var error = options.Validate();

        Assert.NotNull(error);
        Assert.Contains(expectedFragment, error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void PacketDecoder_InvalidOptions_ThrowsArgumentException(string expectedFragment, DecoderOptions options)
    {
        var exception = Assert.Throws<ArgumentException>(() => new PacketDecoder(options));

        Assert.Contains(expectedFragment, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PacketDecoder_NullOptions_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => new PacketDecoder(null!));
    }
}
