using VtapCollector.Decoding;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>Where a decoded packet's innermost frame lies in what the source delivered, and its link type.</summary>
/// <param name="Offset">First byte of the inner frame.</param>
/// <param name="Length">Bytes of the inner frame: up to the end of the tunnel's outer IP packet (the outer frame's padding is not part of it).</param>
/// <param name="LinkType">Ethernet for VXLAN, Geneve with Ethernet, ERSPAN and GRE-bridged Ethernet; raw IP for Geneve carrying IP (GCP) and ERSPAN type III frame type 2; the source's own for untunnelled traffic.</param>
internal readonly record struct InnerFrame(int Offset, int Length, LinkType LinkType);

/// <summary>
/// Finds the innermost frame of a packet the decoder accepted, walking the same headers again. Only
/// packets a capture session keeps are walked twice, so the decoder and its per-packet result stay
/// as they are: flow metering pays nothing for capture. The walk follows the decoder's rules (its
/// tunnel ports, VLAN and extension-header bounds) and stops after as many tunnels as the decoder
/// removed (<see cref="DecodedPacket.TunnelDepth"/>).
/// </summary>
internal sealed class InnerFrameLocator
{
    private const byte PortVxlan = 1;
    private const byte PortGeneve = 2;
    private const int UdpLength = 8;

    private readonly byte[] _portKinds = new byte[65536];
    private readonly int _maxVlanTags;
    private readonly int _maxExtensionHeaders;

    public InnerFrameLocator(DecoderOptions options)
    {
        foreach (var port in options.VxlanPorts)
        {
            _portKinds[port] = PortVxlan;
        }

        foreach (var port in options.GenevePorts)
        {
            _portKinds[port] = PortGeneve;
        }

        _maxVlanTags = options.MaxVlanTags;
        _maxExtensionHeaders = options.MaxIpv6ExtensionHeaders;
    }

    /// <summary>The inner frame of a whole captured frame that decoded to <paramref name="tunnelDepth"/> tunnels.</summary>
    public bool TryLocate(LinkType linkType, ReadOnlySpan<byte> frame, int tunnelDepth, out InnerFrame inner)
    {
        inner = new InnerFrame(0, frame.Length, linkType);
        if (tunnelDepth == 0)
        {
            return true;
        }

        int offset;
        ushort etherType;
        EthernetHeader link;
        switch (linkType)
        {
            case LinkType.Ethernet when EthernetHeader.TryRead(frame, _maxVlanTags, out link) == DecodeStatus.Ok:
                (offset, etherType) = (link.HeaderLength, link.EtherType);
                break;
            case LinkType.LinuxSll when LinuxCookedHeader.TryReadSll(frame, _maxVlanTags, out link) == DecodeStatus.Ok:
                (offset, etherType) = (link.HeaderLength, link.EtherType);
                break;
            case LinkType.LinuxSll2 when LinuxCookedHeader.TryReadSll2(frame, _maxVlanTags, out link) == DecodeStatus.Ok:
                (offset, etherType) = (link.HeaderLength, link.EtherType);
                break;
            case LinkType.Ipv4:
                (offset, etherType) = (0, EtherTypes.Ipv4);
                break;
            case LinkType.Ipv6:
                (offset, etherType) = (0, EtherTypes.Ipv6);
                break;
            case LinkType.Raw when !frame.IsEmpty:
                (offset, etherType) = (0, (frame[0] >> 4) == 6 ? EtherTypes.Ipv6 : EtherTypes.Ipv4);
                break;
            case LinkType.Null when frame.Length >= 4:
                // RFC-less BSD loopback header: the family decides, as in the decoder; 2 is AF_INET everywhere.
                (offset, etherType) = (4, frame[0] == 2 || frame[3] == 2 ? EtherTypes.Ipv4 : EtherTypes.Ipv6);
                break;
            default:
                return false;
        }

        return Walk(frame, offset, frame.Length, etherType, tunnelDepth, out inner);
    }

    /// <summary>The inner frame of a tunnel payload as a UDP socket delivers it (tunnel header first).</summary>
    public bool TryLocateInPayload(TunnelKind kind, ReadOnlySpan<byte> payload, int tunnelDepth, out InnerFrame inner)
    {
        inner = default;
        var portKind = kind == TunnelKind.Geneve ? PortGeneve : PortVxlan;
        return Tunnel(payload, 0, payload.Length, portKind, tunnelDepth, out inner);
    }

