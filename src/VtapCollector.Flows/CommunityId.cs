using System.Buffers.Binary;
using System.Buffers.Text;
using VtapCollector.Decoding;

namespace VtapCollector.Flows;

/// <summary>
/// Community ID v1 (github.com/corelight/community-id-spec): "1:" + base64(SHA-1(seed ||
/// ordered source address || ordered destination address || protocol || 0 || ordered ports)),
/// the join key shared by Zeek, Suricata, Elastic and Arkime. It does not include the VNI.
/// </summary>
public static class CommunityId
{
    /// <summary>"1:" plus 28 characters of base64.</summary>
    public const int Length = 30;

    /// <summary>
    /// Writes the UTF-8 Community ID of a flow seen from either side into
    /// (<paramref name="output"/>, at least <see cref="Length"/> bytes) and returns the bytes written. For ICMP the ports are the
    /// type and code as the decoder reports them, or a flow record's mapped ports: both map alike.
    /// </summary>
    public static int Format(byte ipVersion, IpAddress source, IpAddress destination, byte protocol, ushort sourcePort, ushort destinationPort, ushort seed, Span<byte> output)
    {
        var ordered = true;
        if (protocol is IpProtocol.Icmp or IpProtocol.Icmpv6)
        {
            // The spec maps (type, code) to (type, counterpart) for request/reply types, and leaves
            // one-way types unordered so that both ends of a one-way message are told apart.
            ordered = IcmpTypes.TryMapPorts(protocol, (byte)sourcePort, (byte)destinationPort, out sourcePort, out destinationPort);
        }
        else if (protocol is not (IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp))
        {
            sourcePort = 0;
            destinationPort = 0;
        }

        Span<byte> input = stackalloc byte[2 + 16 + 16 + 2 + 4];
        BinaryPrimitives.WriteUInt16BigEndian(input, seed);
        var swap = ordered && !FlowKey.IsLower(source, sourcePort, destination, destinationPort);
        var first = swap ? destination : source;
        var second = swap ? source : destination;
        var offset = 2;
        offset += first.WriteBytes(input[offset..], ipVersion);
        offset += second.WriteBytes(input[offset..], ipVersion);
        input[offset++] = protocol;
        input[offset++] = 0;
        var hasPorts = protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp or IpProtocol.Icmp or IpProtocol.Icmpv6;
        if (hasPorts)
        {
            BinaryPrimitives.WriteUInt16BigEndian(input[offset..], swap ? destinationPort : sourcePort);
            BinaryPrimitives.WriteUInt16BigEndian(input[(offset + 2)..], swap ? sourcePort : destinationPort);
            offset += 4;
        }

        Span<byte> hash = stackalloc byte[Sha1SingleBlock.HashLength];
        Sha1SingleBlock.Hash(input[..offset], hash);
        output[0] = (byte)'1';
        output[1] = (byte)':';
        Base64.EncodeToUtf8(hash, output[2..], out _, out var written);
        return 2 + written;
    }

    /// <summary>Text form; allocates, for tests and diagnostics.</summary>
    public static string ToString(byte ipVersion, IpAddress source, IpAddress destination, byte protocol, ushort sourcePort, ushort destinationPort, ushort seed = 0)
    {
        Span<byte> buffer = stackalloc byte[Length];
        var written = Format(ipVersion, source, destination, protocol, sourcePort, destinationPort, seed, buffer);
        return System.Text.Encoding.ASCII.GetString(buffer[..written]);
    }
}
