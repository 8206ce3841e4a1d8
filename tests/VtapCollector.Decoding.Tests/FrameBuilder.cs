using System.Buffers.Binary;
using System.Net;

namespace VtapCollector.Decoding.Tests;

/// <summary>
/// Small composable builders for the many variations the tests need. Each writes the fields in
/// wire order; lengths are computed unless a test overrides them to make a malformed packet.
/// The main fixtures stay literal annotated hex in <see cref="Fixtures"/>.
/// </summary>
internal static class FrameBuilder
{
    public static readonly byte[] DestinationMac = [0x00, 0x00, 0x5e, 0x00, 0x53, 0xaa];
    public static readonly byte[] SourceMac = [0x00, 0x00, 0x5e, 0x00, 0x53, 0xbb];

    public static byte[] Concat(params byte[][] parts)
    {
        var length = 0;
        foreach (var part in parts)
        {
            length += part.Length;
        }

        var result = new byte[length];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }

        return result;
    }

    public static byte[] U16(int value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)value);
        return bytes;
    }

    public static byte[] U32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>Ethernet II; each tag is (TPID, TCI) written before the final EtherType.</summary>
    public static byte[] Ethernet(ushort etherType, byte[] payload, params (ushort Tpid, ushort Tci)[] tags)
    {
        var parts = new List<byte[]> { DestinationMac, SourceMac };
        foreach (var (tpid, tci) in tags)
        {
            parts.Add(U16(tpid));
            parts.Add(U16(tci));
        }

        parts.Add(U16(etherType));
        parts.Add(payload);
        return Concat([.. parts]);
    }

    public static byte[] Ipv4(
        byte protocol,
        byte[] payload,
        string source = "10.0.0.1",
        string destination = "10.0.0.2",
        int? totalLength = null,
        ushort identification = 0x0101,
        bool moreFragments = false,
        ushort fragmentOffset = 0,
        byte[]? options = null,
        int? ihl = null,
        int version = 4)
    {
        options ??= [];
        var headerLength = 20 + options.Length;
        var header = new byte[20];
        header[0] = (byte)((version << 4) | (ihl ?? (headerLength / 4)));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)(totalLength ?? (headerLength + payload.Length)));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), identification);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)((moreFragments ? 0x2000 : 0) | fragmentOffset));
        header[8] = 64;
        header[9] = protocol;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(header, 12);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(header, 16);
        return Concat(header, options, payload);
    }

    public static byte[] Ipv6(
        byte nextHeader,
        byte[] payload,
        string source = "2001:db8::1",
        string destination = "2001:db8::2",
        int? payloadLength = null)
    {
        var header = new byte[40];
        header[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), (ushort)(payloadLength ?? payload.Length));
        header[6] = nextHeader;
        header[7] = 64;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(header, 8);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(header, 24);
        return Concat(header, payload);
    }

    /// <summary>A generic IPv6 extension header (RFC 6564 format) of <paramref name="units"/> x 8 + 8 bytes.</summary>
    public static byte[] Ipv6Extension(byte nextHeader, int units = 0)
    {
        var header = new byte[(units + 1) * 8];
        header[0] = nextHeader;
        header[1] = (byte)units;
        header[2] = 0x01; // PadN
        header[3] = (byte)(header.Length - 4);
        return header;
    }

    /// <summary>IPv6 fragment header (RFC 8200 section 4.5).</summary>
    public static byte[] Ipv6Fragment(byte nextHeader, ushort offsetUnits, bool more, uint identification)
    {
        var header = new byte[8];
        header[0] = nextHeader;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)((offsetUnits << 3) | (more ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), identification);
        return header;
    }

    public static byte[] Udp(ushort sourcePort, ushort destinationPort, byte[] payload, int? length = null) =>
        Concat(U16(sourcePort), U16(destinationPort), U16(length ?? (8 + payload.Length)), U16(0), payload);

    public static byte[] Tcp(ushort sourcePort, ushort destinationPort, byte flags, byte[]? payload = null, int dataOffset = 5)
    {
        var header = new byte[Math.Max(20, dataOffset * 4)];
        BinaryPrimitives.WriteUInt16BigEndian(header, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 1000);
        header[12] = (byte)(dataOffset << 4);
        header[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), 8192);
        return Concat(header, payload ?? []);
    }

    public static byte[] Vxlan(uint vni, byte[] innerFrame, byte flags = 0x08) =>
        Concat([flags, 0, 0, 0], U32(vni << 8), innerFrame);

    public static byte[] Geneve(uint vni, ushort protocolType, byte[] payload, byte[]? options = null, int version = 0)
    {
        options ??= [];
        var header = new byte[8];
        header[0] = (byte)((version << 6) | (options.Length / 4));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), protocolType);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), vni << 8);
        return Concat(header, options, payload);
    }

    /// <summary>GRE (RFC 2784, RFC 2890) with the optional fields each argument asks for.</summary>
    public static byte[] Gre(ushort protocolType, byte[] payload, bool checksum = false, uint? key = null, uint? sequence = null, byte version = 0)
    {
        var flags = (byte)((checksum ? 0x80 : 0) | (key is null ? 0 : 0x20) | (sequence is null ? 0 : 0x10));
        return Concat(
            [flags, version],
            U16(protocolType),
            checksum ? new byte[4] : [],
            key is uint k ? U32(k) : [],
            sequence is uint q ? U32(q) : [],
            payload);
    }

    /// <summary>ERSPAN type II header (version 1) and the mirrored frame; GRE around it is the caller's.</summary>
    public static byte[] ErspanII(ushort sessionId, byte[] frame, ushort vlan = 0, bool truncated = false, int version = 1) =>
        Concat(U16((version << 12) | vlan), U16((truncated ? 0x0400 : 0) | sessionId), U32(5), frame);

    /// <summary>ERSPAN type III header (version 2), the subheader when given, and the mirrored frame.</summary>
    public static byte[] ErspanIII(ushort sessionId, byte[] frame, ushort vlan = 0, int frameType = 0, byte[]? subheader = null, bool truncated = false) =>
        Concat(
            U16((2 << 12) | vlan),
            U16((truncated ? 0x0400 : 0) | sessionId),
            U32(0x12345678),
            U16(0),
            [(byte)(frameType << 2), (byte)(subheader is null ? 0 : 1)],
            subheader ?? [],
            frame);

    /// <summary>Outer Ethernet + IPv4 + GRE payload (the GRE header included in <paramref name="gre"/>).</summary>
    public static byte[] OverGre4(byte[] gre, string source = "192.0.2.1", string destination = "192.0.2.2") =>
        Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Gre, gre, source, destination));

    /// <summary>An inner Ethernet frame with IPv4 TCP, as a tunnel would carry it.</summary>
    public static byte[] InnerTcp(string source = "10.9.0.1", string destination = "10.9.0.2", ushort sourcePort = 40000, ushort destinationPort = 443) =>
        Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Tcp, Tcp(sourcePort, destinationPort, TcpFlagBits.Ack), source, destination));

    /// <summary>Outer Ethernet + IPv4 + UDP to <paramref name="port"/> around a tunnel payload.</summary>
    public static byte[] OverUdp4(ushort port, byte[] tunnelPayload, string source = "192.0.2.1", string destination = "192.0.2.2") =>
        Ethernet(EtherTypes.Ipv4, Ipv4(IpProtocol.Udp, Udp(50000, port, tunnelPayload), source, destination));

    /// <summary>A complete VXLAN-over-IPv4 frame carrying an inner IPv4 TCP packet.</summary>
    public static byte[] VxlanFrame(uint vni = 100, ushort port = 4789, byte[]? innerFrame = null) =>
        OverUdp4(port, Vxlan(vni, innerFrame ?? InnerTcp()));

    /// <summary>A plain Ethernet IPv4 frame with the given transport bytes.</summary>
    public static byte[] EthIpv4(byte protocol, byte[] payload) => Ethernet(EtherTypes.Ipv4, Ipv4(protocol, payload));

    /// <summary>A plain Ethernet IPv6 frame with the given payload after the fixed header.</summary>
    public static byte[] EthIpv6(byte nextHeader, byte[] payload, int? payloadLength = null) =>
        Ethernet(EtherTypes.Ipv6, Ipv6(nextHeader, payload, payloadLength: payloadLength));

    /// <summary>ARP request (RFC 826) for 10.0.0.2 from 10.0.0.1.</summary>
    public static byte[] ArpPayload => Hex.Parse(
        "0001" + "0800" + "06" + "04" + "0001" +   // Ethernet, IPv4, sizes, request
        "00005e0053bb" + "0a000001" +             // sender MAC, IP
        "000000000000" + "0a000002");             // target MAC, IP

    /// <summary>Linux cooked v1 header (16 bytes) for <paramref name="protocol"/>.</summary>
    public static byte[] Sll(ushort protocol) =>
        Concat(U16(0), U16(1), U16(6), [0x00, 0x00, 0x5e, 0x00, 0x53, 0xbb, 0, 0], U16(protocol));

    /// <summary>Linux cooked v2 header (20 bytes) for <paramref name="protocol"/>.</summary>
    public static byte[] Sll2(ushort protocol) =>
        Concat(U16(protocol), U16(0), U32(2), U16(1), [0, 6], [0x00, 0x00, 0x5e, 0x00, 0x53, 0xbb, 0, 0]);
}
