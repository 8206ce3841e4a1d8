using VtapCollector.Decoding;
using VtapCollector.Engine.Networks;
using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Engine.Tests.Networks;

/// <summary>Capture filters' local and remote terms follow the networks marked Local once there are any.</summary>
public class LocalNetworksTests
{
    /// <summary>10.1.2.3 (in the local spoke) talks to 192.0.2.7 (the internet); the mirror came from 172.16.0.9, neither endpoint.</summary>
    private static DecodedPacket Packet() => new()
    {
        Tunnel = TunnelKind.Vxlan,
        Vni = 100,
        TunnelSource = IpAddress.Parse("172.16.0.9"),
        IpVersion = 4,
        Protocol = 6,
        Source = IpAddress.Parse("10.1.2.3"),
        SourcePort = 50000,
        Destination = IpAddress.Parse("192.0.2.7"),
        DestinationPort = 443,
    };

    private static CaptureFilter Filter(string text) =>
        CaptureFilterParser.TryParse(text, out var error) ?? throw new InvalidOperationException(error);

    private static NetworkMap Map(bool spokeLocal) =>
        NetworkMap.TryCreate([new NetworkDefinition("spoke1", ["10.1.0.0/16"], [], spokeLocal)], out var error)
            ?? throw new InvalidOperationException(error);

    [Fact]
    public void For_MapWithoutLocalNetwork_KeepsTheTunnelSourceRule()
    {
        Assert.Null(LocalNetworks.For(Map(spokeLocal: false)));
        Assert.Null(LocalNetworks.For(NetworkMap.Empty));
    }

    [Fact]
    public void Matches_LocalNetworkConfigured_TheSpokeAddressIsTheLocalSide()
    {
        var locals = LocalNetworks.For(Map(spokeLocal: true));
        Assert.NotNull(locals);
        var packet = Packet();

        // With the local network, 10.1.2.3 is local whichever way the packet goes, so it is never remote.
        Assert.True(Filter("local=10.1.2.3").Matches(packet, locals));
        Assert.True(Filter("remote=192.0.2.0/24,rport=443").Matches(packet, locals));
        Assert.False(Filter("remote=10.1.2.3").Matches(packet, locals));
        Assert.False(Filter("local=192.0.2.7").Matches(packet, locals));

        // The tunnel-source rule knows no local side here (the mirror is neither endpoint), so either endpoint may be the remote one.
        Assert.True(Filter("remote=10.1.2.3").Matches(packet, null));
    }
}
