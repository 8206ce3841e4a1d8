using VtapCollector.Decoding;

namespace VtapCollector.Flows.Tests;

/// <summary>
/// Community ID v1 against published vectors: the ones in Zeek's test suite and the spec's README,
/// and the spec repository's baseline tables (baseline/baseline_deflt.json, baseline_seed1.json,
/// github.com/corelight/community-id-spec), whose ports are ICMP (type, counterpart or code).
/// </summary>
public class CommunityIdTests
{
    [Theory]
    // TCP and UDP 1.2.3.4:1122 -> 5.6.7.8:3344, and the reverse direction.
    [InlineData(IpProtocol.Tcp, "1.2.3.4", 1122, "5.6.7.8", 3344, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=")]
    [InlineData(IpProtocol.Tcp, "5.6.7.8", 3344, "1.2.3.4", 1122, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=")]
    [InlineData(IpProtocol.Tcp, "1.2.3.4", 1122, "5.6.7.8", 3344, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=")]
    [InlineData(IpProtocol.Tcp, "5.6.7.8", 3344, "1.2.3.4", 1122, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=")]
    [InlineData(IpProtocol.Udp, "1.2.3.4", 1122, "5.6.7.8", 3344, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=")]
    [InlineData(IpProtocol.Udp, "5.6.7.8", 3344, "1.2.3.4", 1122, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=")]
    [InlineData(IpProtocol.Udp, "1.2.3.4", 1122, "5.6.7.8", 3344, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=")]
    [InlineData(IpProtocol.Udp, "5.6.7.8", 3344, "1.2.3.4", 1122, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=")]
    // ICMP echo request 1.2.3.4 -> 5.6.7.8 (type 8, code 0) and its reply (type 0, code 0).
    [InlineData(IpProtocol.Icmp, "1.2.3.4", 8, "5.6.7.8", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=")]
    [InlineData(IpProtocol.Icmp, "5.6.7.8", 0, "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=")]
    [InlineData(IpProtocol.Icmp, "1.2.3.4", 8, "5.6.7.8", 0, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=")]
    [InlineData(IpProtocol.Icmp, "5.6.7.8", 0, "1.2.3.4", 0, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=")]
    // ICMPv6 echo request (128) and its reply (129).
    [InlineData(IpProtocol.Icmpv6, "fe80:1:203:405:607:809:a0b:c0d", 128, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 0, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=")]
    [InlineData(IpProtocol.Icmpv6, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 129, "fe80:1:203:405:607:809:a0b:c0d", 0, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=")]
    [InlineData(IpProtocol.Icmpv6, "fe80:1:203:405:607:809:a0b:c0d", 128, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 0, 1, "1:IO27GQzPuCtNnwFvjWALMHu5tJE=")]
    [InlineData(IpProtocol.Icmpv6, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 129, "fe80:1:203:405:607:809:a0b:c0d", 0, 1, "1:IO27GQzPuCtNnwFvjWALMHu5tJE=")]
    // RSVP: no ports.
    [InlineData(46, "1.2.3.4", 0, "5.6.7.8", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=")]
    [InlineData(46, "5.6.7.8", 0, "1.2.3.4", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=")]
    public void Format_ZeekAndSpecVectors_Match(byte protocol, string source, ushort sourcePort, string destination, ushort destinationPort, ushort seed, string expected) =>
        Assert.Equal(expected, Id(protocol, source, sourcePort, destination, destinationPort, seed));

    [Theory]
    [InlineData(58, "fe80::200:86ff:fe05:80da", 135, "fe80::260:97ff:fe07:69ea", 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=")]
    [InlineData(58, "fe80::260:97ff:fe07:69ea", 136, "fe80::200:86ff:fe05:80da", 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=")]
    [InlineData(58, "fe80::260:97ff:fe07:69ea", 135, "fe80::200:86ff:fe05:80da", 136, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=")]
    [InlineData(58, "fe80::200:86ff:fe05:80da", 136, "fe80::260:97ff:fe07:69ea", 135, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=")]
    [InlineData(58, "3ffe:501:1800:2345::2", 3, "3ffe:507:0:1:200:86ff:fe05:80da", 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4=")]
    [InlineData(58, "3ffe:501:410:0:2c0:dfff:fe47:33e", 1, "3ffe:507:0:1:200:86ff:fe05:80da", 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8=")]
    [InlineData(58, "3ffe:507:0:1:200:86ff:fe05:80da", 128, "3ffe:501:0:1001::2", 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=")]
    [InlineData(58, "3ffe:501:0:1001::2", 129, "3ffe:507:0:1:200:86ff:fe05:80da", 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=")]
    [InlineData(58, "fe80::200:86ff:fe05:80da", 133, "ff02::2", 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8=")]
    [InlineData(58, "fe80::260:97ff:fe07:69ea", 134, "ff02::1", 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc=")]
    [InlineData(1, "192.168.0.89", 8, "192.168.0.1", 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=")]
    [InlineData(1, "192.168.0.1", 0, "192.168.0.89", 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=")]
    [InlineData(1, "10.0.0.1", 11, "10.0.0.2", 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20=")]
    [InlineData(6, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw=")]
    [InlineData(6, "2607:f8b0:400c:c03::1a", 25, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw=")]
    [InlineData(132, "192.168.170.8", 7, "192.168.170.56", 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=")]
    [InlineData(132, "192.168.170.56", 7, "192.168.170.8", 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=")]
    [InlineData(6, "128.232.110.120", 34855, "66.35.250.204", 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=")]
    [InlineData(6, "66.35.250.204", 80, "128.232.110.120", 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=")]
    [InlineData(17, "192.168.1.52", 54585, "8.8.8.8", 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=")]
    [InlineData(17, "8.8.8.8", 53, "192.168.1.52", 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=")]
    [InlineData(46, "10.1.12.1", 0, "10.1.12.2", 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI=")]
    [InlineData(46, "10.1.12.2", 0, "10.1.12.1", 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI=")]
    public void Format_SpecBaselineTables_MatchWithSeed0And1(byte protocol, string source, ushort sourcePort, string destination, ushort destinationPort, string seed0, string seed1)
    {
        Assert.Equal(seed0, Id(protocol, source, sourcePort, destination, destinationPort, 0));
        Assert.Equal(seed1, Id(protocol, source, sourcePort, destination, destinationPort, 1));
    }

    [Fact]
    public void Format_OneWayIcmp_IsNotReorderedSoTheTwoEndsDiffer()
    {
        // Type 3 from either end: the spec keeps one-way messages in their own direction.
        Assert.NotEqual(Id(IpProtocol.Icmp, "1.2.3.4", 3, "5.6.7.8", 1), Id(IpProtocol.Icmp, "5.6.7.8", 3, "1.2.3.4", 1));
    }

    [Fact]
    public void Format_FlowRecordPortsOfAnEchoFlow_GiveTheSameIdAsThePackets()
    {
        // A flow record carries (type, counterpart); the encoder passes those back in.
        Assert.Equal("1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", Id(IpProtocol.Icmp, "5.6.7.8", 0, "1.2.3.4", 8));
        Assert.Equal("1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", Id(IpProtocol.Icmpv6, "fe80:1:203:405:607:809:a0b:c0d", 128, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 129));
    }

    [Fact]
    public void Format_PortlessProtocol_IgnoresWhateverPortsItIsGiven()
    {
        Assert.Equal("1:ikv3kmf89luf73WPz1jOs49S768=", Id(46, "1.2.3.4", 1234, "5.6.7.8", 5678));
    }

    [Fact]
    public void Format_WritesExactlyLengthBytesAndAllocatesNothing()
    {
        var output = new byte[CommunityId.Length];
        var source = IpAddress.Parse("2001:470:e5bf:dead:4957:2174:e82c:4887");
        var destination = IpAddress.Parse("2607:f8b0:400c:c03::1a");
        Assert.Equal(CommunityId.Length, CommunityId.Format(6, source, destination, IpProtocol.Tcp, 63943, 25, 0, output));

        void Run()
        {
            for (var i = 0; i < 10_000; i++)
            {
                CommunityId.Format(6, source, destination, IpProtocol.Tcp, (ushort)i, 25, 0, output);
            }
        }

        Run();
        Assert.Equal(0, Allocations.Least(Run));
    }

    private static string Id(byte protocol, string source, ushort sourcePort, string destination, ushort destinationPort, ushort seed = 0) =>
        CommunityId.ToString(
            source.Contains(':', StringComparison.Ordinal) ? (byte)6 : (byte)4,
            IpAddress.Parse(source),
            IpAddress.Parse(destination),
            protocol,
            sourcePort,
            destinationPort,
            seed);
}
