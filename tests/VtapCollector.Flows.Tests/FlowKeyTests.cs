using VtapCollector.Decoding;

namespace VtapCollector.Flows.Tests;

public class FlowKeyTests
{
    private static readonly IpAddress Low = IpAddress.Parse("10.0.0.1");
    private static readonly IpAddress High = IpAddress.Parse("10.0.0.2");

    [Fact]
    public void Create_BothDirections_GiveEqualKeysWithOppositeSenders()
    {
        var forward = FlowKey.Create(7, 4, IpProtocol.Tcp, High, 40000, Low, 443, out var forwardSenderIsA);
        var reverse = FlowKey.Create(7, 4, IpProtocol.Tcp, Low, 443, High, 40000, out var reverseSenderIsA);

        Assert.Equal(forward, reverse);
        Assert.True(forward == reverse);
        Assert.False(forward != reverse);
        Assert.Equal(forward.Hash(), reverse.Hash());
        Assert.Equal(forward.GetHashCode(), reverse.GetHashCode());
        Assert.False(forwardSenderIsA);
        Assert.True(reverseSenderIsA);
    }

    [Fact]
    public void Create_PutsTheLowerAddressFirst()
    {
        var key = FlowKey.Create(7, 4, IpProtocol.Udp, High, 1, Low, 2, out _);

        Assert.Equal(Low, key.AddressA);
        Assert.Equal(2, key.PortA);
        Assert.Equal(High, key.AddressB);
        Assert.Equal(1, key.PortB);
        Assert.Equal((7u, (byte)4, IpProtocol.Udp), (key.Vni, key.IpVersion, key.Protocol));
    }

    [Fact]
    public void Create_EqualAddresses_PutsTheLowerPortFirst()
    {
        var key = FlowKey.Create(7, 4, IpProtocol.Udp, Low, 9000, Low, 53, out var senderIsA);

        Assert.Equal((53, 9000), (key.PortA, key.PortB));
        Assert.False(senderIsA);
    }

    [Theory]
    [InlineData("10.0.0.1", "200.0.0.1")]         // unsigned: 200 > 10 even though 200.x has the top bit set
    [InlineData("127.255.255.255", "128.0.0.0")]
    [InlineData("2001:db8::1", "fe80::1")]
    [InlineData("fe80::1", "ff02::1")]
    [InlineData("::1", "::2")]
    [InlineData("2001:db8::ffff:ffff:ffff", "2001:db8:0:1::")] // the high 64 bits decide first
    public void IsLower_ComparesAddressesAsUnsignedNetworkOrderBytes(string lower, string higher)
    {
        Assert.True(FlowKey.IsLower(IpAddress.Parse(lower), 65535, IpAddress.Parse(higher), 0));
        Assert.False(FlowKey.IsLower(IpAddress.Parse(higher), 0, IpAddress.Parse(lower), 65535));
    }

    [Fact]
    public void IsLower_SameAddressAndPort_IsTrue()
    {
        Assert.True(FlowKey.IsLower(Low, 5, Low, 5));
    }

    [Fact]
    public void Create_KeysDifferingInOneField_AreNotEqual()
    {
        var key = FlowKey.Create(7, 4, IpProtocol.Udp, Low, 1, High, 2, out _);
        FlowKey[] others =
        [
            FlowKey.Create(8, 4, IpProtocol.Udp, Low, 1, High, 2, out _),
            FlowKey.Create(7, 4, IpProtocol.Tcp, Low, 1, High, 2, out _),
            FlowKey.Create(7, 6, IpProtocol.Udp, Low, 1, High, 2, out _),
            FlowKey.Create(7, 4, IpProtocol.Udp, Low, 3, High, 2, out _),
            FlowKey.Create(7, 4, IpProtocol.Udp, Low, 1, High, 3, out _),
            FlowKey.Create(7, 4, IpProtocol.Udp, IpAddress.Parse("10.0.0.3"), 1, High, 2, out _),
            FlowKey.Create(7, 4, IpProtocol.Udp, Low, 1, IpAddress.Parse("10.0.0.3"), 2, out _),
        ];

        foreach (var other in others)
        {
            Assert.NotEqual(key, other);
            Assert.False(key.Equals((object)other));
            Assert.NotEqual(key.Hash(), other.Hash());
        }

        Assert.True(key.Equals((object)FlowKey.Create(7, 4, IpProtocol.Udp, High, 2, Low, 1, out _)));
        Assert.False(key.Equals("not a key"));
    }

    [Fact]
    public void Hash_IsFixedAcrossProcesses()
    {
        // Fixed constants, no per-process seed: replays repeat their flow ids and table layout.
        var key = FlowKey.Create(4096, 4, IpProtocol.Tcp, IpAddress.Parse("10.0.0.20"), 40000, IpAddress.Parse("10.0.0.10"), 443, out _);
        Assert.Equal(0xCB002472C6526A75UL, key.Hash());
    }

    [Fact]
    public void Hash_ManyKeys_SpreadOverTheLowBits()
    {
        // The table indexes by the low bits: 4096 keys over 4096 buckets leave about 1/e empty.
        var buckets = new int[4096];
        for (var i = 0; i < 4096; i++)
        {
            var key = FlowKey.Create(1, 4, IpProtocol.Udp, IpAddress.FromIPv4(0x0A000000u + (uint)i), 53, IpAddress.FromIPv4(0x0A640001), 53, out _);
            buckets[key.Hash() & 4095]++;
        }

        Assert.InRange(buckets.Count(b => b == 0), 1300, 1700);
        Assert.True(buckets.Max() <= 10);
    }

    [Fact]
    public void Mix_IsABijectionOnSamples()
    {
        var random = new Random(1);
        var seen = new HashSet<ulong>();
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(seen.Add(FlowKey.Mix((ulong)i)));
            Assert.True(seen.Add(FlowKey.Mix((ulong)random.NextInt64() | (1UL << 63))));
        }
    }
}
