using VtapCollector.Decoding;

namespace VtapCollector.Flows.Tests;

public class TrafficDirectionTests
{
    /// <summary>The decision table written out by hand: who opened the flow, and whether each end is in a Local network.</summary>
    [Theory]
    [InlineData(false, true, "inbound")]
    [InlineData(true, false, "outbound")]
    [InlineData(true, true, "internal")]
    [InlineData(false, false, "external")]
    public void Of_InitiatorAndResponderLocality_IsTheHandWrittenDirection(bool initiatorLocal, bool responderLocal, string expected)
    {
        var direction = TrafficDirections.Of(initiatorLocal, responderLocal);
        Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(TrafficDirections.Label(direction)));
    }

    [Fact]
    public void Label_Unknown_IsEmpty()
    {
        Assert.True(TrafficDirections.Label(TrafficDirection.Unknown).IsEmpty);
        Assert.Equal(TrafficDirections.Count, Enum.GetValues<TrafficDirection>().Length);
    }

    [Theory]
    [InlineData("10.0.0.4", "10.0.0.4", "10.0.0.9", 'O')]
    [InlineData("10.0.0.9", "10.0.0.4", "10.0.0.9", 'I')]
    [InlineData("10.0.0.1", "10.0.0.4", "10.0.0.9", '\0')]
    public void FlowLogDirection_TunnelSourceIsAnEndpoint_IsIOrO(string tunnelSource, string source, string destination, char expected)
    {
        var record = new FlowRecord
        {
            Tunnel = TunnelKind.Vxlan,
            TunnelIpVersion = 4,
            IpVersion = 4,
            TunnelSource = IpAddress.Parse(tunnelSource),
            Source = IpAddress.Parse(source),
            Destination = IpAddress.Parse(destination),
        };

        Assert.Equal((byte)expected, FlowLogDirection.Of(record));
        Assert.Equal(0, FlowLogDirection.Of(record with { Tunnel = TunnelKind.None }));
    }
}
