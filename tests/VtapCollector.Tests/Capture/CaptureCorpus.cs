using System.Buffers.Binary;
using System.Net;
using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Tests.Capture;

/// <summary>
/// A pcap (nanosecond timestamps, each packet's unique) of mirrored traffic for the capture-filter
/// matrix: outer Ethernet / IPv4 or IPv6 / UDP 4789 / VXLAN (RFC 7348) / inner Ethernet / the same IP
/// family / TCP, UDP or ICMP echo, across three VNIs, with ports inside and outside the ranges the
/// cases name. The mirror (outer source) is sometimes the inner source, sometimes the inner
/// destination and sometimes neither, so "local" takes every orientation the filter knows.
/// </summary>
internal static class CaptureCorpus
{
    public const long StartNanos = 1_765_000_000_000_000_000L;

    private static readonly string[] V4Inner = ["10.1.0.5", "10.1.7.9", "10.2.0.5", "10.2.3.4", "172.16.5.1"];
    private static readonly string[] V6Inner = ["2001:db8:1::5", "2001:db8:1::9", "2001:db8:2::5", "2001:db8:2::7", "fd00::1"];
    private static readonly string[] V4Mirrors = ["192.0.2.1", "192.0.2.2"];
    private static readonly string[] V6Mirrors = ["2001:db8:ffff::1", "2001:db8:fffe::2"];
    private static readonly ushort[] Ports = [53, 80, 443, 999, 1000, 1050, 1100, 1101, 8080, 40000, 40050, 40100, 50000];
    private static readonly uint[] Vnis = [100, 101, 200];

    public static void Write(string path, int packets, int seed)
    {
        var random = new Random(seed);
        using var stream = File.Create(path);
        using var writer = new PcapWriter(stream, LinkType.Ethernet, nanoseconds: true);
        for (var i = 0; i < packets; i++)
        {
            var v6 = random.Next(3) == 0;
            var inner = v6 ? V6Inner : V4Inner;
            var source = inner[random.Next(inner.Length)];
            var destination = inner[random.Next(inner.Length)];
            var mirror = random.Next(4) switch
            {
                0 => source,
                1 => destination,
                _ => (v6 ? V6Mirrors : V4Mirrors)[random.Next(2)],
            };
            var protocol = random.Next(5) switch
            {
                0 or 1 => IpProtocol.Tcp,
                2 or 3 => IpProtocol.Udp,
                _ => v6 ? IpProtocol.Icmpv6 : IpProtocol.Icmp,
            };
            var frame = Frame(IPAddress.Parse(mirror), IPAddress.Parse(source), IPAddress.Parse(destination), Vnis[random.Next(Vnis.Length)],
                protocol, Ports[random.Next(Ports.Length)], Ports[random.Next(Ports.Length)], random.Next(0, 200), (byte)i);
            writer.Write(StartNanos + (i * 1_000_003L), frame);
        }
    }

    /// <summary>One mirrored frame; <paramref name="fill"/> marks its payload bytes.</summary>
    private static byte[] Frame(IPAddress mirror, IPAddress source, IPAddress destination, uint vni, byte protocol, ushort sourcePort, ushort destinationPort, int payload, byte fill)
    {
        var v6 = source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var ipHeader = v6 ? 40 : 20;
        var transport = protocol == IpProtocol.Tcp ? 20 : 8;         // TCP without options; UDP; ICMP echo header
        var innerIp = ipHeader + transport + payload;
        var inner = 14 + innerIp;
        var outerUdp = 8 + 8 + inner;
        var frame = new byte[14 + ipHeader + outerUdp];
        var s = frame.AsSpan();
        var etherType = (ushort)(v6 ? 0x86DD : 0x0800);
        s[0..6].Fill(0x02);
        s[6..12].Fill(0x04);
        BinaryPrimitives.WriteUInt16BigEndian(s[12..], etherType);
        WriteIp(s[14..], v6, mirror, IPAddress.Parse(v6 ? "2001:db8:c011::9" : "192.0.2.9"), IpProtocol.Udp, outerUdp);
        var udp = s[(14 + ipHeader)..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 49152);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 4789);        // VXLAN (RFC 7348 section 5)
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)outerUdp);
        var vxlan = udp[8..];
        vxlan[0] = 0x08;                                              // I flag
        BinaryPrimitives.WriteUInt32BigEndian(vxlan[4..], vni << 8);
        var ethernet = vxlan[8..];
        ethernet[0..6].Fill(0x0a);
        ethernet[6..12].Fill(0x0b);
        BinaryPrimitives.WriteUInt16BigEndian(ethernet[12..], etherType);
        var ip = ethernet[14..];
        WriteIp(ip, v6, source, destination, protocol, transport + payload);
        var l4 = ip[ipHeader..];
        l4[transport..].Fill(fill);
        if (protocol == IpProtocol.Tcp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4, sourcePort);
            BinaryPrimitives.WriteUInt16BigEndian(l4[2..], destinationPort);
            l4[12] = 0x50;                                            // data offset 5
            l4[13] = 0x18;                                            // PSH ACK
            BinaryPrimitives.WriteUInt16BigEndian(l4[14..], 8192);
        }
        else if (protocol == IpProtocol.Udp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4, sourcePort);
            BinaryPrimitives.WriteUInt16BigEndian(l4[2..], destinationPort);
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)(8 + payload));
        }
        else
        {
            l4[0] = (byte)(v6 ? 128 : 8);                             // echo request (RFC 4443 section 4.1, RFC 792)
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], sourcePort);
        }

        return frame;
    }

    private static void WriteIp(Span<byte> ip, bool v6, IPAddress source, IPAddress destination, byte protocol, int payloadLength)
    {
        if (v6)
        {
            ip[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)payloadLength);
            ip[6] = protocol;
            ip[7] = 64;
            source.TryWriteBytes(ip[8..], out _);
            destination.TryWriteBytes(ip[24..], out _);
            return;
        }

        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + payloadLength));
        ip[8] = 64;
        ip[9] = protocol;
        source.TryWriteBytes(ip[12..], out _);
        destination.TryWriteBytes(ip[16..], out _);
    }
}
