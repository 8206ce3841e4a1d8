using VtapCollector.Decoding;

namespace VtapCollector.Flows.Tests;

public class IcmpTypesTests
{
    [Theory]
    [InlineData(8, 0)]    // echo request / reply (RFC 792)
    [InlineData(0, 8)]
    [InlineData(13, 14)]  // timestamp
    [InlineData(14, 13)]
    [InlineData(15, 16)]  // information
    [InlineData(16, 15)]
    [InlineData(10, 9)]   // router solicitation / advertisement (RFC 1256)
    [InlineData(9, 10)]
    [InlineData(17, 18)]  // address mask (RFC 950)
    [InlineData(18, 17)]
    public void TryMapPorts_Icmpv4RequestReplyType_GivesTypeAndCounterpart(byte type, byte counterpart)
    {
        Assert.True(IcmpTypes.TryMapPorts(IpProtocol.Icmp, type, 0, out var sourcePort, out var destinationPort));
        Assert.Equal((type, counterpart), (sourcePort, destinationPort));
    }

    [Theory]
    [InlineData(128, 129) /* echo (RFC 4443) */]
    [InlineData(129, 128)]
    [InlineData(130, 131) /* MLD query / report (RFC 2710) */]
    [InlineData(131, 130)]
    [InlineData(133, 134) /* router solicitation / advertisement (RFC 4861) */]
    [InlineData(134, 133)]
    [InlineData(135, 136) /* neighbour solicitation / advertisement */]
    [InlineData(136, 135)]
    [InlineData(139, 140) /* node information (RFC 4620) */]
    [InlineData(140, 139)]
    [InlineData(144, 145) /* home agent address discovery (RFC 6275) */]
    [InlineData(145, 144)]
    public void TryMapPorts_Icmpv6RequestReplyType_GivesTypeAndCounterpart(byte type, byte counterpart)
    {
        Assert.True(IcmpTypes.TryMapPorts(IpProtocol.Icmpv6, type, 0, out var sourcePort, out var destinationPort));
        Assert.Equal((type, counterpart), (sourcePort, destinationPort));
    }

    [Theory]
    [InlineData(IpProtocol.Icmp, 3, 1)]     // destination unreachable, host
    [InlineData(IpProtocol.Icmp, 3, 13)]    // administratively prohibited
    [InlineData(IpProtocol.Icmp, 11, 0)]    // time exceeded
    [InlineData(IpProtocol.Icmp, 5, 1)]     // redirect
    [InlineData(IpProtocol.Icmp, 128, 0)]   // ICMPv6's echo number means nothing in ICMPv4
    [InlineData(IpProtocol.Icmpv6, 1, 4)]   // destination unreachable, port
    [InlineData(IpProtocol.Icmpv6, 2, 0)]   // packet too big
    [InlineData(IpProtocol.Icmpv6, 3, 1)]   // time exceeded
    [InlineData(IpProtocol.Icmpv6, 137, 0)] // redirect
    [InlineData(IpProtocol.Icmpv6, 8, 0)]   // ICMPv4's echo number means nothing in ICMPv6
    [InlineData(IpProtocol.Icmpv6, 0, 0)]
    public void TryMapPorts_OneWayType_KeepsTypeAndCode(byte protocol, byte type, byte code)
    {
        Assert.False(IcmpTypes.TryMapPorts(protocol, type, code, out var sourcePort, out var destinationPort));
        Assert.Equal((type, code), (sourcePort, destinationPort));
    }

    [Fact]
    public void TryMapPorts_RequestReplyType_IgnoresTheCode()
    {
        Assert.True(IcmpTypes.TryMapPorts(IpProtocol.Icmp, 8, 77, out _, out var destinationPort));
        Assert.Equal(0, destinationPort);
    }

    [Theory]
    [InlineData(IpProtocol.Icmp)]
    [InlineData(IpProtocol.Icmpv6)]
    public void TryMapPorts_EveryType_PairsSymmetrically(byte protocol)
    {
        var paired = 0;
        for (var type = 0; type < 256; type++)
        {
            if (!IcmpTypes.TryMapPorts(protocol, (byte)type, 0, out _, out var counterpart))
            {
                continue;
            }

            paired++;
            Assert.NotEqual(type, counterpart);
            Assert.True(IcmpTypes.TryMapPorts(protocol, (byte)counterpart, 0, out _, out var back));
            Assert.Equal(type, back);
        }

        Assert.Equal(protocol == IpProtocol.Icmp ? 10 : 12, paired);
    }
}
