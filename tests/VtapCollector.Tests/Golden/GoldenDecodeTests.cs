using VtapCollector.Decoding;

namespace VtapCollector.Tests.Golden;

/// <summary>
/// The decoder against tcpdump's own decodes of real captures (tests/data/tcpdump, from tcpdump's
/// test suite; see the README there). Each capture's packets are decoded and compared, packet by
/// packet, with what <see cref="TcpdumpOutput"/> reads from tcpdump's printout: same number of
/// packets, same inner addresses, ports (or ICMP type), protocol, TCP flags and VNI, and an IP
/// length equal to the one tcpdump printed (its "real length" for BIG TCP / GSO super-packets).
/// </summary>
public class GoldenDecodeTests
{
    /// <summary>What a capture is expected to decode to, beyond the per-packet comparison.</summary>
    public enum Expectation
    {
        /// <summary>Tunnelled traffic: every packet decodes (Ok or Arp) with a tunnel and tcpdump's VNI.</summary>
        Tunnelled,
        /// <summary>Plain traffic (no tunnel) that decodes like tcpdump's printout.</summary>
        Plain,
        /// <summary>VXLAN-GPE carrying NSH: reported, not misparsed.</summary>
        VxlanGpe,
        /// <summary>ERSPAN over GRE: GRE packets are GreUnsupported, others decode plainly.</summary>
        Erspan,
    }

    public static TheoryData<string, string, Expectation> Captures => new()
    {
        { "vxlan.pcap", "vxlan.out", Expectation.Tunnelled },
        { "vxlan_port_8472.pcap", "vxlan_port_8472.out", Expectation.Tunnelled },
        { "geneve.pcap", "geneve-vv.out", Expectation.Tunnelled },
        { "geneve-gcp.pcap", "geneve-gcp.out", Expectation.Tunnelled },
        { "nsh-over-vxlan-gpe.pcap", "nsh-over-vxlan-gpe.out", Expectation.VxlanGpe },
        { "gso-ipv4.pcap", "gso-ipv4.out", Expectation.Plain },
        { "gso-ipv6.pcap", "gso-ipv6.out", Expectation.Plain },
        { "gso-ipv4-vxlan-ipv4.pcap", "gso-ipv4-vxlan-ipv4.out", Expectation.Tunnelled },
        { "gso-ipv4-vxlan-ipv6.pcap", "gso-ipv4-vxlan-ipv6.out", Expectation.Tunnelled },
        { "gso-ipv4-geneve-ipv4.pcap", "gso-ipv4-geneve-ipv4.out", Expectation.Tunnelled },
        { "gso-ipv4-geneve-ipv6.pcap", "gso-ipv4-geneve-ipv6.out", Expectation.Tunnelled },
        { "gso-ipv6-vxlan-ipv4.pcap", "gso-ipv6-vxlan-ipv4.out", Expectation.Tunnelled },
        { "gso-ipv6-vxlan-ipv6.pcap", "gso-ipv6-vxlan-ipv6.out", Expectation.Tunnelled },
        { "gso-ipv6-geneve-ipv4.pcap", "gso-ipv6-geneve-ipv4.out", Expectation.Tunnelled },
        { "gso-ipv6-geneve-ipv6.pcap", "gso-ipv6-geneve-ipv6.out", Expectation.Tunnelled },
        { "bigtcp-ipv4.pcap", "bigtcp-ipv4.out", Expectation.Plain },
        { "bigtcp-ipv6.pcap", "bigtcp-ipv6.out", Expectation.Plain },
        { "bigtcp-ipv6-hbh.pcap", "bigtcp-ipv6-hbh.out", Expectation.Plain },
        { "bigtcp-ipv4-vxlan-ipv4.pcap", "bigtcp-ipv4-vxlan-ipv4.out", Expectation.Tunnelled },
        { "bigtcp-ipv4-vxlan-ipv6.pcap", "bigtcp-ipv4-vxlan-ipv6.out", Expectation.Tunnelled },
        { "bigtcp-ipv4-geneve-ipv4.pcap", "bigtcp-ipv4-geneve-ipv4.out", Expectation.Tunnelled },
        { "bigtcp-ipv4-geneve-ipv6.pcap", "bigtcp-ipv4-geneve-ipv6.out", Expectation.Tunnelled },
        { "bigtcp-ipv6-vxlan-ipv4.pcap", "bigtcp-ipv6-vxlan-ipv4.out", Expectation.Tunnelled },
        { "bigtcp-ipv6-vxlan-ipv6.pcap", "bigtcp-ipv6-vxlan-ipv6.out", Expectation.Tunnelled },
        { "bigtcp-ipv6-geneve-ipv4.pcap", "bigtcp-ipv6-geneve-ipv4.out", Expectation.Tunnelled },
        { "bigtcp-ipv6-geneve-ipv6.pcap", "bigtcp-ipv6-geneve-ipv6.out", Expectation.Tunnelled },
        { "erspan-type-i-1.pcap", "erspan-type-i-1.out", Expectation.Erspan },
        { "erspan-type-i-2.pcap", "erspan-type-i-2.out", Expectation.Erspan },
        { "erspan-type-i-3.pcap", "erspan-type-i-3.out", Expectation.Erspan },
        { "erspan-type-i-4.pcap", "erspan-type-i-4.out", Expectation.Erspan },
        { "erspan-type-ii-1.pcap", "erspan-type-ii-1.out", Expectation.Erspan },
        { "erspan-type-ii-2.pcap", "erspan-type-ii-2.out", Expectation.Erspan },
        { "erspan-type-ii-3.pcap", "erspan-type-ii-3.out", Expectation.Erspan },
        { "erspan-type-iii-ft-0.pcap", "erspan-type-iii-ft-0.out", Expectation.Erspan },
        { "erspan-type-iii-ft-7.pcap", "erspan-type-iii-ft-7.out", Expectation.Erspan },
        { "erspan-type-iii-pb-1.pcap", "erspan-type-iii-pb-1.out", Expectation.Erspan },
    };

