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
        /// <summary>
        /// ERSPAN over GRE: every packet decapsulates with tcpdump's session ID and VLAN, except the
        /// ones tcpdump could not read either (an unknown frame type, a GRE header with RFC 1701 source routing).
        /// </summary>
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

            // The ERSPAN captures hold a few packets of the mirroring link itself (OSPF): plain traffic.
            var kind = expectation == Expectation.Erspan && !expected.IsGre ? Expectation.Plain : expectation;
            switch (kind)
            {
                case Expectation.VxlanGpe:
                    Assert.True(status == DecodeStatus.VxlanGpeUnsupported, where);
                    continue;
                case Expectation.Erspan when expected.Erspan is null:
                    // GRE carrying IP (here OSPF) is no mirror: a flow of protocol 47 between the GRE endpoints.
                    Assert.True(status == DecodeStatus.Ok && packet.Tunnel == TunnelKind.None && packet.Protocol == 47, where);
                    Assert.True(packet.Source == IpAddress.Parse(expected.OuterSource!), $"GRE source {packet.Source}: {where}");
                    Assert.True(packet.Destination == IpAddress.Parse(expected.OuterDestination!), $"GRE destination {packet.Destination}: {where}");
                    continue;
                case Expectation.Erspan:
                    if (expected.Text.Contains("Frame type unknown", StringComparison.Ordinal))
                    {
                        Assert.True(status == DecodeStatus.ErspanFrameTypeUnsupported, where);
                        continue;
                    }

                    if (expected.Text.Contains("source routing present", StringComparison.Ordinal))
                    {
                        // RFC 2784 section 2.3: the R bit is RFC 1701's; tcpdump stops inside this one's ERSPAN header too.
                        Assert.True(status == DecodeStatus.GreFlagsInvalid, where);
                        continue;
                    }

                    AssertErspan(expected, packet, where);
                    if (expected.Source == expected.OuterSource && expected.Destination == expected.OuterDestination)
                    {
                        // tcpdump printed no inner IP header: the mirrored frame is ARP, STP, SNAP...
                        Assert.True(status == (expected.IsArp ? DecodeStatus.Arp : DecodeStatus.UnknownEtherType), where);
                        continue;
                    }

                    break;
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
            AssertAgrees(expected, packet, frame, kind, where);
        }
    }

    /// <summary>The ERSPAN layer: tunnel kind, tcpdump's outer endpoints, session ID (0 for type I) and VLAN.</summary>
    private static void AssertErspan(TcpdumpPacket expected, in DecodedPacket packet, string where)
    {
        var erspan = expected.Erspan!;
        Assert.True(packet.Tunnel == TunnelKind.Erspan && packet.TunnelDepth == 1, $"tunnel {packet.Tunnel} depth {packet.TunnelDepth}: {where}");
        Assert.True(packet.Vni == (erspan.Session ?? 0), $"session {packet.Vni} != {erspan.Session}: {where}");
        Assert.True(packet.TunnelSource == IpAddress.Parse(expected.OuterSource!), $"tunnel source {packet.TunnelSource}: {where}");
        Assert.True(packet.TunnelDestination == IpAddress.Parse(expected.OuterDestination!), $"tunnel destination {packet.TunnelDestination}: {where}");
        if (erspan.Vlan is int vlan)
        {
            // None of these mirrored frames carries a tag of its own: the record's VLAN is ERSPAN's.
            Assert.True(packet.Vlan == vlan, $"VLAN {packet.Vlan} != {vlan}: {where}");
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
        else if (expectation != Expectation.Erspan)
        {
            // ERSPAN's tunnel was checked by AssertErspan.
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

    public static TheoryData<string> ErspanCaptures => new(Captures.Select(row => (string)row[0]).Where(name => name.StartsWith("erspan-", StringComparison.Ordinal)));

    /// <summary>
    /// The same ERSPAN captures against tshark, a second decoder written apart from tcpdump's: for
    /// every frame in which tshark finds an inner IP packet (read by <see cref="Oracle.TsharkOracle"/>
    /// by the documented flow definition), the decoder returns it with the same tunnel, session ID,
    /// VLAN (the ERSPAN header's when the mirrored frame has no tag), addresses, ports and IP length;
    /// for every other frame (STP, LLDP, an unknown ERSPAN frame type, a header tshark stops in) it
    /// returns no packet either.
    /// </summary>
    [Theory]
    [MemberData(nameof(ErspanCaptures))]
    public void Decode_ErspanCapture_AgreesWithTshark(string capture)
    {
        var frames = GoldenData.ReadCapture(capture);
        var scratch = Directory.CreateTempSubdirectory("vtap-golden-tshark-").FullName;
        try
        {
            var oracle = Oracle.TsharkOracle.FromRows(Oracle.TsharkOracle.RunTshark(GoldenData.PathOf(capture), scratch));
            var byFrame = oracle.Packets.ToDictionary(packet => packet.Frame);
            var decoder = new PacketDecoder();

            // Some of these captures hold no inner IP at all (STP, ARP, frame type 7): every frame must then give no packet.
            Assert.NotEmpty(frames);
            Assert.Equal(frames.Count, oracle.Frames);
            for (var i = 0; i < frames.Count; i++)
            {
                var status = decoder.Decode(frames[i].LinkType, frames[i].Data, out var packet);
                var where = $"{capture} frame {i + 1}: {status}";
                if (!byFrame.TryGetValue(i + 1, out var expected))
                {
                    Assert.True(status != DecodeStatus.Ok, $"tshark found no inner IP packet: {where}");
                    continue;
                }

                Assert.True(status == DecodeStatus.Ok, where);
                var tunnel = expected.Tunnel == "none" ? TunnelKind.None : expected.Tunnel == "erspan" ? TunnelKind.Erspan : (TunnelKind)byte.MaxValue;
                Assert.True(packet.Tunnel == tunnel, $"tunnel {packet.Tunnel} != {expected.Tunnel}: {where}");
                Assert.True(packet.Vni == expected.Vni, $"session {packet.Vni} != {expected.Vni}: {where}");
                Assert.True(packet.Vlan == expected.Vlan, $"VLAN {packet.Vlan} != {expected.Vlan}: {where}");
                Assert.True(packet.Protocol == expected.Protocol, $"protocol {packet.Protocol} != {expected.Protocol}: {where}");
                Assert.True(packet.Source == IpAddress.Parse(expected.Source.Address) && packet.Destination == IpAddress.Parse(expected.Destination.Address), $"addresses {packet.Source} > {packet.Destination}: {where}");
                if (!packet.IsIcmp)
                {
                    Assert.True((packet.SourcePort, packet.DestinationPort) == (expected.Source.Port, expected.Destination.Port), $"ports {packet.SourcePort} > {packet.DestinationPort}: {where}");
                }

                Assert.True(packet.IpBytes == expected.IpBytes, $"IP bytes {packet.IpBytes} != {expected.IpBytes}: {where}");
                if (expected.TunnelSource is not null)
                {
                    Assert.True(packet.TunnelSource == IpAddress.Parse(expected.TunnelSource) && packet.TunnelDestination == IpAddress.Parse(expected.TunnelDestination!), $"tunnel {packet.TunnelSource} > {packet.TunnelDestination}: {where}");
                }
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
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
