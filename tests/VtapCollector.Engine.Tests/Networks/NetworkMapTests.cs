using VtapCollector.Decoding;
using VtapCollector.Engine.Networks;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Tests.Networks;

public class NetworkMapTests
{
    private static NetworkMap Map(params NetworkDefinition[] definitions)
    {
        var map = NetworkMap.TryCreate(definitions, out var error);
        Assert.True(map is not null, error);
        return map;
    }

    private static NetworkDefinition Net(string name, string[] cidrs, uint[]? vnis = null, bool local = true) => new(name, cidrs, vnis ?? [], local);

    private static string? NameOf(NetworkMap map, string address, uint vni = 0) => map.Lookup(IpAddress.Parse(address), vni)?.Name;

    [Fact]
    public void Lookup_OverlappingPrefixes_LongestPrefixWins()
    {
        var map = Map(
            Net("estate", ["10.0.0.0/8"]),
            Net("spoke1", ["10.1.0.0/16"]),
            Net("db", ["10.1.2.0/24"]),
            Net("dbhost", ["10.1.2.3"]),
            Net("internet", ["0.0.0.0/0"], local: false));

        Assert.Equal("dbhost", NameOf(map, "10.1.2.3"));
        Assert.Equal("db", NameOf(map, "10.1.2.4"));
        Assert.Equal("spoke1", NameOf(map, "10.1.3.4"));
        Assert.Equal("estate", NameOf(map, "10.200.0.1"));
        Assert.Equal("internet", NameOf(map, "192.0.2.1"));
    }

    [Fact]
    public void Lookup_AddressInNoPrefix_ReturnsNull()
    {
        var map = Map(Net("spoke1", ["10.1.0.0/16", "fd00:1::/48"]));
        Assert.Null(NameOf(map, "10.2.0.1"));
        Assert.Null(NameOf(map, "fd00:2::1"));
        Assert.Null(NameOf(map, "::"));
        Assert.Equal("spoke1", NameOf(map, "fd00:1::5"));
    }

    [Fact]
    public void Lookup_IPv4MappedIPv6_MatchesTheIPv4PrefixesBothWays()
    {
        // An IPv4 prefix holds an IPv6 packet's IPv4-mapped address, and a prefix written as
        // IPv4-mapped IPv6 holds IPv4 addresses: both are one place in the 128-bit space.
        var map = Map(Net("v4", ["10.1.0.0/16"]), Net("mapped", ["::ffff:192.168.0.0/112"]), Net("v6", ["2001:db8::/32"]));
        Assert.Equal("v4", NameOf(map, "::ffff:10.1.2.3"));
        Assert.Equal("v4", NameOf(map, "10.1.2.3"));
        Assert.Equal("mapped", NameOf(map, "192.168.7.7"));
        Assert.Equal("mapped", NameOf(map, "::ffff:192.168.7.7"));
        Assert.Null(NameOf(map, "::10.1.2.3"));
        Assert.Equal("v6", NameOf(map, "2001:db8:1::1"));

        // A short IPv6 prefix over the mapped block holds IPv4 addresses too.
        var everything = Map(Net("all", ["::/0"]), Net("v4", ["10.0.0.0/8"]));
        Assert.Equal("all", NameOf(everything, "192.0.2.1"));
        Assert.Equal("v4", NameOf(everything, "10.9.9.9"));
        Assert.Equal("all", NameOf(everything, "2001:db8::1"));
    }

    [Fact]
    public void Lookup_PerVniNetworks_SamePrefixIsTwoNetworksInTwoVnis()
    {
        var map = Map(
            Net("blue", ["10.0.0.0/16"], vnis: [100]),
            Net("green", ["10.0.0.0/16"], vnis: [200, 201]),
            Net("shared", ["10.0.0.0/16"]),
            Net("blue-app", ["10.0.1.0/24"], vnis: [100]),
            Net("anyhost", ["10.0.2.7"]));

        // At equal length the VNI's own entry beats the one without VNIs.
        Assert.Equal("blue", NameOf(map, "10.0.9.9", vni: 100));
        Assert.Equal("green", NameOf(map, "10.0.9.9", vni: 201));
        Assert.Equal("shared", NameOf(map, "10.0.9.9", vni: 300));

        // A VNI entry never matches in another VNI; a longer prefix wins whatever its scope.
        Assert.Equal("blue-app", NameOf(map, "10.0.1.5", vni: 100));
        Assert.Equal("green", NameOf(map, "10.0.1.5", vni: 200));
        Assert.Equal("shared", NameOf(map, "10.0.1.5", vni: 300));
        Assert.Equal("anyhost", NameOf(map, "10.0.2.7", vni: 100));
    }