    [Theory]
    [MemberData(nameof(Captures))]
    public void Decode_Capture_AgreesWithTcpdump(string capture, string output, Expectation expectation)
    {
        var frames = GoldenData.ReadCapture(capture);
        var printed = TcpdumpOutput.ParseFile(GoldenData.PathOf(output));
        var decoder = new PacketDecoder();

        Assert.Equal(printed.Count, frames.Count);
        for (var i = 0; i < frames.Count; i++)
        {
            var frame = frames[i];
            var expected = printed[i];
            var status = decoder.Decode(frame.LinkType, frame.Data, out var packet);
            var where = $"{capture} packet {expected.Number}: {status}\n{expected.Text}";

            switch (expectation)
            {
                case Expectation.VxlanGpe:
                    Assert.True(status == DecodeStatus.VxlanGpeUnsupported, where);
                    continue;
                case Expectation.Erspan when expected.IsGre:
                    // GRE carrying ERSPAN is reported; plain GRE (here OSPF inside) is a flow of protocol 47.
                    var erspan = expected.Text.Contains("erspan", StringComparison.Ordinal);
                    Assert.True(status == (erspan ? DecodeStatus.GreUnsupported : DecodeStatus.Ok), where);
                    Assert.True(packet.Protocol == 47, where);
                    Assert.True(packet.Source == IpAddress.Parse(expected.OuterSource!), $"GRE source {packet.Source}: {where}");
                    Assert.True(packet.Destination == IpAddress.Parse(expected.OuterDestination!), $"GRE destination {packet.Destination}: {where}");
                    continue;
                default:
                    break;
            }

            if (expected.IsArp)
            {
                Assert.True(status == DecodeStatus.Arp, where);
                continue;
            }

            if (expected.Source is null)
            {
                // Neither IP nor ARP in tcpdump's eyes (LLDP, unknown EtherTypes such as 0x88a7).
                Assert.True(status == DecodeStatus.UnknownEtherType, where);
                continue;
            }

            Assert.True(status == DecodeStatus.Ok, where);
            AssertAgrees(expected, packet, frame, expectation, where);
        }
    }

