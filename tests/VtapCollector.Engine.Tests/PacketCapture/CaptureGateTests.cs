using System.Net;
using VtapCollector.Decoding;
using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Engine.Tests.PacketCapture;

/// <summary>
/// The gate every packet meets while a session runs: it must pass exactly the packets whose protocol,
/// VNI and host the filter's terms allow, for IPv4 and IPv6, prefixes of every length, terms given or
/// left out. The oracle compares address bytes of <see cref="IPAddress"/> values, not the gate's masks.
/// </summary>
public class CaptureGateTests
{
    [Fact]
    public void Passes_RandomPacketsAndFilters_AgreesWithTheTermsCheckedByteByByte()
    {
        var random = new Random(20261206);
        var checkedPackets = 0;
        var passed = 0;
        for (var round = 0; round < 400; round++)
        {
            var (text, protocol, vni, host, prefix) = RandomFilter(random);
            var filter = CaptureFilterParser.TryParse(text, out var error) ?? throw new InvalidOperationException(error);
            var gate = filter.Gate;
            for (var i = 0; i < 50; i++)
            {
                var (packet, source, destination) = RandomPacket(random, host);
                var expected = (protocol is null || packet.Protocol == protocol)
                    && (vni is null || packet.Vni == vni)
                    && (host is null || InPrefix(source, host, prefix) || InPrefix(destination, host, prefix));

                Assert.True(expected == gate.Passes(packet), $"filter {text}, packet {source} -> {destination} proto {packet.Protocol} vni {packet.Vni}");
                checkedPackets++;
                passed += expected ? 1 : 0;
            }
        }

        // Both outcomes were exercised many times, not one of them by accident.
        Assert.Equal(20_000, checkedPackets);
        Assert.InRange(passed, 2_000, 18_000);
    }

    [Fact]
    public void Open_PassesEveryPacket()
    {
        var packet = new DecodedPacket { Protocol = IpProtocol.Udp, Vni = 7, Source = IpAddress.FromIPv4(0x0A000001), Destination = IpAddress.FromIPv4(0x0A000002) };

        Assert.True(CaptureGate.Open.Passes(packet));
        Assert.True(CaptureFilter.All.Gate.Passes(packet));
    }

    private static (string Text, byte? Protocol, uint? Vni, IPAddress? Host, int Prefix) RandomFilter(Random random)
    {
        var terms = new List<string>();
        byte? protocol = random.Next(3) == 0 ? (byte)(random.Next(2) == 0 ? IpProtocol.Tcp : IpProtocol.Udp) : null;
        if (protocol is { } p)
        {
            terms.Add(p == IpProtocol.Tcp ? "proto=tcp" : "proto=udp");
        }

        uint? vni = random.Next(3) == 0 ? (uint)random.Next(1, 4) : null;
        if (vni is { } v)
        {
            terms.Add($"vni={v}");
        }

        IPAddress? host = null;
        var prefix = 0;
        if (random.Next(4) != 0)
        {
            var v6 = random.Next(2) == 0;
            host = v6 ? IPAddress.Parse("2001:db8:a5:3c00::") : IPAddress.Parse("10.20.128.0");
            prefix = random.Next(v6 ? 129 : 33);
            terms.Add($"host={Masked(host, prefix)}/{prefix}");
        }

        return (string.Join(',', terms), protocol, vni, host is null ? null : Masked(host, prefix), prefix);
    }

    /// <summary>A packet whose addresses are often near the filter's host (sharing a random number of its leading bits), of either family.</summary>
    private static (DecodedPacket Packet, IPAddress Source, IPAddress Destination) RandomPacket(Random random, IPAddress? near)
    {
        var v6 = near is null ? random.Next(2) == 0 : near.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        if (random.Next(5) == 0)
        {
            v6 = !v6;
        }

        var source = Near(random, v6, near);
        var destination = Near(random, v6, near);
        var packet = new DecodedPacket
        {
            Protocol = random.Next(3) switch { 0 => IpProtocol.Tcp, 1 => IpProtocol.Udp, _ => IpProtocol.Icmp },
            Vni = (uint)random.Next(1, 4),
            Source = FromSystem(source),
            Destination = FromSystem(destination),
        };
        return (packet, source, destination);
    }

    private static IPAddress Near(Random random, bool v6, IPAddress? near)
    {
        var bytes = new byte[v6 ? 16 : 4];
        random.NextBytes(bytes);
        if (near is not null && near.GetAddressBytes() is { } basis && basis.Length == bytes.Length)
        {
            // Keep a random number of the basis's leading bits, the rest random.
            var keep = random.Next(bytes.Length * 8 + 1);
            for (var bit = 0; bit < keep; bit++)
            {
                var mask = (byte)(0x80 >> (bit % 8));
                bytes[bit / 8] = (byte)((bytes[bit / 8] & ~mask) | (basis[bit / 8] & mask));
            }
        }

        return new IPAddress(bytes);
    }

    private static IpAddress FromSystem(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return bytes.Length == 4 ? IpAddress.ReadIPv4(bytes) : IpAddress.ReadIPv6(bytes);
    }

    private static IPAddress Masked(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes);
    }

    /// <summary>
    /// The project's one 128-bit address space (an IPv4 address is its IPv4-mapped IPv6 form, an IPv4
    /// /n is /(96+n)), so a short IPv6 prefix over the mapped block holds IPv4 addresses too, as the
    /// allow-list and the networks map have it.
    /// </summary>
    private static bool InPrefix(IPAddress address, IPAddress network, int prefix)
    {
        var v4 = network.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        return Masked(address.MapToIPv6(), v4 ? 96 + prefix : prefix).Equals(network.MapToIPv6());
    }
}