    [Fact]
    public void Lookup_TenThousandPrefixes_AgreesWithALinearScan()
    {
        // /4 to /32, a tenth of them listed for a VNI (some the same prefix as an unscoped one),
        // probed in four VNIs: the linear scan orders by length, then the VNI's own entry first.
        var random = new Random(12);
        var definitions = new List<NetworkDefinition>();
        var prefixes = new List<(System.Net.IPNetwork Network, uint? Vni, string Name)>();
        for (var i = 0; prefixes.Count < 10_000; i++)
        {
            var length = random.Next(4, 33);
            var address = new System.Net.IPAddress(BitConverter.GetBytes(random.Next()));
            var network = new System.Net.IPNetwork(Mask(address, length), length);
            uint? vni = random.Next(10) == 0 ? (uint)random.Next(1, 4) : null;
            if (random.Next(20) == 0 && prefixes.Count > 0)
            {
                // The same prefix as an earlier unscoped one, for one VNI.
                (network, vni) = (prefixes[random.Next(prefixes.Count)].Network, (uint)random.Next(1, 4));
            }

            if (prefixes.Any(p => p.Network.Equals(network) && p.Vni == vni))
            {
                continue;
            }

            var name = $"n{i}";
            prefixes.Add((network, vni, name));
            definitions.Add(Net(name, [network.ToString()], vni is { } v ? [v] : []));
        }

        var map = Map([.. definitions]);
        for (var probe = 0; probe < 4_000; probe++)
        {
            var address = new System.Net.IPAddress(BitConverter.GetBytes(random.Next()));
            var vni = (uint)random.Next(0, 4);
            var expected = prefixes.Where(p => (p.Vni is null || p.Vni == vni) && p.Network.Contains(address))
                .OrderByDescending(p => p.Network.PrefixLength).ThenByDescending(p => p.Vni is not null)
                .Select(p => p.Name).FirstOrDefault();
            Assert.Equal(expected, NameOf(map, address.ToString(), vni));
        }
    }

    [Theory]
    [InlineData("bad name", "cannot name a network")]
    [InlineData("other", "cannot name a network")]
    [InlineData("", "cannot name a network")]
    public void TryCreate_BadName_ReturnsOneSentence(string name, string expected)
    {
        Assert.Null(NetworkMap.TryCreate([Net(name, ["10.0.0.0/8"])], out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_BadEntries_ReturnOneSentenceNamingThem()
    {
        Assert.Null(NetworkMap.TryCreate([Net("a", ["10.0.0/8"])], out var error));
        Assert.Equal("Networks:a:Cidrs entry '10.0.0/8' is not a CIDR (examples: 10.1.0.0/16, 10.1.2.3, fd00::/8).", error);
        Assert.Null(NetworkMap.TryCreate([Net("a", [])], out error));
        Assert.StartsWith("Networks:a:Cidrs is empty", error, StringComparison.Ordinal);
        Assert.Null(NetworkMap.TryCreate([Net("a", ["10.0.0.0/8"], vnis: [1 << 24])], out error));
        Assert.StartsWith("Networks:a:Vnis entry 16777216 is not a VNI", error, StringComparison.Ordinal);
        Assert.Null(NetworkMap.TryCreate([Net("a", ["10.0.0.0/8"]), Net("b", ["10.1.2.3/8"])], out error));
        Assert.Equal("Networks: the prefix 10.1.2.3/8 is given to both 'a' and 'b' without VNIs; a prefix belongs to one network per VNI.", error);
        Assert.Null(NetworkMap.TryCreate([Net("a", ["10.0.0.0/8"], vnis: [5]), Net("b", ["10.0.0.0/8"], vnis: [6, 5])], out error));
        Assert.Contains("for VNI 5", error, StringComparison.Ordinal);
        Assert.Null(NetworkMap.TryCreate([Net("a", ["10.0.0.0/8"]), Net("A", ["10.0.0.0/9"])], out error));
        Assert.Contains("used twice", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_Record_FillsBothNetworksAndTheDirection()
    {
        var map = Map(Net("spoke1", ["10.1.0.0/16"]), Net("partner", ["198.51.100.0/24"], local: false));
        var record = new FlowRecord { IpVersion = 4, Source = IpAddress.Parse("198.51.100.7"), Destination = IpAddress.Parse("10.1.0.4"), Vni = 9 };

        var classified = map.Classify(record);

        Assert.Equal("partner", classified.SourceNetwork?.Name);
        Assert.Equal("spoke1", classified.DestinationNetwork?.Name);
        Assert.Equal(TrafficDirection.Inbound, classified.Direction);
        Assert.Equal(TrafficDirection.External, map.Classify(record with { Destination = IpAddress.Parse("192.0.2.1") }).Direction);
    }

    private static System.Net.IPAddress Mask(System.Net.IPAddress address, int length)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = length; bit < 32; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new System.Net.IPAddress(bytes);
    }
}
