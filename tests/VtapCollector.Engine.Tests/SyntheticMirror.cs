using System.Buffers.Binary;
using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Engine.Tests;

/// <summary>
/// A pcap of mirrored traffic made in memory: VXLAN (RFC 7348) frames from two mirror sources, each
/// carrying an inner Ethernet/IPv4 packet of a TCP or UDP conversation. Conversations are spread over
/// several seconds with idle gaps longer than the idle timeout, so flows end and restart on the same
/// tuple and long flows cross the active timeout: the cases where expiry order decides the records.
/// </summary>
internal static class SyntheticMirror
{
    public const long StartNanos = 1_700_000_000_000_000_000L;

    /// <summary>A capture of <paramref name="flows"/> conversations, <paramref name="packetsPerFlow"/> packets each, deterministic for a seed.</summary>
    /// <param name="flows">Conversations.</param>
    /// <param name="packetsPerFlow">Packets of each.</param>
    /// <param name="seed">The random generator's seed.</param>
    /// <param name="secondTap">
    /// Both ends tapped: every packet is there a second time, as the other NIC's tap sends it: from
    /// 192.0.2.(source + 4), under the VNI plus <c>VniOffset</c>, <c>DelayNanos</c> later.
    /// </param>
    public static byte[] Capture(int flows, int packetsPerFlow, int seed, (uint VniOffset, long DelayNanos)? secondTap = null)
    {
        var random = new Random(seed);
        var packets = new List<(long Time, byte[] Frame)>();
        for (var f = 0; f < flows; f++)
        {
            var tcp = f % 3 != 0;
            var vni = (uint)(100 + (f % 4));
            var client = (byte)(1 + (f % 200));
            var server = (byte)(1 + (f / 200 % 200));
            var clientPort = (ushort)(30000 + f);
            var serverPort = (ushort)(tcp ? 443 : 53);
            var time = StartNanos + (random.NextInt64(0, 20) * 250_000_000L);
            for (var p = 0; p < packetsPerFlow; p++)
            {
                var fromClient = p % 2 == 0;
                // Now and then a pause longer than the 2 s idle timeout the tests use: the flow ends and a new one starts.
                time += random.Next(0, 10) == 0 ? 3_000_000_000L : random.NextInt64(1_000_000, 400_000_000);
                var flags = (byte)(!tcp ? 0 : p == 0 ? 0x02 : p == 1 ? 0x12 : 0x10);
                var payload = 40 + random.Next(0, 1200);
                packets.Add((time, Frame(vni, client, server, fromClient, tcp, clientPort, serverPort, flags, payload)));
                if (secondTap is var (vniOffset, delay))
                {
                    var copy = Frame(vni + vniOffset, client, server, fromClient, tcp, clientPort, serverPort, flags, payload);
                    copy[14 + 15] += 4; // the other NIC's tap: another outer source address
                    copy[14 + 8] = 63; // one hop further on: another TTL, which the signature leaves out
                    copy[14 + 20 + 8 + 8 + 14 + 8] = 63;
                    packets.Add((time + delay, copy));
                }
            }
        }

        packets.Sort((a, b) => a.Time.CompareTo(b.Time));
        using var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, LinkType.Ethernet, nanoseconds: true))
        {
            foreach (var (time, frame) in packets)
            {
                writer.Write(time, frame);
            }
        }

        return stream.ToArray();
    }

    /// <summary>
    /// Outer Ethernet / IPv4 (mirror source 192.0.2.1 or .2 to 192.0.2.9) / UDP to 4789 / VXLAN / inner
    /// Ethernet / IPv4 10.1.0.client &lt;-&gt; 10.2.0.server / TCP or UDP, with <paramref name="payload"/> bytes of payload.
    /// </summary>
    private static byte[] Frame(uint vni, byte client, byte server, bool fromClient, bool tcp, ushort clientPort, ushort serverPort, byte flags, int payload)
    {
        var transport = tcp ? 20 : 8;
        var innerIp = 20 + transport + payload;
        var inner = 14 + innerIp;
        var frame = new byte[14 + 20 + 8 + 8 + inner];
        var s = frame.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(s[12..], 0x0800);               // outer EtherType IPv4
        var outer = s[14..];
        outer[0] = 0x45;                                                    // IPv4, IHL 5
        BinaryPrimitives.WriteUInt16BigEndian(outer[2..], (ushort)(20 + 8 + 8 + inner));
        outer[8] = 64;
        outer[9] = 17;                                                      // UDP
        outer[12] = 192; outer[13] = 0; outer[14] = 2; outer[15] = (byte)(fromClient ? 1 : 2); // each side's own mirror copy
        outer[16] = 192; outer[17] = 0; outer[18] = 2; outer[19] = 9;
        var udp = outer[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 50000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 4789);              // VXLAN port (RFC 7348 section 5)
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + 8 + inner));
        var vxlan = udp[8..];
        vxlan[0] = 0x08;                                                    // I flag
        BinaryPrimitives.WriteUInt32BigEndian(vxlan[4..], vni << 8);
        var ethernet = vxlan[8..];
        BinaryPrimitives.WriteUInt16BigEndian(ethernet[12..], 0x0800);
        var ip = ethernet[14..];
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)innerIp);
        ip[8] = 64;
        ip[9] = (byte)(tcp ? 6 : 17);
        byte[] clientAddress = [10, 1, 0, client], serverAddress = [10, 2, 0, server];
        (fromClient ? clientAddress : serverAddress).CopyTo(ip[12..]);
        (fromClient ? serverAddress : clientAddress).CopyTo(ip[16..]);

        var l4 = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(l4, fromClient ? clientPort : serverPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4[2..], fromClient ? serverPort : clientPort);
        if (tcp)
        {
            l4[12] = 0x50;                                                  // data offset 5
            l4[13] = flags;
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)(8 + payload));
        }

        return frame;
    }
}
