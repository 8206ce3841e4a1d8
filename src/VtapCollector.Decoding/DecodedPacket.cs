namespace VtapCollector.Decoding;

/// <summary>The encapsulation that carried the inner packet.</summary>
public enum TunnelKind : byte
{
    /// <summary>No tunnel: plain traffic, as from a SPAN port.</summary>
    None = 0,
    /// <summary>VXLAN, RFC 7348.</summary>
    Vxlan = 1,
    /// <summary>Geneve, RFC 8926.</summary>
    Geneve = 2,
    /// <summary>ERSPAN type I, II or III over GRE (draft-foschiano-erspan).</summary>
    Erspan = 3,
    /// <summary>Ethernet bridged over GRE (RFC 2784 / RFC 2890, protocol type 0x6558), as gretap devices send it.</summary>
    Gre = 4,
}

/// <summary>Facts about a decoded packet that are not errors.</summary>
[Flags]
public enum PacketFlags : byte
{
    None = 0,
    /// <summary>The captured copy holds fewer bytes than the inner IP total length (mirror truncation).</summary>
    TruncatedCopy = 1,
    /// <summary>IP length field was 0 (GSO / BIG TCP super-packet): the length was taken from the captured bytes.</summary>
    LengthFromCapture = 2,
    /// <summary>The inner packet is an IP fragment (see <see cref="DecodedPacket.FragmentOffset"/>).</summary>
    Fragment = 4,
}

/// <summary>
/// What the decoder extracts from one frame: the tunnel it arrived in and the inner packet's
/// 5-tuple, TCP flags and IP length. A plain value: no references, safe to copy and pass by <c>in</c>.
/// </summary>
public struct DecodedPacket
{
    /// <summary>The innermost tunnel's kind.</summary>
    public TunnelKind Tunnel;

    /// <summary>Number of tunnel layers removed (0 for plain traffic).</summary>
    public byte TunnelDepth;

    /// <summary>
    /// The innermost tunnel's segment id, what tells one mirror session from another: the VXLAN or
    /// Geneve VNI (24 bits), the ERSPAN session ID (10 bits; 0 for type I, which has none), or the
    /// GRE key of bridged Ethernet (32 bits; 0 when the K bit is clear); 0 without a tunnel.
    /// </summary>
    public uint Vni;

    /// <summary>IP version (4 or 6) of the tunnel's outer IP header; 0 without a tunnel.</summary>
    public byte TunnelIpVersion;

    /// <summary>Outer source address of the innermost tunnel (the mirror's sender).</summary>
    public IpAddress TunnelSource;

    /// <summary>Outer destination address of the innermost tunnel.</summary>
    public IpAddress TunnelDestination;

    /// <summary>
    /// VLAN id of the innermost 802.1Q/802.1ad tag on the frame that carried the inner IP packet; for
    /// an ERSPAN copy whose frame has no tag, the VLAN the ERSPAN header names (the switch took the
    /// tag off, or the port was an access port of that VLAN); 0 for none.
    /// </summary>
    public ushort Vlan;

    /// <summary>Inner IP version: 4 or 6.</summary>
    public byte IpVersion;

    /// <summary>Inner IP protocol (IANA number; for IPv6 the last next-header value).</summary>
    public byte Protocol;

    /// <summary>TCP flags byte (CWR..FIN, RFC 9293 section 3.1); 0 for other protocols.</summary>
    public byte TcpFlags;

    /// <summary>See <see cref="PacketFlags"/>.</summary>
    public PacketFlags Flags;

    /// <summary>Inner source address.</summary>
    public IpAddress Source;

    /// <summary>Inner destination address.</summary>
    public IpAddress Destination;

    /// <summary>TCP/UDP/SCTP source port; ICMP/ICMPv6 type; 0 for other protocols and non-first fragments.</summary>
    public ushort SourcePort;

    /// <summary>TCP/UDP/SCTP destination port; ICMP/ICMPv6 code; 0 for other protocols and non-first fragments.</summary>
    public ushort DestinationPort;

    /// <summary>Inner IP bytes: IPv4 total length, or IPv6 40 + payload length (header + payload, as Zeek's <c>ip_bytes</c>).</summary>
    public uint IpBytes;

    /// <summary>Fragment offset in 8-byte units (0 for the first fragment and unfragmented packets).</summary>
    public ushort FragmentOffset;

    /// <summary>More-fragments flag.</summary>
    public bool MoreFragments;

    /// <summary>IPv4 identification or IPv6 fragment header identification.</summary>
    public uint FragmentId;

    /// <summary>True for an ICMP or ICMPv6 packet, whose ports hold type and code.</summary>
    public readonly bool IsIcmp => Protocol == IpProtocol.Icmp || Protocol == IpProtocol.Icmpv6;

    /// <summary>True for a fragment other than the first (it carries no transport header).</summary>
    public readonly bool IsLaterFragment => FragmentOffset != 0;
}

/// <summary>IANA protocol numbers the decoder and flow table care about.</summary>
public static class IpProtocol
{
    public const byte HopByHop = 0;
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Ipv6Route = 43;
    public const byte Ipv6Fragment = 44;
    public const byte Gre = 47;
    public const byte Esp = 50;
    public const byte Ah = 51;
    public const byte Icmpv6 = 58;
    public const byte Ipv6NoNext = 59;
    public const byte Ipv6DestinationOptions = 60;
    public const byte Sctp = 132;
    public const byte Mobility = 135;
    public const byte Hip = 139;
    public const byte Shim6 = 140;
}

/// <summary>TCP flag bits (RFC 9293 section 3.1, RFC 3168).</summary>
public static class TcpFlagBits
{
    public const byte Fin = 0x01;
    public const byte Syn = 0x02;
    public const byte Rst = 0x04;
    public const byte Psh = 0x08;
    public const byte Ack = 0x10;
    public const byte Urg = 0x20;
    public const byte Ece = 0x40;
    public const byte Cwr = 0x80;
}

/// <summary>Capture link-layer types (tcpdump.org LINKTYPE_* values) the decoder reads.</summary>
public enum LinkType : ushort
{
    /// <summary>BSD loopback: 4-byte host-order protocol family.</summary>
    Null = 0,
    /// <summary>Ethernet II with optional 802.1Q/802.1ad tags.</summary>
    Ethernet = 1,
    /// <summary>Raw IP (version from the first nibble).</summary>
    Raw = 101,
    /// <summary>Linux cooked capture v1.</summary>
    LinuxSll = 113,
    /// <summary>Raw IPv4.</summary>
    Ipv4 = 228,
    /// <summary>Raw IPv6.</summary>
    Ipv6 = 229,
    /// <summary>Linux cooked capture v2.</summary>
    LinuxSll2 = 276,
}