    /// <summary>IP, then UDP to a tunnel port or GRE carrying a mirror opens the next layer.</summary>
    private bool Walk(ReadOnlySpan<byte> frame, int offset, int end, ushort etherType, int depth, out InnerFrame inner)
    {
        inner = default;
        var data = frame[offset..end];
        int headerLength, capturedEnd;
        byte protocol;
        if (etherType == EtherTypes.Ipv4 && Ipv4Header.TryRead(data, out var v4) == DecodeStatus.Ok)
        {
            (headerLength, capturedEnd, protocol) = (v4.HeaderLength, v4.CapturedEnd, v4.Protocol);
        }
        else if (etherType == EtherTypes.Ipv6 && Ipv6Header.TryRead(data, _maxExtensionHeaders, out var v6) == DecodeStatus.Ok)
        {
            (headerLength, capturedEnd, protocol) = (v6.HeaderLength, v6.CapturedEnd, v6.Protocol);
        }
        else
        {
            return false;
        }

        if (protocol == IpProtocol.Gre)
        {
            return Gre(frame, offset + headerLength, offset + capturedEnd, depth, out inner);
        }

        if (protocol != IpProtocol.Udp || capturedEnd - headerLength < UdpLength)
        {
            return false;
        }

        var udp = offset + headerLength;
        var destinationPort = (frame[udp + 2] << 8) | frame[udp + 3];
        var portKind = _portKinds[destinationPort];
        return portKind != 0 && Tunnel(frame, udp + UdpLength, offset + capturedEnd, portKind, depth, out inner);
    }

    /// <summary>A VXLAN (RFC 7348 section 5) or Geneve (RFC 8926 section 3.4) header at <paramref name="offset"/>.</summary>
    private bool Tunnel(ReadOnlySpan<byte> frame, int offset, int end, byte portKind, int depth, out InnerFrame inner)
    {
        inner = default;
        var payload = frame[offset..end];
        int innerStart;
        if (portKind == PortGeneve)
        {
            if (GeneveHeader.TryRead(payload, out var geneve) != DecodeStatus.Ok)
            {
                return false;
            }

            innerStart = offset + geneve.HeaderLength;
            if (geneve.ProtocolType != EtherTypes.TransparentEthernetBridging)
            {
                // IP straight after the Geneve header (GCP's mirroring): the inner frame is raw IP.
                if (depth == 1)
                {
                    inner = new InnerFrame(innerStart, end - innerStart, LinkType.Raw);
                    return true;
                }

                return Walk(frame, innerStart, end, geneve.ProtocolType, depth - 1, out inner);
            }
        }
        else
        {
            if ((uint)payload.Length < VxlanHeader.Length)
            {
                return false;
            }

            innerStart = offset + VxlanHeader.Length;
        }

        if (depth == 1)
        {
            inner = new InnerFrame(innerStart, end - innerStart, LinkType.Ethernet);
            return true;
        }

        if (EthernetHeader.TryRead(frame[innerStart..end], _maxVlanTags, out var ethernet) != DecodeStatus.Ok)
        {
            return false;
        }

        return Walk(frame, innerStart + ethernet.HeaderLength, end, ethernet.EtherType, depth - 1, out inner);
    }
    /// <summary>
    /// A GRE header (RFC 2784, RFC 2890) at <paramref name="offset"/> opening a mirror: Ethernet bridged
    /// over GRE (0x6558), ERSPAN type I (0x88BE without a sequence number: the frame follows GRE), or
    /// ERSPAN type II or III (their own header, then an Ethernet frame or, for type III frame type 2, IP).
    /// </summary>
    private bool Gre(ReadOnlySpan<byte> frame, int offset, int end, int depth, out InnerFrame inner)
    {
        inner = default;
        if (GreHeader.TryRead(frame[offset..end], out var gre) != DecodeStatus.Ok)
        {
            return false;
        }

        var innerStart = offset + gre.HeaderLength;
        var rawIp = false;
        if (gre.ProtocolType is EtherTypes.ErspanIII || (gre.ProtocolType == EtherTypes.ErspanII && gre.HasSequence))
        {
            if (ErspanHeader.TryRead(frame[innerStart..end], gre.ProtocolType == EtherTypes.ErspanIII, out var erspan) != DecodeStatus.Ok)
            {
                return false;
            }

            innerStart += erspan.HeaderLength;
            rawIp = erspan.CarriesIp;
        }
        else if (gre.ProtocolType is not (EtherTypes.TransparentEthernetBridging or EtherTypes.ErspanII))
        {
            return false;
        }

        if (depth == 1)
        {
            inner = new InnerFrame(innerStart, end - innerStart, rawIp ? LinkType.Raw : LinkType.Ethernet);
            return true;
        }

        if (rawIp)
        {
            return innerStart < end && Walk(frame, innerStart, end, (frame[innerStart] >> 4) == 6 ? EtherTypes.Ipv6 : EtherTypes.Ipv4, depth - 1, out inner);
        }

        if (EthernetHeader.TryRead(frame[innerStart..end], _maxVlanTags, out var ethernet) != DecodeStatus.Ok)
        {
            return false;
        }

        return Walk(frame, innerStart + ethernet.HeaderLength, end, ethernet.EtherType, depth - 1, out inner);
    }
}
