namespace VtapCollector.Decoding;

/// <summary>What the decoder treats as a tunnel, and how deep it digs.</summary>
public sealed record DecoderOptions
{
    /// <summary>IANA port of VXLAN (RFC 7348 section 5).</summary>
    public const ushort VxlanIanaPort = 4789;

    /// <summary>The Linux kernel's historical VXLAN port, still used by flannel and some switches.</summary>
    public const ushort VxlanLinuxPort = 8472;

    /// <summary>IANA port of Geneve (RFC 8926 section 3.3).</summary>
    public const ushort GeneveIanaPort = 6081;

    /// <summary>IANA port of VXLAN-GPE, reported as unsupported rather than misparsed.</summary>
    public const ushort VxlanGpeIanaPort = 4790;

    /// <summary>UDP destination ports decapsulated as VXLAN. Default: 4789 and 8472.</summary>
    public IList<ushort> VxlanPorts { get; init; } = [VxlanIanaPort, VxlanLinuxPort];

    /// <summary>UDP destination ports decapsulated as Geneve. Default: 6081.</summary>
    public IList<ushort> GenevePorts { get; init; } = [GeneveIanaPort];

    /// <summary>
    /// Decapsulate GRE that carries mirrored frames: ERSPAN types I-III and transparent Ethernet
    /// bridging. When false such packets are counted as <see cref="DecodeStatus.GreUnsupported"/>.
    /// Other GRE (IP over GRE, PPTP) is never decapsulated: it is a flow of IP protocol 47. Default: true.
    /// </summary>
    public bool Gre { get; init; } = true;

    /// <summary>Most tunnels removed from one frame before it is rejected as <see cref="DecodeStatus.TooManyLayers"/>. Default: 3.</summary>
    public int MaxTunnelDepth { get; init; } = 3;

    /// <summary>Most stacked VLAN tags on one Ethernet frame. Default: 4.</summary>
    public int MaxVlanTags { get; init; } = 4;

    /// <summary>Longest IPv6 extension-header chain followed (RFC 8200 section 4.1 recommends bounds). Default: 8.</summary>
    public int MaxIpv6ExtensionHeaders { get; init; } = 8;

    /// <summary>
    /// Compute each inner packet's <see cref="PacketSignature"/> into <see cref="DecodedPacket.Signature"/>,
    /// for double-tap deduplication. Default: false (the decoder does no extra work).
    /// </summary>
    public bool ComputeSignatures { get; init; }

    /// <summary>Returns a sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        if (MaxTunnelDepth is < 1 or > 16)
        {
            return $"MaxTunnelDepth must be between 1 and 16 (was {MaxTunnelDepth}).";
        }

        if (MaxVlanTags is < 0 or > 16)
        {
            return $"MaxVlanTags must be between 0 and 16 (was {MaxVlanTags}).";
        }

        if (MaxIpv6ExtensionHeaders is < 0 or > 64)
        {
            return $"MaxIpv6ExtensionHeaders must be between 0 and 64 (was {MaxIpv6ExtensionHeaders}).";
        }

        foreach (var port in VxlanPorts)
        {
            if (port == 0)
            {
                return "VXLAN ports must be between 1 and 65535 (0 was given).";
            }

            if (GenevePorts.Contains(port))
            {
                return $"Port {port} is configured both as a VXLAN and as a Geneve port; pick one.";
            }
        }

        foreach (var port in GenevePorts)
        {
            if (port == 0)
            {
                return "Geneve ports must be between 1 and 65535 (0 was given).";
            }
        }

        return null;
    }
}
