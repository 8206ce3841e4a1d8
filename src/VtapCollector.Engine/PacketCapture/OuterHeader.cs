using System.Buffers.Binary;
using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>
/// The outer IP and UDP headers of a tunnel datagram a UDP socket received (the kernel keeps them):
/// written back in front of the payload when a session asks for whole outer frames, so the file
/// shows the mirror's packet as it came (LINKTYPE_RAW: IP first), with the addresses and ports the
/// socket reported. The UDP checksum is 0, which RFC 768 allows for IPv4 and RFC 6935 for tunnels over IPv6.
/// </summary>
internal static class OuterHeader
{
    /// <summary>Room for the longest: IPv6 (40) and UDP (8).</summary>
    public const int MaxLength = 48;

    /// <summary>Writes the headers for <paramref name="payloadLength"/> bytes of payload; returns their length.</summary>
    public static int Write(Span<byte> destination, in ReceivedDatagram meta, int payloadLength)
    {
        var v6 = meta.SourceIpVersion == 6;
        var ipLength = v6 ? 40 : 20;
        var udpLength = 8 + payloadLength;
        destination[..(ipLength + 8)].Clear();
        if (v6)
        {
            destination[0] = 0x60;                                                        // version 6 (RFC 8200 section 3)
            BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)udpLength);    // payload length
            destination[6] = IpProtocol.Udp;
            destination[7] = 64;                                                          // hop limit
            meta.Source.WriteBytes(destination[8..], 6);
            meta.Destination.WriteBytes(destination[24..], 6);
        }
        else
        {
            destination[0] = 0x45;                                                        // version 4, IHL 5 (RFC 791 section 3.1)
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)(20 + udpLength));
            destination[8] = 64;                                                          // TTL
            destination[9] = IpProtocol.Udp;
            meta.Source.WriteBytes(destination[12..], 4);
            meta.Destination.WriteBytes(destination[16..], 4);
            BinaryPrimitives.WriteUInt16BigEndian(destination[10..], Checksum(destination[..20]));
        }

        var udp = destination[ipLength..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, meta.SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], meta.LocalPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLength);
        return ipLength + 8;
    }

    /// <summary>The IPv4 header checksum (RFC 1071): the one's complement of the one's complement sum of its 16-bit words.</summary>
    private static ushort Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (var i = 0; i < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
