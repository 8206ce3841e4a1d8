using System.Globalization;
using System.Net;

namespace VtapCollector.Tests.CrossCheck;

/// <summary>One side of a conversation: an address (in .NET's canonical text) and a port (ICMP: a type or code).</summary>
internal readonly record struct Endpoint(string Ip, int Port) : IComparable<Endpoint>
{
    public static Endpoint Of(string ip, int port) => new(IPAddress.Parse(ip).ToString(), port);

    public int CompareTo(Endpoint other)
    {
        var byIp = string.CompareOrdinal(Ip, other.Ip);
        return byIp != 0 ? byIp : Port.CompareTo(other.Port);
    }

    public override string ToString() =>
        Ip.Contains(':', StringComparison.Ordinal) ? $"[{Ip}]:{Port}" : $"{Ip}:{Port}";
}

/// <summary>
/// A bidirectional flow as the contract defines it: VNI, IANA protocol and the unordered pair of
/// endpoints (ICMP: the Community ID convention puts the type and its counterpart type, or the code, in the ports).
/// </summary>
internal readonly record struct FlowKey(long Vni, int Protocol, Endpoint Low, Endpoint High)
{
    public static FlowKey Of(long vni, int protocol, Endpoint one, Endpoint other) =>
        one.CompareTo(other) <= 0 ? new FlowKey(vni, protocol, one, other) : new FlowKey(vni, protocol, other, one);

    /// <summary>The same conversation whatever the VNI (tshark's conversation tables do not know VNIs).</summary>
    public (int Protocol, Endpoint Low, Endpoint High) Tuple => (Protocol, Low, High);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"vni {Vni} proto {Protocol} {Low} <-> {High}");
}

/// <summary>Community ID v1's ICMP request/reply pairs, written from its specification (not from the product).</summary>
internal static class IcmpPorts
{
    private static readonly Dictionary<int, int> V4Counterpart = new()
    {
        [8] = 0, [0] = 8, [13] = 14, [14] = 13, [15] = 16, [16] = 15, [10] = 9, [9] = 10, [17] = 18, [18] = 17,
    };

    private static readonly Dictionary<int, int> V6Counterpart = new()
    {
        [128] = 129, [129] = 128, [133] = 134, [134] = 133, [135] = 136, [136] = 135, [130] = 131, [131] = 130,
        [144] = 145, [145] = 144,
    };

    /// <summary>The sender's "port" is the type; the receiver's is the counterpart type, or the code for one-way types.</summary>
    public static (int SenderPort, int ReceiverPort) Of(int protocol, int type, int code)
    {
        var table = protocol == 1 ? V4Counterpart : V6Counterpart;
        return (type, table.TryGetValue(type, out var counterpart) ? counterpart : code);
    }
}
