using System.Buffers.Binary;
using System.Net;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests.Live;

/// <summary>The traffic the live tests send, and the checks of what a source delivered.</summary>
internal static class LiveTraffic
{
    public const int NonTunnelPort = 9999;

    /// <summary>
    /// Datagrams in a fixed interleaving: VXLAN to 4789 and 8472 over IPv4, VXLAN to 4789 and
    /// Geneve to 6081 over IPv6, and every fourth one to port 9999 (a non-tunnel port, IPv4 and
    /// IPv6 alternately), with sizes from 50 to about 1400 bytes of inner payload.
    /// </summary>
    public static List<Datagram> Mixed(int count)
    {
        var datagrams = new List<Datagram>(count);
        for (var i = 0; i < count; i++)
        {
            var size = 10 + (i * 97 % 1350);
            var (address, port, geneve) = (i % 8) switch
            {
                0 or 4 => (VethPair.CaptureIpv4, 4789, false),
                1 => (VethPair.CaptureIpv4, 8472, false),
                2 => (VethPair.CaptureIpv6, 6081, true),
                5 => (VethPair.CaptureIpv6, 4789, false),
                6 => (VethPair.CaptureIpv4, 6081, true),
                3 => (VethPair.CaptureIpv4, NonTunnelPort, false),
                _ => (VethPair.CaptureIpv6, NonTunnelPort, false),
            };
            datagrams.Add(new Datagram(i, new IPEndPoint(address, port), LiveTest.TunnelPayload(i, size, geneve)));
        }

        return datagrams;
    }

    public static bool IsTunnel(Datagram datagram) => datagram.Destination.Port != NonTunnelPort;

    /// <summary>
    /// Asserts that <paramref name="received"/> holds each tunnel datagram of <paramref name="sent"/>
    /// exactly once, in sending order, byte for byte as framed by the sender's kernel, stamped
    /// within a few seconds of the sending, and decodable by the collector's decoder down to the
    /// VNI and inner ports; and nothing sent to the non-tunnel port.
    /// </summary>
    public static void AssertExactlyTheTunnelDatagrams(List<Datagram> sent, List<RecordedPacket> received, long sentFromNanos, long sentToNanos)
    {
        var expected = sent.Where(IsTunnel).ToList();
        Assert.DoesNotContain(received, packet => LiveTest.UdpDestinationPort(packet.Data) == NonTunnelPort);
        Assert.Equal(expected.Count, received.Count);
        var decoder = new PacketDecoder();
        for (var i = 0; i < expected.Count; i++)
        {
            var (datagram, packet) = (expected[i], received[i]);
            LiveTest.AssertFrameCarries(datagram, packet);
            Assert.InRange(packet.TimestampNanos, sentFromNanos - 2_000_000_000L, sentToNanos + 2_000_000_000L);
            Assert.Equal(DecodeStatus.Ok, decoder.Decode(packet.LinkType, packet.Data, out var decoded));
            Assert.Equal((uint)(0x10000 + datagram.Index), decoded.Vni);
            Assert.Equal(datagram.Destination.Port == 6081 ? TunnelKind.Geneve : TunnelKind.Vxlan, decoded.Tunnel);
            Assert.Equal(20000 + datagram.Index, decoded.SourcePort);
            Assert.Equal(80, decoded.DestinationPort);
            if (i > 0)
            {
                Assert.True(packet.TimestampNanos >= received[i - 1].TimestampNanos, $"timestamp of packet {i} goes backwards");
            }
        }
    }

    /// <summary>The VNI of a captured VXLAN frame (untagged IPv4 or IPv6), to tell datagrams apart.</summary>
    public static int IndexOf(byte[] frame)
    {
        var udp = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == 0x0800 ? 14 + 20 : 14 + 40;
        return (int)(BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(udp + 8 + 4)) >> 8) - 0x10000;
    }
}
