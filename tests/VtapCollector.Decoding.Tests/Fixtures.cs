namespace VtapCollector.Decoding.Tests;

/// <summary>
/// Hand-written frames, annotated field by field. Checksums are zero: the decoder does not verify
/// them (mirrored copies of offloaded traffic carry partial ones). Every length field is consistent.
/// </summary>
internal static class Fixtures
{
    /// <summary>
    /// VXLAN (RFC 7348) on UDP 4789 over IPv4, VNI 12345, carrying an Ethernet frame with a TCP SYN
    /// 10.0.0.1:49152 -> 10.0.0.2:80 (with an MSS option). 108 bytes, no padding.
    /// </summary>
    public const string VxlanTcpSynHex =
        // ---- outer Ethernet II (14) ----
        "00 00 5e 00 53 01" + // destination MAC
        "00 00 5e 00 53 02" + // source MAC
        "08 00" +             // EtherType IPv4
        // ---- outer IPv4 (20) ----
        "45" +                // version 4, IHL 5 (20 bytes)
        "00" +                // DSCP 0, ECN 0
        "00 5e" +             // total length 94 = 20 + 74
        "12 34" +             // identification 0x1234
        "40 00" +             // flags DF, fragment offset 0
        "40" +                // TTL 64
        "11" +                // protocol 17 UDP
        "00 00" +             // header checksum (not verified)
        "c0 00 02 01" +       // source 192.0.2.1 (the mirroring host)
        "c0 00 02 02" +       // destination 192.0.2.2 (the collector)
        // ---- outer UDP (8) ----
        "c3 50" +             // source port 50000 (entropy)
        "12 b5" +             // destination port 4789 VXLAN
        "00 4a" +             // length 74 = 8 + 8 + 58
        "00 00" +             // checksum 0 (none)
        // ---- VXLAN (8) ----
        "08" +                // flags: I (VNI valid)
        "00 00 00" +          // reserved
        "00 30 39" +          // VNI 12345
        "00" +                // reserved
        // ---- inner Ethernet II (14) ----
        "02 00 00 00 00 0a" + // destination MAC
        "02 00 00 00 00 0b" + // source MAC
        "08 00" +             // EtherType IPv4
        // ---- inner IPv4 (20) ----
        "45" +                // version 4, IHL 5
        "00" +                // DSCP/ECN
        "00 2c" +             // total length 44 = 20 + 24
        "ab cd" +             // identification 0xabcd
        "40 00" +             // DF, offset 0
        "40" +                // TTL 64
        "06" +                // protocol 6 TCP
        "00 00" +             // header checksum
        "0a 00 00 01" +       // source 10.0.0.1
        "0a 00 00 02" +       // destination 10.0.0.2
        // ---- inner TCP (24) ----
        "c0 00" +             // source port 49152
        "00 50" +             // destination port 80
        "00 00 00 01" +       // sequence number 1
        "00 00 00 00" +       // acknowledgment number 0
        "60" +                // data offset 6 (24 bytes), reserved 0
        "02" +                // flags SYN
        "ff ff" +             // window 65535
        "00 00" +             // checksum
        "00 00" +             // urgent pointer
        "02 04 05 b4";        // option MSS (kind 2, length 4) = 1460

