using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>
/// The few upper-layer fields a flow needs: ports (or ICMP type and code) and TCP flags.
/// Checksums are not verified: mirrored copies of offloaded traffic routinely carry partial ones.
/// </summary>
public static class TransportHeader
{
    /// <summary>TCP needs its fixed 20 bytes (RFC 9293 section 3.1).</summary>
    public const int TcpMinLength = 20;
    public const int UdpLength = 8;

    /// <summary>Fills ports and flags of <paramref name="packet"/> from the upper-layer bytes.</summary>
    public static DecodeStatus TryRead(byte protocol, ReadOnlySpan<byte> source, ref DecodedPacket packet)
    {
        switch (protocol)
        {
            case IpProtocol.Tcp:
                if ((uint)source.Length < TcpMinLength)
                {
                    return DecodeStatus.TcpTruncated;
                }

                if (source[12] >> 4 < 5)
                {
                    return DecodeStatus.TcpHeaderLengthInvalid;
                }

                packet.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(source);
                packet.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
                packet.TcpFlags = source[13];
                return DecodeStatus.Ok;

            case IpProtocol.Udp:
                if ((uint)source.Length < UdpLength)
                {
                    return DecodeStatus.UdpTruncated;
                }

                // Length 0 marks a UDP jumbogram (RFC 2675 section 4) or a GSO super-packet.
                var udpLength = BinaryPrimitives.ReadUInt16BigEndian(source[4..]);
                if (udpLength is > 0 and < UdpLength)
                {
                    return DecodeStatus.UdpLengthInvalid;
                }

                packet.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(source);
                packet.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
                return DecodeStatus.Ok;

            case IpProtocol.Sctp:
                if ((uint)source.Length < 4)
                {
                    return DecodeStatus.SctpTruncated;
                }

                packet.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(source);
                packet.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
                return DecodeStatus.Ok;

            case IpProtocol.Icmp:
            case IpProtocol.Icmpv6:
                if ((uint)source.Length < 2)
                {
                    return protocol == IpProtocol.Icmp ? DecodeStatus.IcmpTruncated : DecodeStatus.Icmpv6Truncated;
                }

                // Type and code travel in the port fields, as Zeek and Community ID carry them.
                packet.SourcePort = source[0];
                packet.DestinationPort = source[1];
                return DecodeStatus.Ok;

            default:
                return DecodeStatus.Ok;
        }
    }
}
