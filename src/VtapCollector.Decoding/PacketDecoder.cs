using System.Buffers.Binary;

namespace VtapCollector.Decoding;

/// <summary>
/// Decodes one captured frame, outer headers to inner 5-tuple: link layer, IP, UDP or GRE, then as
/// many VXLAN/Geneve/ERSPAN/GRE tunnels as the frame carries (up to a bound), and the inner IP packet's transport
/// header. Spans in, a value struct out, a <see cref="DecodeStatus"/> for every way input can be
/// wrong. No allocation, no exceptions, no state between packets: one instance can be shared by
/// threads, though each worker usually builds its own.
/// </summary>
public sealed class PacketDecoder
{
    private const byte PortNone = 0;
    private const byte PortVxlan = 1;
    private const byte PortGeneve = 2;
    private const byte PortVxlanGpe = 3;

    /// <summary>What each UDP destination port means; one 64 KiB table built once.</summary>
    private readonly byte[] _portKinds = new byte[65536];
    private readonly int _maxTunnelDepth;
    private readonly int _maxVlanTags;
    private readonly int _maxExtensionHeaders;
    private readonly bool _gre;
    private readonly bool _signatures;

    public PacketDecoder()
        : this(new DecoderOptions())
    {
    }

    public PacketDecoder(DecoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var error = options.Validate();
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(options));
        }

        _portKinds[DecoderOptions.VxlanGpeIanaPort] = PortVxlanGpe;
        foreach (var port in options.VxlanPorts)
        {
            _portKinds[port] = PortVxlan;
        }

        foreach (var port in options.GenevePorts)
        {
            _portKinds[port] = PortGeneve;
        }

        _maxTunnelDepth = options.MaxTunnelDepth;
        _maxVlanTags = options.MaxVlanTags;
        _maxExtensionHeaders = options.MaxIpv6ExtensionHeaders;
        _gre = options.Gre;
        _signatures = options.ComputeSignatures;
    }

    /// <summary>Decodes a frame captured on a link of type <paramref name="linkType"/>.</summary>
    public DecodeStatus Decode(LinkType linkType, ReadOnlySpan<byte> frame, out DecodedPacket packet)
    {
        packet = default;
        EthernetHeader link;
        DecodeStatus status;
        switch (linkType)
        {
            case LinkType.Ethernet:
                status = EthernetHeader.TryRead(frame, _maxVlanTags, out link);
                break;
            case LinkType.LinuxSll:
                status = LinuxCookedHeader.TryReadSll(frame, _maxVlanTags, out link);
                break;
            case LinkType.LinuxSll2:
                status = LinuxCookedHeader.TryReadSll2(frame, _maxVlanTags, out link);
                break;
            case LinkType.Ipv4:
                return DecodeNetwork(EtherTypes.Ipv4, frame, ref packet, PacketFlags.None);
            case LinkType.Ipv6:
                return DecodeNetwork(EtherTypes.Ipv6, frame, ref packet, PacketFlags.None);
            case LinkType.Raw:
                return DecodeNetwork(EtherTypeOfRawIp(frame), frame, ref packet, PacketFlags.None);
            case LinkType.Null:
                return DecodeNull(frame, ref packet);
            default:
                return DecodeStatus.UnsupportedLinkType;
        }

        if (status != DecodeStatus.Ok)
        {
            return status;
        }

        packet.Vlan = link.Vlan;
        return DecodeNetwork(link.EtherType, frame[link.HeaderLength..], ref packet, PacketFlags.None);
    }

    /// <summary>
    /// Decodes a tunnel payload as a UDP socket delivers it (the VXLAN or Geneve header first);
    /// the outer addresses come from the socket.
    /// </summary>
    public DecodeStatus DecodeTunnelPayload(
        TunnelKind kind,
        IpAddress outerSource,
        IpAddress outerDestination,
        byte outerIpVersion,
        ReadOnlySpan<byte> payload,
        out DecodedPacket packet)
    {
        packet = default;
        var portKind = kind switch
        {
            TunnelKind.Vxlan => PortVxlan,
            TunnelKind.Geneve => PortGeneve,
            _ => PortNone,
        };
        if (portKind == PortNone)
        {
            return DecodeStatus.UnknownEtherType;
        }

        packet.TunnelSource = outerSource;
        packet.TunnelDestination = outerDestination;
        packet.TunnelIpVersion = outerIpVersion;
        var status = DecodeTunnelHeader(portKind, payload, ref packet, out var etherType, out var inner);
        return status != DecodeStatus.Ok ? status : DecodeNetwork(etherType, inner, ref packet, PacketFlags.None);
    }

    /// <summary>
    /// The IP header just read is a tunnel's outer header (UDP to a tunnel port, or GRE carrying a
    /// mirror): keeps its endpoints as the tunnel's, or refuses when the tunnels nest too deep.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool TryEnterTunnel(ref DecodedPacket packet)
    {
        if (packet.TunnelDepth >= _maxTunnelDepth)
        {
            return false;
        }

        packet.TunnelSource = packet.Source;
        packet.TunnelDestination = packet.Destination;
        packet.TunnelIpVersion = packet.IpVersion;
        return true;
    }

    /// <summary>
    /// Decodes from an IP header inwards. <paramref name="carried"/> holds flags an outer layer
    /// learned about the inner packet (ERSPAN's truncation bit), added to every IP layer below it.
    /// </summary>
    private DecodeStatus DecodeNetwork(ushort etherType, ReadOnlySpan<byte> data, scoped ref DecodedPacket packet, PacketFlags carried)
    {
        while (true)
        {
            ReadOnlySpan<byte> upper;
            if (etherType == EtherTypes.Ipv4)
            {
                var status = Ipv4Header.TryRead(data, out var ip);
                if (status != DecodeStatus.Ok)
                {
                    return status;
                }

                packet.IpVersion = 4;
                packet.Source = ip.Source;
                packet.Destination = ip.Destination;
                packet.Protocol = ip.Protocol;
                packet.IpBytes = ip.TotalLength;
                packet.Flags = ip.Flags | carried;
                packet.FragmentId = ip.Identification;
                packet.FragmentOffset = ip.FragmentOffset;
                packet.MoreFragments = ip.MoreFragments;
                upper = data[ip.HeaderLength..ip.CapturedEnd];
            }
            else if (etherType == EtherTypes.Ipv6)
            {
                var status = Ipv6Header.TryRead(data, _maxExtensionHeaders, out var ip);
                if (status != DecodeStatus.Ok)
                {
                    return status;
                }

                packet.IpVersion = 6;
                packet.Source = ip.Source;
                packet.Destination = ip.Destination;
                packet.Protocol = ip.Protocol;
                packet.IpBytes = ip.TotalLength;
                packet.Flags = ip.Flags | carried;
                packet.FragmentId = ip.FragmentId;
                packet.FragmentOffset = ip.FragmentOffset;
                packet.MoreFragments = ip.MoreFragments;
                upper = data[ip.HeaderLength..ip.CapturedEnd];
            }
            else
            {
                return etherType == EtherTypes.Arp ? DecodeStatus.Arp : DecodeStatus.UnknownEtherType;
            }

            packet.SourcePort = 0;
            packet.DestinationPort = 0;
            packet.TcpFlags = 0;
            if (packet.FragmentOffset != 0)
            {
                // Later fragments have no transport header; the flow table finds their ports.
                Sign(ref packet, data, upper);
                return DecodeStatus.Ok;
            }

            var transport = TransportHeader.TryRead(packet.Protocol, upper, ref packet);
            if (transport != DecodeStatus.Ok)
            {
                return transport;
            }

            if (packet.Protocol == IpProtocol.Gre)
            {
                if (!_gre)
                {
                    Sign(ref packet, data, upper);
                    return ClassifyGre(upper);
                }

                var greStatus = GreHeader.TryReadProtocolType(upper, out var greProtocol);
                if (greStatus != DecodeStatus.Ok)
                {
                    return greStatus;
                }

                if (!IsMirrorProtocol(greProtocol))
                {
                    // IP over GRE, PPTP, ...: not a mirror, so a flow of protocol 47 between the GRE endpoints.
                    Sign(ref packet, data, upper);
                    return DecodeStatus.Ok;
                }

                if (!TryEnterTunnel(ref packet))
                {
                    return DecodeStatus.TooManyLayers;
                }

                var greTunnel = DecodeGreTunnel(upper, ref packet, ref carried, out etherType, out data);
                if (greTunnel != DecodeStatus.Ok)
                {
                    return greTunnel;
                }

                continue;
            }

            var portKind = packet.Protocol == IpProtocol.Udp ? _portKinds[packet.DestinationPort] : PortNone;
            if (portKind == PortNone)
            {
                Sign(ref packet, data, upper);
                return DecodeStatus.Ok;
            }

            if (!TryEnterTunnel(ref packet))
            {
                return DecodeStatus.TooManyLayers;
            }

            var tunnel = DecodeTunnelHeader(portKind, upper[TransportHeader.UdpLength..], ref packet, out etherType, out data);
            if (tunnel != DecodeStatus.Ok)
            {
                return tunnel;
            }
        }
    }

    /// <summary>
    /// The innermost packet's signature for double-tap deduplication, only when asked for: without
    /// deduplication the packet path does no more work than before.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void Sign(scoped ref DecodedPacket packet, ReadOnlySpan<byte> ip, ReadOnlySpan<byte> upper)
    {
        if (_signatures)
        {
            packet.Signature = PacketSignature.Compute(packet, ip, upper);
        }
    }

    /// <summary>Reads a VXLAN or Geneve header and the inner Ethernet header when there is one.</summary>
    private DecodeStatus DecodeTunnelHeader(byte portKind, ReadOnlySpan<byte> payload, scoped ref DecodedPacket packet, out ushort etherType, out ReadOnlySpan<byte> inner)
    {
        etherType = 0;
        inner = default;
        DecodeStatus status;
        ReadOnlySpan<byte> frame;
        switch (portKind)
        {
            case PortVxlan:
                status = VxlanHeader.TryRead(payload, out var vxlan);
                if (status != DecodeStatus.Ok)
                {
                    return status;
                }

                packet.Tunnel = TunnelKind.Vxlan;
                packet.Vni = vxlan.Vni;
                frame = payload[VxlanHeader.Length..];
                break;

            case PortGeneve:
                status = GeneveHeader.TryRead(payload, out var geneve);
                if (status != DecodeStatus.Ok)
                {
                    return status;
                }

                packet.Tunnel = TunnelKind.Geneve;
                packet.Vni = geneve.Vni;
                frame = payload[geneve.HeaderLength..];
                if (geneve.ProtocolType != EtherTypes.TransparentEthernetBridging)
                {
                    // GCP's mirroring sends IP straight after the Geneve header, without Ethernet.
                    packet.TunnelDepth++;
                    packet.Vlan = 0;
                    etherType = geneve.ProtocolType;
                    inner = frame;
                    return DecodeStatus.Ok;
                }

                break;

            default:
                return DecodeStatus.VxlanGpeUnsupported;
        }

        packet.TunnelDepth++;
        status = EthernetHeader.TryRead(frame, _maxVlanTags, out var ethernet);
        if (status != DecodeStatus.Ok)
        {
            return status;
        }

        packet.Vlan = ethernet.Vlan;
        etherType = ethernet.EtherType;
        inner = frame[ethernet.HeaderLength..];
        return DecodeStatus.Ok;
    }

    /// <summary>
    /// Reads a GRE header that carries a mirrored frame, the ERSPAN header behind it if any, and the
    /// mirrored frame's Ethernet header unless ERSPAN type III says the frame is bare IP.
    /// </summary>
    private DecodeStatus DecodeGreTunnel(ReadOnlySpan<byte> payload, scoped ref DecodedPacket packet, scoped ref PacketFlags carried, out ushort etherType, out ReadOnlySpan<byte> inner)
    {
        etherType = 0;
        inner = default;
        var status = GreHeader.TryRead(payload, out var gre);
        if (status != DecodeStatus.Ok)
        {
            return status;
        }

        var frame = payload[gre.HeaderLength..];
        ushort erspanVlan = 0;
        if (gre.ProtocolType == EtherTypes.TransparentEthernetBridging)
        {
            packet.Tunnel = TunnelKind.Gre;
            packet.Vni = gre.Key;
        }
        else if (gre.ProtocolType == EtherTypes.ErspanII && !gre.HasSequence)
        {
            // ERSPAN type I: no sequence number and no ERSPAN header, so no session ID either.
            packet.Tunnel = TunnelKind.Erspan;
            packet.Vni = 0;
        }
        else
        {
            status = ErspanHeader.TryRead(frame, gre.ProtocolType == EtherTypes.ErspanIII, out var erspan);
            if (status != DecodeStatus.Ok)
            {
                return status;
            }

            packet.Tunnel = TunnelKind.Erspan;
            packet.Vni = erspan.SessionId;
            erspanVlan = erspan.Vlan;
            if (erspan.Truncated)
            {
                // The switch cut the copy: the inner IP length says more than arrived, as when a
                // VXLAN mirror's copy is cut, and the same flag says so.
                carried |= PacketFlags.TruncatedCopy;
            }

            frame = frame[erspan.HeaderLength..];
            if (erspan.CarriesIp)
            {
                packet.TunnelDepth++;
                packet.Vlan = erspanVlan;
                etherType = EtherTypeOfRawIp(frame);
                inner = frame;
                return DecodeStatus.Ok;
            }
        }

        packet.TunnelDepth++;
        status = EthernetHeader.TryRead(frame, _maxVlanTags, out var ethernet);
        if (status != DecodeStatus.Ok)
        {
            return status;
        }

        packet.Vlan = ethernet.Vlan != 0 ? ethernet.Vlan : erspanVlan;
        etherType = ethernet.EtherType;
        inner = frame[ethernet.HeaderLength..];
        return DecodeStatus.Ok;
    }

    private static bool IsMirrorProtocol(ushort protocolType) =>
        protocolType is EtherTypes.ErspanII or EtherTypes.ErspanIII or EtherTypes.TransparentEthernetBridging;

    /// <summary>
    /// With <see cref="DecoderOptions.Gre"/> off, GRE that carries mirrored frames is reported as
    /// such; any other GRE is a flow of its own (protocol 47).
    /// </summary>
    private static DecodeStatus ClassifyGre(ReadOnlySpan<byte> gre)
    {
        if ((uint)gre.Length < 4)
        {
            return DecodeStatus.Ok;
        }

        return IsMirrorProtocol(BinaryPrimitives.ReadUInt16BigEndian(gre[2..])) ? DecodeStatus.GreUnsupported : DecodeStatus.Ok;
    }

    private static ushort EtherTypeOfRawIp(ReadOnlySpan<byte> frame)
    {
        if (frame.IsEmpty)
        {
            return EtherTypes.Ipv4; // reported as Ipv4Truncated
        }

        return (frame[0] >> 4) switch
        {
            4 => EtherTypes.Ipv4,
            6 => EtherTypes.Ipv6,
            _ => 0,
        };
    }

    /// <summary>
    /// LINKTYPE_NULL: a 4-byte protocol family in the capturing host's byte order, so both orders
    /// are tried. AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (BSDs, macOS).
    /// </summary>
    private DecodeStatus DecodeNull(ReadOnlySpan<byte> frame, ref DecodedPacket packet)
    {
        if ((uint)frame.Length < 4)
        {
            return DecodeStatus.NullHeaderTruncated;
        }

        var family = BinaryPrimitives.ReadUInt32LittleEndian(frame);
        if (family > 0xFFFF)
        {
            family = BinaryPrimitives.ReadUInt32BigEndian(frame);
        }

        ushort etherType = family switch
        {
            2 => EtherTypes.Ipv4,
            10 or 24 or 28 or 30 => EtherTypes.Ipv6,
            _ => 0,
        };
        return DecodeNetwork(etherType, frame[4..], ref packet, PacketFlags.None);
    }
}