    /// <summary>
    /// Geneve (RFC 8926) on UDP 6081 over IPv4, VNI 0xabcdef, one 8-byte option, carrying an
    /// Ethernet frame with UDP 10.1.1.1:5353 -> 10.1.1.2:53 and a 4-byte payload. 104 bytes.
    /// </summary>
    public const string GeneveUdpHex =
        // ---- outer Ethernet II (14) ----
        "00 00 5e 00 53 11" + // destination MAC
        "00 00 5e 00 53 12" + // source MAC
        "08 00" +             // EtherType IPv4
        // ---- outer IPv4 (20) ----
        "45" +                // version 4, IHL 5
        "00" +                // DSCP/ECN
        "00 5a" +             // total length 90 = 20 + 70
        "00 01" +             // identification 1
        "00 00" +             // no flags, offset 0
        "40" +                // TTL 64
        "11" +                // protocol 17 UDP
        "00 00" +             // header checksum
        "c6 33 64 01" +       // source 198.51.100.1
        "c6 33 64 02" +       // destination 198.51.100.2
        // ---- outer UDP (8) ----
        "d4 31" +             // source port 54321
        "17 c1" +             // destination port 6081 Geneve
        "00 46" +             // length 70 = 8 + 16 + 46
        "00 00" +             // checksum 0
        // ---- Geneve (8 + 8 options) ----
        "02" +                // version 0 (2 bits), option length 2 (x 4 = 8 bytes)
        "00" +                // O 0, C 0, reserved
        "65 58" +             // protocol type 0x6558 transparent Ethernet bridging
        "ab cd ef" +          // VNI 0xabcdef
        "00" +                // reserved
        "01 02" +             // option class 0x0102
        "80" +                // option type 0x80 (critical)
        "01" +                // reserved 0, option length 1 (x 4 = 4 bytes of data)
        "de ad be ef" +       // option data
        // ---- inner Ethernet II (14) ----
        "02 00 00 00 01 0a" + // destination MAC
        "02 00 00 00 01 0b" + // source MAC
        "08 00" +             // EtherType IPv4
        // ---- inner IPv4 (20) ----
        "45" +                // version 4, IHL 5
        "00" +                // DSCP/ECN
        "00 20" +             // total length 32 = 20 + 12
        "00 07" +             // identification 7
        "00 00" +             // no flags, offset 0
        "40" +                // TTL 64
        "11" +                // protocol 17 UDP
        "00 00" +             // header checksum
        "0a 01 01 01" +       // source 10.1.1.1
        "0a 01 01 02" +       // destination 10.1.1.2
        // ---- inner UDP (8 + 4) ----
        "14 e9" +             // source port 5353
        "00 35" +             // destination port 53
        "00 0c" +             // length 12
        "00 00" +             // checksum
        "12 34 56 78";        // payload

    /// <summary>
    /// IPv6 with a Hop-by-Hop, a Destination Options and a Segment Routing (routing type 4)
    /// header, then UDP 40000 -> 4500 with a 4-byte payload, from 2001:db8::1 to 2001:db8::2. 106 bytes.
    /// </summary>
    public const string Ipv6ExtensionHeadersUdpHex =
        // ---- Ethernet II (14) ----
        "00 00 5e 00 53 21" + // destination MAC
        "00 00 5e 00 53 22" + // source MAC
        "86 dd" +             // EtherType IPv6
        // ---- IPv6 fixed header (40) ----
        "60 00 00 00" +       // version 6, traffic class 0, flow label 0
        "00 34" +             // payload length 52 = 8 + 8 + 24 + 12
        "00" +                // next header 0 Hop-by-Hop Options
        "40" +                // hop limit 64
        "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01" + // source 2001:db8::1
        "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02" + // destination 2001:db8::2
        // ---- Hop-by-Hop Options (8) ----
        "3c" +                // next header 60 Destination Options
        "00" +                // header extension length 0 (8 bytes)
        "01 04 00 00 00 00" + // PadN option, 4 bytes of padding
        // ---- Destination Options (8) ----
        "2b" +                // next header 43 Routing
        "00" +                // header extension length 0 (8 bytes)
        "01 04 00 00 00 00" + // PadN option, 4 bytes of padding
        // ---- Routing header, Segment Routing (RFC 8754) (24) ----
        "11" +                // next header 17 UDP
        "02" +                // header extension length 2 (8 + 16 = 24 bytes)
        "04" +                // routing type 4 (SRH)
        "00" +                // segments left 0
        "00" +                // last entry 0
        "00" +                // flags
        "00 00" +             // tag
        "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02" + // segment list[0] 2001:db8::2
        // ---- UDP (8 + 4) ----
        "9c 40" +             // source port 40000
        "11 94" +             // destination port 4500
        "00 0c" +             // length 12
        "00 00" +             // checksum
        "ca fe ba be";        // payload

