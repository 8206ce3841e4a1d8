using System.Buffers.Binary;

namespace VtapCollector.Capture.Tests.Live;

/// <summary>A frame to inject raw, and whether the tunnel port filter must let it through.</summary>
internal sealed record InjectedFrame(string Name, byte[] Bytes, bool Accepted)
{
    public override string ToString() => Name;
}

/// <summary>
/// Hand-built Ethernet frames from the sender's MAC to the capture side's, for raw injection: the
/// cases the kernel filter must tell apart (tags, IP versions, IPv4 options, fragments, protocols,
/// source versus destination port).
/// </summary>
internal static class InjectedFrames
{
    private const ushort Ipv4 = 0x0800;
    private const ushort Ipv6 = 0x86dd;
    private const ushort Arp = 0x0806;
    private const ushort Dot1Q = 0x8100;
    private const ushort Dot1Ad = 0x88a8;
    private const byte Udp = 17;
    private const byte Tcp = 6;
    private const byte Gre = 47;

    /// <summary>The filter matrix, in injection order; accepted frames carry a unique 2-byte id in their payload.</summary>
    public static List<InjectedFrame> FilterMatrix() =>
    [
        new("IPv4 UDP to 4789", Frame([], Ipv4, V4(Udp, 0, [], UdpSegment(40001, 4789, 100, 1))), true),
        new("IPv4 UDP to 9999", Frame([], Ipv4, V4(Udp, 0, [], UdpSegment(40001, 9999, 100, 2))), false),
        new("IPv4 with 8 bytes of options, UDP to 8472", Frame([], Ipv4, V4(Udp, 0, [0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01], UdpSegment(40001, 8472, 120, 3))), true),
        // The option word ends in 0x12b5 (4789), right where a filter that ignored the header length would read the port.
        new("IPv4 with options, UDP to 9999", Frame([], Ipv4, V4(Udp, 0, [0x01, 0x01, 0x12, 0xb5], UdpSegment(40001, 9999, 60, 15))), false),
        new("IPv4 TCP to 4789", Frame([], Ipv4, V4(Tcp, 0, [], TcpSegment(40001, 4789))), false),
        new("IPv4 UDP from 4789 to 9999", Frame([], Ipv4, V4(Udp, 0, [], UdpSegment(4789, 9999, 80, 4))), false),
        new("IPv4 first fragment, UDP to 6081", Frame([], Ipv4, V4(Udp, 0x2000, [], UdpSegment(40001, 6081, 200, 5))), true),
        // A later fragment carries no UDP header: its first bytes (4789, 4789) are payload, not ports.
        new("IPv4 later fragment whose bytes read 4789 where a port would be", Frame([], Ipv4, V4(Udp, 185, [], UdpSegment(4789, 4789, 64, 6))), false),
        new("IPv6 UDP to 6081", Frame([], Ipv6, V6(Udp, UdpSegment(40001, 6081, 300, 7))), true),
        new("IPv6 UDP to 9999", Frame([], Ipv6, V6(Udp, UdpSegment(40001, 9999, 300, 8))), false),
        new("IPv6 TCP to 4789", Frame([], Ipv6, V6(Tcp, TcpSegment(40001, 4789))), false),
        new("ARP", Frame([], Arp, new byte[28]), false),
        new("802.1Q VLAN 100, IPv4 UDP to 4789", Frame([(Dot1Q, 100)], Ipv4, V4(Udp, 0, [], UdpSegment(40001, 4789, 90, 9))), true),
        new("802.1Q VLAN 100 priority 5, IPv6 UDP to 8472", Frame([(Dot1Q, (5 << 13) | 100)], Ipv6, V6(Udp, UdpSegment(40001, 8472, 90, 10))), true),
        new("802.1Q VLAN 100, IPv4 UDP to 9999", Frame([(Dot1Q, 100)], Ipv4, V4(Udp, 0, [], UdpSegment(40001, 9999, 90, 11))), false),
        new("802.1ad 200 + 802.1Q 300, IPv4 UDP to 4789", Frame([(Dot1Ad, 200), (Dot1Q, 300)], Ipv4, V4(Udp, 0, [], UdpSegment(40001, 4789, 70, 12))), true),
        new("802.1ad 200 + 802.1Q 300, IPv6 UDP to 6081", Frame([(Dot1Ad, 200), (Dot1Q, 300)], Ipv6, V6(Udp, UdpSegment(40001, 6081, 70, 13))), true),
        new("802.1ad 200 + 802.1Q 300, IPv4 UDP to 9999", Frame([(Dot1Ad, 200), (Dot1Q, 300)], Ipv4, V4(Udp, 0, [], UdpSegment(40001, 9999, 70, 14))), false),
        new("802.1Q VLAN 100, ARP", Frame([(Dot1Q, 100)], Arp, new byte[28]), false),
    ];

