namespace VtapCollector.Decoding;

/// <summary>IEEE EtherType values the decoder recognises.</summary>
public static class EtherTypes
{
    public const ushort Ipv4 = 0x0800;
    public const ushort Arp = 0x0806;
    public const ushort Vlan = 0x8100;
    public const ushort Ipv6 = 0x86DD;
    public const ushort QinQ = 0x88A8;
    /// <summary>Pre-standard 802.1ad tag still sent by some switches.</summary>
    public const ushort QinQLegacy = 0x9100;
    /// <summary>Transparent Ethernet bridging: the Geneve/GRE payload is an Ethernet frame.</summary>
    public const ushort TransparentEthernetBridging = 0x6558;
    /// <summary>ERSPAN types I and II over GRE.</summary>
    public const ushort ErspanII = 0x88BE;
    /// <summary>ERSPAN type III over GRE.</summary>
    public const ushort ErspanIII = 0x22EB;
}