    private static void AssertAgrees(TcpdumpPacket expected, in DecodedPacket packet, GoldenFrame frame, Expectation expectation, string where)
    {
        if (expectation == Expectation.Tunnelled)
        {
            Assert.True(expected.Vni is not null, $"tcpdump printed no VNI: {where}");
            Assert.True(packet.Tunnel != TunnelKind.None && packet.TunnelDepth == 1, where);
            Assert.True(packet.Vni == expected.Vni, $"VNI {packet.Vni} != {expected.Vni}: {where}");
            Assert.True(packet.TunnelSource == IpAddress.Parse(expected.OuterSource!), $"tunnel source {packet.TunnelSource}: {where}");
            Assert.True(packet.TunnelDestination == IpAddress.Parse(expected.OuterDestination!), $"tunnel destination {packet.TunnelDestination}: {where}");
        }
        else
        {
            Assert.True(packet.Tunnel == TunnelKind.None, where);
        }

        Assert.True(expected.Source is not null && expected.Destination is not null, $"tcpdump printed no addresses: {where}");
        Assert.True(packet.Source == IpAddress.Parse(expected.Source), $"source {packet.Source} != {expected.Source}: {where}");
        Assert.True(packet.Destination == IpAddress.Parse(expected.Destination), $"destination {packet.Destination} != {expected.Destination}: {where}");
        Assert.True(packet.IpVersion == (expected.Source.Contains(':', StringComparison.Ordinal) ? 6 : 4), where);

        if (expected.Protocol is int protocol)
        {
            Assert.True(packet.Protocol == protocol, $"protocol {packet.Protocol} != {protocol}: {where}");
        }

        if (expected.SourcePort is int sourcePort)
        {
            Assert.True(packet.SourcePort == sourcePort && packet.DestinationPort == expected.DestinationPort,
                $"ports {packet.SourcePort} > {packet.DestinationPort}: {where}");
        }
        else if (expected.IcmpType is int icmpType)
        {
            Assert.True(packet.IsIcmp && packet.SourcePort == icmpType && packet.DestinationPort == 0, $"ICMP type {packet.SourcePort}: {where}");
        }

        if (expected.TcpFlags is byte flags)
        {
            Assert.True(packet.TcpFlags == flags, $"TCP flags 0x{packet.TcpFlags:x2} != 0x{flags:x2}: {where}");
        }

        if (expected.IpLength is uint ipLength)
        {
            Assert.True(packet.IpBytes == ipLength, $"IP bytes {packet.IpBytes} != {ipLength}: {where}");
        }

        // GSO / BIG TCP: the length field was 0 and the decoder took the captured length, as tcpdump presumed.
        Assert.True(packet.Flags.HasFlag(PacketFlags.LengthFromCapture) == expected.LengthPresumed, $"flags {packet.Flags}: {where}");

        // Whole packets were captured, except where the capture says otherwise.
        Assert.True(packet.Flags.HasFlag(PacketFlags.TruncatedCopy) == (frame.Data.Length < frame.OriginalLength), $"flags {packet.Flags}: {where}");
    }

    [Fact]
    public void Captures_IncludeEveryTunnelGreAndLengthCapture()
    {
        // Every capture of the copied test data is compared above (a new one must be added to the table).
        var named = Captures.Select(row => (string)row[0]).ToHashSet(StringComparer.Ordinal);
        var onDisk = System.IO.Directory.GetFiles(GoldenData.Directory, "*.pcap").Select(f => Path.GetFileName(f)).ToList();

        Assert.NotEmpty(onDisk);
        Assert.All(onDisk, f => Assert.Contains(f, named));
    }
}
