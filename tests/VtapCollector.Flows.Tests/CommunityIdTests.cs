using VtapCollector.Decoding;

namespace VtapCollector.Flows.Tests;

/// <summary>The Community ID v1 vectors published with Zeek's implementation and the spec.</summary>
public class CommunityIdTests
{
    [Theory]
    [InlineData(IpProtocol.Tcp, "1.2.3.4", 1122, "5.6.7.8", 3344, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=")]
    [InlineData(IpProtocol.Tcp, "1.2.3.4", 1122, "5.6.7.8", 3344, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=")]
    [InlineData(IpProtocol.Udp, "1.2.3.4", 1122, "5.6.7.8", 3344, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=")]
    [InlineData(IpProtocol.Udp, "1.2.3.4", 1122, "5.6.7.8", 3344, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=")]
    [InlineData(IpProtocol.Icmp, "1.2.3.4", 8, "5.6.7.8", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=")]
    [InlineData(IpProtocol.Icmp, "1.2.3.4", 8, "5.6.7.8", 0, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=")]
    [InlineData(IpProtocol.Icmpv6, "fe80:1:203:405:607:809:a0b:c0d", 128, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 0, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=")]
    [InlineData(IpProtocol.Icmpv6, "fe80:1:203:405:607:809:a0b:c0d", 128, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 0, 1, "1:IO27GQzPuCtNnwFvjWALMHu5tJE=")]
    [InlineData(46, "1.2.3.4", 0, "5.6.7.8", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=")]
    public void Format_PublishedVector_Matches(byte protocol, string source, ushort sourcePort, string destination, ushort destinationPort, ushort seed, string expected)
    {
        var version = source.Contains(':', StringComparison.Ordinal) ? (byte)6 : (byte)4;
        Assert.Equal(expected, CommunityId.ToString(version, IpAddress.Parse(source), IpAddress.Parse(destination), protocol, sourcePort, destinationPort, seed));
    }

    [Theory]
    [InlineData(IpProtocol.Tcp, 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=")]
    [InlineData(IpProtocol.Udp, 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=")]
    [InlineData(IpProtocol.Icmp, 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=")]
    public void Format_ReverseDirection_GivesTheSameId(byte protocol, ushort sourcePort, ushort destinationPort, string expected) =>
        Assert.Equal(expected, CommunityId.ToString(4, IpAddress.Parse("5.6.7.8"), IpAddress.Parse("1.2.3.4"), protocol, sourcePort, destinationPort));
}