    /// <summary>
    /// 802.1Q-tagged Ethernet (VLAN 100, PCP 5) carrying IPv4 TCP 10.2.0.1:443 -> 10.2.0.2:51000
    /// ACK|PSH with 8 bytes of data. 66 bytes.
    /// </summary>
    public const string VlanTcpHex =
        // ---- Ethernet II with one 802.1Q tag (18) ----
        "00 00 5e 00 53 31" + // destination MAC
        "00 00 5e 00 53 32" + // source MAC
        "81 00" +             // TPID 0x8100 802.1Q
        "a0 64" +             // TCI: PCP 5, DEI 0, VID 100
        "08 00" +             // EtherType IPv4
        // ---- IPv4 (20) ----
        "45" +                // version 4, IHL 5
        "00" +                // DSCP/ECN
        "00 30" +             // total length 48 = 20 + 20 + 8
        "00 02" +             // identification 2
        "40 00" +             // DF
        "40" +                // TTL 64
        "06" +                // protocol 6 TCP
        "00 00" +             // header checksum
        "0a 02 00 01" +       // source 10.2.0.1
        "0a 02 00 02" +       // destination 10.2.0.2
        // ---- TCP (20 + 8) ----
        "01 bb" +             // source port 443
        "c7 38" +             // destination port 51000
        "00 00 10 00" +       // sequence number
        "00 00 20 00" +       // acknowledgment number
        "50" +                // data offset 5
        "18" +                // flags ACK|PSH
        "01 00" +             // window
        "00 00" +             // checksum
        "00 00" +             // urgent pointer
        "01 02 03 04 05 06 07 08"; // data

    /// <summary>Plain IPv6 UDP 2001:db8::10:1234 -> 2001:db8::20:53 with 4 bytes of data. 66 bytes.</summary>
    public const string Ipv6UdpHex =
        // ---- Ethernet II (14) ----
        "00 00 5e 00 53 41" + // destination MAC
        "00 00 5e 00 53 42" + // source MAC
        "86 dd" +             // EtherType IPv6
        // ---- IPv6 (40) ----
        "60 00 00 00" +       // version 6, traffic class 0, flow label 0
        "00 0c" +             // payload length 12
        "11" +                // next header 17 UDP
        "40" +                // hop limit 64
        "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 10" + // source 2001:db8::10
        "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 20" + // destination 2001:db8::20
        // ---- UDP (8 + 4) ----
        "04 d2" +             // source port 1234
        "00 35" +             // destination port 53
        "00 0c" +             // length 12
        "00 00" +             // checksum
        "01 02 03 04";        // payload