    /// <summary>
    /// The GRE cases: with GRE asked for, IP protocol 47 passes over IPv4 and IPv6, untagged and
    /// tagged, next to the UDP tunnel ports; other protocols still do not.
    /// </summary>
    public static List<InjectedFrame> GreMatrix(bool gre) =>
    [
        new("IPv4 GRE ERSPAN II", Frame([], Ipv4, V4(Gre, 0, [], GreSegment(0x88be, 101))), gre),
        new("IPv4 TCP", Frame([], Ipv4, V4(Tcp, 0, [], TcpSegment(40001, 443))), false),
        new("IPv4 UDP to 4789", Frame([], Ipv4, V4(Udp, 0, [], UdpSegment(40001, 4789, 100, 102))), true),
        new("IPv6 GRE bridged Ethernet", Frame([], Ipv6, V6(Gre, GreSegment(0x6558, 103))), gre),
        new("IPv6 UDP to 9999", Frame([], Ipv6, V6(Udp, UdpSegment(40001, 9999, 100, 104))), false),
        new("802.1ad 200 + 802.1Q 300, IPv4 GRE ERSPAN III", Frame([(Dot1Ad, 200), (Dot1Q, 300)], Ipv4, V4(Gre, 0, [], GreSegment(0x22eb, 105))), gre),
        new("802.1ad 200 + 802.1Q 300, IPv6 GRE ERSPAN II", Frame([(Dot1Ad, 200), (Dot1Q, 300)], Ipv6, V6(Gre, GreSegment(0x88be, 106))), gre),
        new("802.1Q VLAN 100, IPv6 UDP to 6081", Frame([(Dot1Q, 100)], Ipv6, V6(Udp, UdpSegment(40001, 6081, 90, 107))), true),
    ];

    /// <summary>Ethernet: capture MAC, sender MAC, the tags (TPID, TCI) outermost first, EtherType, payload.</summary>
    public static byte[] Frame((ushort Tpid, int Tci)[] tags, ushort etherType, byte[] payload)
    {
        var frame = new byte[14 + (4 * tags.Length) + payload.Length];
        VethPair.CaptureMac.CopyTo(frame, 0);
        VethPair.SenderMac.CopyTo(frame, 6);
        var offset = 12;
        foreach (var (tpid, tci) in tags)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), tpid);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset + 2), (ushort)tci);
            offset += 4;
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), etherType);
        payload.CopyTo(frame, offset + 2);
        return frame;
    }

    /// <summary>IPv4 10.77.0.1 to 10.77.0.2 with the given options (a multiple of 4 bytes) and flags/fragment-offset field.</summary>
    public static byte[] V4(byte protocol, ushort fragmentField, byte[] options, byte[] transport)
    {
        var headerLength = 20 + options.Length;
        var packet = new byte[headerLength + transport.Length];
        packet[0] = (byte)(0x40 | (headerLength / 4));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), 0x1234);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), fragmentField);
        packet[8] = 64;
        packet[9] = protocol;
        VethPair.SenderIpv4.GetAddressBytes().CopyTo(packet, 12);
        VethPair.CaptureIpv4.GetAddressBytes().CopyTo(packet, 16);
        options.CopyTo(packet, 20);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), LiveTest.Ipv4Checksum(packet.AsSpan(0, headerLength)));
        transport.CopyTo(packet, headerLength);
        return packet;
    }

    /// <summary>IPv6 fd00:77::1 to fd00:77::2, next header <paramref name="nextHeader"/>, no extension headers.</summary>
    public static byte[] V6(byte nextHeader, byte[] transport)
    {
        var packet = new byte[40 + transport.Length];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)transport.Length);
        packet[6] = nextHeader;
        packet[7] = 64;
        VethPair.SenderIpv6.GetAddressBytes().CopyTo(packet, 8);
        VethPair.CaptureIpv6.GetAddressBytes().CopyTo(packet, 24);
        transport.CopyTo(packet, 40);
        return packet;
    }

    /// <summary>UDP header and a payload of <paramref name="length"/> bytes starting with the 2-byte <paramref name="id"/>.</summary>
    public static byte[] UdpSegment(ushort source, ushort destination, int length, ushort id)
    {
        var segment = new byte[8 + length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, source);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), destination);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(4), (ushort)segment.Length);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(8), id);
        for (var i = 10; i < segment.Length; i++)
        {
            segment[i] = (byte)(id + i);
        }

        return segment;
    }

    /// <summary>A GRE header with a sequence number (RFC 2890) and 60 bytes of payload starting with the 2-byte <paramref name="id"/>.</summary>
    private static byte[] GreSegment(ushort protocolType, ushort id)
    {
        var segment = new byte[8 + 60];
        segment[0] = 0x10;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), protocolType);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(8), id);
        return segment;
    }

    /// <summary>A 20-byte TCP header (SYN) from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    private static byte[] TcpSegment(ushort source, ushort destination)
    {
        var segment = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(segment, source);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), destination);
        segment[12] = 0x50;
        segment[13] = 0x02;
        return segment;
    }
}
