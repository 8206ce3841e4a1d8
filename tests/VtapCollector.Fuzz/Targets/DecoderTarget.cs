using System.Buffers.Binary;
using VtapCollector.Decoding;

namespace VtapCollector.Fuzz.Targets;

/// <summary>
/// The packet decoder on every link type and on tunnel payloads as a UDP socket delivers them. The
/// first input byte picks the entry point, the rest is the frame.
/// </summary>
internal sealed class DecoderTarget : IFuzzTarget
{
    /// <summary>Entry points by first byte (modulo their count): the link types, then the two tunnel payloads.</summary>
    private static readonly LinkType[] LinkTypes =
        [LinkType.Null, LinkType.Ethernet, LinkType.Raw, LinkType.LinuxSll, LinkType.Ipv4, LinkType.Ipv6, LinkType.LinuxSll2];

    private const int VxlanPayload = 7;
    private const int GenevePayload = 8;
    private const int Modes = 9;

    private readonly PacketDecoder _decoder = new(new DecoderOptions());
    private readonly int _maxTunnelDepth = new DecoderOptions().MaxTunnelDepth;

    public string Name => "decoder";

    public IReadOnlyList<string> Instrument => ["VtapCollector.Decoding.dll"];

    public IEnumerable<string>? Dictionary => null;

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var mode = input[0] % Modes;
        var frame = input[1..];
        DecodeStatus status;
        DecodedPacket packet;
        if (mode == VxlanPayload || mode == GenevePayload)
        {
            status = _decoder.DecodeTunnelPayload(
                mode == VxlanPayload ? TunnelKind.Vxlan : TunnelKind.Geneve,
                IpAddress.FromIPv4(0x0A000001),
                IpAddress.FromIPv4(0x0A000002),
                4,
                frame,
                out packet);
        }
        else
        {
            status = _decoder.Decode(LinkTypes[mode], frame, out packet);
        }

        // Beyond "never throws": every outcome is a named status, and a decoded frame never
        // claims more tunnels than the decoder may remove.
        if ((uint)status >= (uint)DecodeStatus.Count)
        {
            throw new InvalidOperationException($"Decode returned {(int)status}, which is not a DecodeStatus.");
        }

        if (status == DecodeStatus.Ok && packet.TunnelDepth > _maxTunnelDepth)
        {
            throw new InvalidOperationException($"Decode removed {packet.TunnelDepth} tunnels; at most {_maxTunnelDepth} are allowed.");
        }
    }

    public IEnumerable<Seed> Seeds(string repositoryRoot)
    {
        foreach (var path in CaptureFrames.Files(repositoryRoot))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            var index = 0;
            foreach (var (linkType, _, data) in CaptureFrames.Read(path).Take(2))
            {
                index++;
                var mode = (byte)Array.IndexOf(LinkTypes, linkType);
                yield return new Seed($"{name}-{index}", [mode, .. data]);
                if (linkType != LinkType.Ethernet || data.Length < 14)
                {
                    continue;
                }

                // The same packet behind the other link layers, and its tunnel payload on its own.
                var etherType = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(12));
                var ip = data[14..];
                if (index == 1)
                {
                    yield return new Seed($"{name}-raw", [(byte)Array.IndexOf(LinkTypes, LinkType.Raw), .. ip]);
                    var family = etherType == 0x86DD ? (byte)10 : (byte)2;
                    yield return new Seed($"{name}-null", [0, family, 0, 0, 0, .. ip]);
                    byte[] sll = [0, 0, 0, 1, 0, 6, .. data[6..12], 0, 0, .. data[12..14]];
                    yield return new Seed($"{name}-sll", [(byte)Array.IndexOf(LinkTypes, LinkType.LinuxSll), .. sll, .. ip]);
                    byte[] sll2 = [.. data[12..14], 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, .. data[6..12], 0, 0];
                    yield return new Seed($"{name}-sll2", [(byte)Array.IndexOf(LinkTypes, LinkType.LinuxSll2), .. sll2, .. ip]);
                }

                if (GreTypeIOffset(etherType, ip) is int gre)
                {
                    // ERSPAN type I carries the frame right after a 4-byte GRE header, as bridged
                    // Ethernet over GRE (0x6558) does: relabelled, it seeds that path too.
                    var bridged = (byte[])data.Clone();
                    BinaryPrimitives.WriteUInt16BigEndian(bridged.AsSpan(14 + gre + 2), 0x6558);
                    yield return new Seed($"{name}-{index}-gre-bridged", [mode, .. bridged]);
                }

                if (UdpPayload(etherType, ip) is { } udp)
                {
                    var (port, payload) = udp;
                    if (port is DecoderOptions.VxlanIanaPort or DecoderOptions.VxlanLinuxPort)
                    {
                        yield return new Seed($"{name}-{index}-vxlan-payload", [VxlanPayload, .. payload]);
                    }
                    else if (port == DecoderOptions.GeneveIanaPort)
                    {
                        yield return new Seed($"{name}-{index}-geneve-payload", [GenevePayload, .. payload]);
                    }
                }
            }
        }
    }

    /// <summary>Where the GRE header of an untagged IPv4 packet carrying ERSPAN type I (no GRE options) starts, or null.</summary>
    private static int? GreTypeIOffset(ushort etherType, byte[] ip)
    {
        if (etherType != 0x0800 || ip.Length < 20 || ip[9] != 47)
        {
            return null;
        }

        var headerLength = (ip[0] & 0x0F) * 4;
        return ip.Length >= headerLength + 4 && ip[headerLength] == 0 && BinaryPrimitives.ReadUInt16BigEndian(ip.AsSpan(headerLength + 2)) == 0x88BE
            ? headerLength
            : null;
    }

    /// <summary>The destination port and payload of an untagged IPv4 or IPv6 UDP packet, or null.</summary>
    private static (ushort Port, byte[] Payload)? UdpPayload(ushort etherType, byte[] ip)
    {
        int headerLength;
        if (etherType == 0x0800 && ip.Length >= 20 && ip[9] == 17)
        {
            headerLength = (ip[0] & 0x0F) * 4;
        }
        else if (etherType == 0x86DD && ip.Length >= 40 && ip[6] == 17)
        {
            headerLength = 40;
        }
        else
        {
            return null;
        }

        if (ip.Length < headerLength + 8)
        {
            return null;
        }

        return (BinaryPrimitives.ReadUInt16BigEndian(ip.AsSpan(headerLength + 2)), ip[(headerLength + 8)..]);
    }
}