    /// <summary>
    /// ERSPAN type II (draft-foschiano-erspan-03 section 4.1) over GRE with a sequence number over
    /// IPv4, session 666, VLAN 100, carrying an untagged Ethernet frame with TCP 10.1.0.1:33000 ->
    /// 10.1.0.2:22 (PSH ACK). 104 bytes, no padding.
    /// </summary>
    public const string ErspanIITcpHex =
        // ---- outer Ethernet II (14) ----
        "00 00 5e 00 53 01" + // destination MAC
        "00 00 5e 00 53 02" + // source MAC
        "08 00" +             // EtherType IPv4
        // ---- outer IPv4 (20) ----
        "45 00" +             // version 4, IHL 5, DSCP/ECN 0
        "00 5a" +             // total length 90 = 20 + 8 + 8 + 54
        "00 01 00 00" +       // identification 1, no flags, offset 0
        "40" +                // TTL 64
        "2f" +                // protocol 47 GRE
        "00 00" +             // header checksum
        "c0 00 02 01" +       // source 192.0.2.1 (the switch)
        "c0 00 02 02" +       // destination 192.0.2.2 (the collector)
        // ---- GRE (8) ----
        "10" +                // C 0, R 0, K 0, S 1 (sequence number present), s 0, recursion 0
        "00" +                // flags 0, version 0
        "88 be" +             // protocol type ERSPAN (types I and II)
        "00 00 00 2a" +       // sequence number 42
        // ---- ERSPAN type II (8) ----
        "10 64" +             // version 1, VLAN 100
        "02 9a" +             // COS 0, En 0, T 0, session ID 666
        "00 00 00 05" +       // reserved 0, index 5
        // ---- inner Ethernet II (14) ----
        "02 00 00 00 00 0a" + // destination MAC
        "02 00 00 00 00 0b" + // source MAC
        "08 00" +             // EtherType IPv4 (no tag: the VLAN comes from the ERSPAN header)
        // ---- inner IPv4 (20) ----
        "45 00" +             // version 4, IHL 5
        "00 28" +             // total length 40 = 20 + 20
        "00 07 40 00" +       // identification 7, DF
        "40 06" +             // TTL 64, protocol 6 TCP
        "00 00" +             // header checksum
        "0a 01 00 01" +       // source 10.1.0.1
        "0a 01 00 02" +       // destination 10.1.0.2
        // ---- inner TCP (20) ----
        "80 e8" +             // source port 33000
        "00 16" +             // destination port 22
        "00 00 00 01" +       // sequence number
        "00 00 00 01" +       // acknowledgment number
        "50 18" +             // data offset 5, flags PSH ACK
        "20 00" +             // window
        "00 00 00 00";        // checksum, urgent pointer

    /// <summary>
    /// ERSPAN type III (section 4.2) with the platform-specific subheader, over GRE over IPv6,
    /// session 1023, carrying an Ethernet frame tagged VLAN 7 with UDP 10.2.0.1:5353 -> 10.2.0.2:53.
    /// 132 bytes.
    /// </summary>
    public const string ErspanIIIUdpHex =
        // ---- outer Ethernet II (14) ----
        "00 00 5e 00 53 11" + // destination MAC
        "00 00 5e 00 53 12" + // source MAC
        "86 dd" +             // EtherType IPv6
        // ---- outer IPv6 (40) ----
        "60 00 00 00" +       // version 6, traffic class 0, flow label 0
        "00 4e" +             // payload length 78 = 8 + 12 + 8 + 18 + 20 + 12
        "2f" +                // next header 47 GRE
        "40" +                // hop limit 64
        "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01" + // source 2001:db8::1
        "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02" + // destination 2001:db8::2
        // ---- GRE (8) ----
        "10 00" +             // S 1, version 0
        "22 eb" +             // protocol type ERSPAN type III
        "00 00 00 01" +       // sequence number 1
        // ---- ERSPAN type III (12) ----
        "20 00" +             // version 2, VLAN 0
        "03 ff" +             // COS 0, BSO 0, T 0, session ID 1023
        "5f 5e 10 00" +       // timestamp
        "00 00" +             // security group tag
        "00" +                // P 0, FT 0 (Ethernet), hardware ID high bits 0
        "01" +                // hardware ID low bits 0, D 0, Gra 0, O 1 (subheader follows)
        // ---- platform-specific subheader (8) ----
        "0c 00 00 00 00 00 00 00" + // platform ID 3, switch-specific fields
        // ---- inner Ethernet II with one 802.1Q tag (18) ----
        "02 00 00 00 00 1a" + // destination MAC
        "02 00 00 00 00 1b" + // source MAC
        "81 00 00 07" +       // 802.1Q, VLAN 7
        "08 00" +             // EtherType IPv4
        // ---- inner IPv4 (20) ----
        "45 00" +             // version 4, IHL 5
        "00 20" +             // total length 32 = 20 + 12
        "00 09 00 00" +       // identification 9
        "40 11" +             // TTL 64, protocol 17 UDP
        "00 00" +             // header checksum
        "0a 02 00 01" +       // source 10.2.0.1
        "0a 02 00 02" +       // destination 10.2.0.2
        // ---- inner UDP (8 + 4) ----
        "14 e9" +             // source port 5353
        "00 35" +             // destination port 53
        "00 0c" +             // length 12
        "00 00" +             // checksum
        "de ad be ef";        // payload

