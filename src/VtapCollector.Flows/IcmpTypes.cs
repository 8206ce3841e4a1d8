using VtapCollector.Decoding;

namespace VtapCollector.Flows;

/// <summary>
/// The ICMP request/reply pairs that make one bidirectional flow, as the Community ID v1 spec and
/// Zeek pair them: a flow's ports become (type, counterpart type). Other types are one-way and keep
/// (type, code).
/// </summary>
public static class IcmpTypes
{
    /// <summary>
    /// Maps an ICMP(v6) packet's type and code to flow ports. Returns true when the type has a
    /// counterpart (the flow is two-way).
    /// </summary>
    public static bool TryMapPorts(byte protocol, byte type, byte code, out ushort sourcePort, out ushort destinationPort)
    {
        sourcePort = type;
        var counterpart = protocol == IpProtocol.Icmp ? Icmpv4Counterpart(type) : Icmpv6Counterpart(type);
        if (counterpart < 0)
        {
            destinationPort = code;
            return false;
        }

        destinationPort = (ushort)counterpart;
        return true;
    }

    // RFC 792 (echo, timestamp, information), RFC 1256 (router discovery), RFC 950 (address mask).
    private static int Icmpv4Counterpart(byte type) => type switch
    {
        8 => 0,
        0 => 8,
        13 => 14,
        14 => 13,
        15 => 16,
        16 => 15,
        10 => 9,
        9 => 10,
        17 => 18,
        18 => 17,
        _ => -1,
    };

    // RFC 4443 (echo), RFC 2710 (MLD), RFC 4861 (router and neighbour discovery), RFC 4620 (node
    // information), RFC 6275 (home agent address discovery).
    private static int Icmpv6Counterpart(byte type) => type switch
    {
        128 => 129,
        129 => 128,
        130 => 131,
        131 => 130,
        133 => 134,
        134 => 133,
        135 => 136,
        136 => 135,
        139 => 140,
        140 => 139,
        144 => 145,
        145 => 144,
        _ => -1,
    };
}