    /// <summary>
    /// Transparent Ethernet bridging (protocol 0x6558) over GRE with checksum and key, as a Linux
    /// gretap device sends it, key 0x01020304, carrying ICMP echo request 10.3.0.1 -> 10.3.0.2.
    /// 94 bytes.
    /// </summary>
    public const string GreBridgedIcmpHex =
        // ---- outer Ethernet II (14) ----
        "00 00 5e 00 53 21" + // destination MAC
        "00 00 5e 00 53 22" + // source MAC
        "08 00" +             // EtherType IPv4
        // ---- outer IPv4 (20) ----
        "45 00" +             // version 4, IHL 5
        "00 50" +             // total length 80 = 20 + 12 + 48
        "00 02 40 00" +       // identification 2, DF
        "40 2f" +             // TTL 64, protocol 47 GRE
        "00 00" +             // header checksum
        "c6 33 64 01" +       // source 198.51.100.1
        "c6 33 64 02" +       // destination 198.51.100.2
        // ---- GRE (12) ----
        "a0 00" +             // C 1, K 1, version 0
        "65 58" +             // protocol type transparent Ethernet bridging
        "00 00 00 00" +       // checksum (not verified), reserved
        "01 02 03 04" +       // key 0x01020304
        // ---- inner Ethernet II (14) ----
        "02 00 00 00 00 2a" + // destination MAC
        "02 00 00 00 00 2b" + // source MAC
        "08 00" +             // EtherType IPv4
        // ---- inner IPv4 (20) ----
        "45 00" +             // version 4, IHL 5
        "00 22" +             // total length 34 = 20 + 14
        "00 03 00 00" +       // identification 3
        "40 01" +             // TTL 64, protocol 1 ICMP
        "00 00" +             // header checksum
        "0a 03 00 01" +       // source 10.3.0.1
        "0a 03 00 02" +       // destination 10.3.0.2
        // ---- ICMP (8 + 6) ----
        "08 00" +             // type 8 echo request, code 0
        "00 00" +             // checksum
        "00 01 00 01" +       // identifier 1, sequence 1
        "61 62 63 64 65 66";  // payload

    public static byte[] VxlanTcpSyn => Hex.Parse(VxlanTcpSynHex);

    public static byte[] GeneveUdp => Hex.Parse(GeneveUdpHex);

    public static byte[] Ipv6ExtensionHeadersUdp => Hex.Parse(Ipv6ExtensionHeadersUdpHex);

    public static byte[] VlanTcp => Hex.Parse(VlanTcpHex);

    public static byte[] Ipv6Udp => Hex.Parse(Ipv6UdpHex);

    public static byte[] ErspanIITcp => Hex.Parse(ErspanIITcpHex);

    public static byte[] ErspanIIIUdp => Hex.Parse(ErspanIIIUdpHex);

    public static byte[] GreBridgedIcmp => Hex.Parse(GreBridgedIcmpHex);

    /// <summary>The valid Ethernet fixtures whose every prefix must fail soft.</summary>
    public static TheoryData<string> ValidEthernetFixtureNames => ["VxlanTcpSyn", "GeneveUdp", "Ipv6ExtensionHeadersUdp", "VlanTcp", "Ipv6Udp", "ErspanIITcp", "ErspanIIIUdp", "GreBridgedIcmp"];

    public static byte[] ByName(string name) => name switch
    {
        "VxlanTcpSyn" => VxlanTcpSyn,
        "GeneveUdp" => GeneveUdp,
        "Ipv6ExtensionHeadersUdp" => Ipv6ExtensionHeadersUdp,
        "VlanTcp" => VlanTcp,
        "Ipv6Udp" => Ipv6Udp,
        "ErspanIITcp" => ErspanIITcp,
        "ErspanIIIUdp" => ErspanIIIUdp,
        "GreBridgedIcmp" => GreBridgedIcmp,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such fixture"),
    };
}
