using System.Numerics;
using System.Runtime.CompilerServices;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Networks;

/// <summary>
/// The configured networks as a longest-prefix-match table over the 128-bit <see cref="IpAddress"/>
/// (IPv4 as IPv4-mapped, so an IPv4 /n is a /(96+n), and an IPv6 packet carrying an IPv4-mapped
/// address matches the IPv4 prefixes). Immutable: built once per configuration, swapped by
/// reference on reload, read by the flow workers without locks.
/// </summary>
/// <remarks>
/// One open-addressing table holds every prefix keyed by (masked bits, length, VNI or any). A lookup
/// walks the distinct prefix lengths present, longest first, and probes the masked address at each:
/// first with the record's VNI (when some prefix of that length lists VNIs), then for any VNI. So the
/// longest prefix wins, and at equal length a prefix listed for the record's VNI beats the same
/// prefix without VNIs; a prefix with VNIs never matches in another VNI. IPv4 addresses skip most
/// probes: a table over the 65 536 /16 blocks holds each block's best prefix of /16 or shorter
/// (without VNIs) and the longest prefix length inside the block, so only the lengths between /17
/// and that one are probed (none in a block without longer prefixes). The cost is at most two probes
/// per distinct length, usually a handful, and nothing allocated.
/// </remarks>
internal sealed class NetworkMap
{
    /// <summary>Longest accepted name: names go into records and metric labels as they are.</summary>
    public const int MaxNameLength = 63;

    /// <summary>The metric label of unmatched addresses and of names beyond the label bound.</summary>
    public const string OtherLabel = "other";

    private const uint AnyVni = uint.MaxValue;

    /// <summary>The IPv4-mapped block ::ffff:0:0/96, where IPv4 addresses and prefixes live.</summary>
    private const ulong MappedLo = 0x0000_FFFF_0000_0000UL;

    /// <summary>An IPv4 /16 as a 128-bit prefix length: the direct table's block size.</summary>
    private const int BlockLength = 96 + 16;

    private readonly FlowNetwork[] _networks;
    private readonly Slot[] _slots;
    private readonly int _mask;
    private readonly PrefixLength[] _otherLengths;
    private readonly Ipv4Blocks _ipv4;

    private NetworkMap(FlowNetwork[] networks, Slot[] slots, PrefixLength[] otherLengths, Ipv4Blocks ipv4, int prefixCount)
    {
        _networks = networks;
        _slots = slots;
        _mask = slots.Length - 1;
        _otherLengths = otherLengths;
        _ipv4 = ipv4;
        PrefixCount = prefixCount;
    }

    /// <summary>No networks: records are not classified.</summary>
    public static NetworkMap Empty { get; } = new([], new Slot[1], [], Ipv4Blocks.None, 0);

    /// <summary>The networks, in configuration order; <see cref="FlowNetwork.Index"/> is the position here.</summary>
    public IReadOnlyList<FlowNetwork> Networks => _networks;

    /// <summary>True when no network is configured.</summary>
    public bool IsEmpty => Networks.Count == 0;

    /// <summary>Distinct (prefix, VNI scope) entries in the table.</summary>
    public int PrefixCount { get; }

    /// <summary>
    /// Builds the table, or returns null and one sentence naming the first bad entry: a name that is
    /// not 1 to 63 letters, digits, '.', '_' or '-' (or is <c>other</c>), a network without CIDRs, a
    /// CIDR that is not one, a VNI beyond 24 bits, or one prefix given to two networks in the same VNI scope.
    /// </summary>
    public static NetworkMap? TryCreate(IReadOnlyList<NetworkDefinition> definitions, out string? error)
    {
        error = null;
        var networks = new FlowNetwork[definitions.Count];
        var entries = new Dictionary<(ulong Hi, ulong Lo, int Length, uint Vni), int>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var n = 0; n < definitions.Count; n++)
        {
            var definition = definitions[n];
            error = CheckName(definition.Name) ?? (names.Add(definition.Name) ? null : $"Networks: the name '{definition.Name}' is used twice.");
            if (error is null && definition.Cidrs.Count == 0)
            {
                error = $"Networks:{definition.Name}:Cidrs is empty; give the network at least one prefix (10.1.0.0/16, fd00::/8).";
            }

            foreach (var vni in definition.Vnis)
            {
                if (error is null && vni > 0xFF_FFFF)
                {
                    error = $"Networks:{definition.Name}:Vnis entry {vni} is not a VNI (VNIs are 24-bit: 0 to 16777215).";
                }
            }

            if (error is not null)
            {
                return null;
            }

            networks[n] = new FlowNetwork(definition.Name, definition.Local, n);
            foreach (var text in definition.Cidrs)
            {
                if (!Cidr.TryParse(text, out var cidr))
                {
                    error = $"Networks:{definition.Name}:Cidrs entry '{text}' is not a CIDR (examples: 10.1.0.0/16, 10.1.2.3, fd00::/8).";
                    return null;
                }

                IReadOnlyList<uint> scopes = definition.Vnis.Count == 0 ? [AnyVni] : definition.Vnis;
                foreach (var vni in scopes)
                {
                    var key = (cidr.Hi, cidr.Lo, cidr.Length128, vni);
                    if (entries.TryGetValue(key, out var owner) && owner != n)
                    {
                        var scope = vni == AnyVni ? "without VNIs" : $"for VNI {vni}";
                        error = $"Networks: the prefix {cidr} is given to both '{networks[owner].Name}' and '{definition.Name}' {scope}; a prefix belongs to one network per VNI.";
                        return null;
                    }

                    entries[key] = n;
                }
            }
        }

        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, entries.Count * 2));
        var slots = new Slot[size];
        var mappedLengths = new Dictionary<int, (bool Vni, bool Any)>();
        var otherLengths = new Dictionary<int, (bool Vni, bool Any)>();
        foreach (var ((hi, lo, length, vni), network) in entries)
        {
            var position = Hash(hi, lo, length, vni) & (size - 1);
            while (slots[position].NetworkPlusOne != 0)
            {
                position = (position + 1) & (size - 1);
            }

            slots[position] = new Slot { Hi = hi, Lo = lo, Length = length, Vni = vni, NetworkPlusOne = network + 1 };

            // An IPv4 address is probed only at the lengths of prefixes that can hold IPv4-mapped
            // addresses, an IPv6 one only at the others' (a prefix of ::/n, n < 96, is in both):
            // an IPv4 record never pays for the IPv6 prefixes, nor the other way round.
            var holdsMapped = HoldsMapped(hi, lo, length);
            var holdsOther = length < 96 || !holdsMapped;
            foreach (var (lengths, applies) in new[] { (mappedLengths, holdsMapped), (otherLengths, holdsOther) })
            {
                if (applies)
                {
                    var (hasVni, hasAny) = lengths.GetValueOrDefault(length);
                    lengths[length] = (hasVni || vni != AnyVni, hasAny || vni == AnyVni);
                }
            }
        }

        return new NetworkMap(networks, slots, Ordered(otherLengths), Ipv4Blocks.Build(entries, mappedLengths), entries.Count);
    }

    private static PrefixLength[] Ordered(Dictionary<int, (bool Vni, bool Any)> lengths) =>
        [.. lengths.OrderByDescending(l => l.Key).Select(l => new PrefixLength(l.Key, l.Value.Vni, l.Value.Any))];

    /// <summary>True when the prefix holds IPv4-mapped addresses: it lies in ::ffff:0:0/96, or is a shorter prefix over that block.</summary>
    private static bool HoldsMapped(ulong hi, ulong lo, int length) =>
        length >= 96 ? hi == 0 && (lo & 0xFFFF_FFFF_0000_0000UL) == MappedLo : Covers(hi, lo, length, 0, MappedLo);

    /// <summary>True when the prefix (hi, lo)/length holds the address (addressHi, addressLo).</summary>
    private static bool Covers(ulong hi, ulong lo, int length, ulong addressHi, ulong addressLo)
    {
        var prefix = new PrefixLength(length, false, false);
        return (addressHi & prefix.MaskHi) == hi && (addressLo & prefix.MaskLo) == lo;
    }

    /// <summary>The network of <paramref name="address"/> seen in <paramref name="vni"/>, or null when no prefix holds it.</summary>
    public FlowNetwork? Lookup(IpAddress address, uint vni)
    {
        if (address.IsIPv4Mapped)
        {
            return LookupIPv4(address, vni);
        }

        foreach (ref readonly var length in _otherLengths.AsSpan())
        {
            if (FindAt(length, address, vni) is { } network)
            {
                return network;
            }
        }

        return null;
    }

    /// <summary>The network of <paramref name="address"/> at one prefix length: the VNI's own entry first, then one for any VNI.</summary>
    private FlowNetwork? FindAt(in PrefixLength length, IpAddress address, uint vni)
    {
        var hi = address.Hi & length.MaskHi;
        var lo = address.Lo & length.MaskLo;
        return (length.HasVni ? Find(hi, lo, length.Length, vni) : null)
            ?? (length.HasAny ? Find(hi, lo, length.Length, AnyVni) : null);
    }

    private FlowNetwork? LookupIPv4(IpAddress address, uint vni)
    {
        var ipv4 = _ipv4;
        if (ipv4.Best.Length == 0)
        {
            return null;
        }

        var block = (int)(address.IPv4 >> 16);
        var deepest = ipv4.Deepest[block];
        if (deepest != 0)
        {
            foreach (ref readonly var length in ipv4.LongLengths.AsSpan())
            {
                if (length.Length <= deepest && FindAt(length, address, vni) is { } network)
                {
                    return network;
                }
            }
        }

        // Nothing longer than /16: the block's best prefix without VNIs, unless a prefix listed for
        // this VNI is at least as long (length first, then the VNI's own entry).
        var best = ipv4.Best[block];
        var bestLength = best == 0 ? -1 : best >>> 24;
        foreach (ref readonly var length in ipv4.ShortVniLengths.AsSpan())
        {
            if (length.Length < bestLength)
            {
                break;
            }

            if (Find(address.Hi & length.MaskHi, address.Lo & length.MaskLo, length.Length, vni) is { } scoped)
            {
                return scoped;
            }
        }

        return best == 0 ? null : _networks[(best & 0xFF_FFFF) - 1];
    }

    /// <summary>The record with its two networks and its direction filled in (the networks are looked up once each, in the record's VNI).</summary>
    public FlowRecord Classify(in FlowRecord record)
    {
        var source = Lookup(record.Source, record.Vni);
        var destination = Lookup(record.Destination, record.Vni);
        return record with
        {
            SourceNetwork = source,
            DestinationNetwork = destination,
            Direction = TrafficDirections.Of(source?.IsLocal == true, destination?.IsLocal == true),
        };
    }

    /// <summary>The configuration as one log-friendly line.</summary>
    public string Describe() => IsEmpty
        ? "none"
        : $"{Networks.Count} networks ({string.Join(", ", Networks.Select(n => n.IsLocal ? n.Name + " (local)" : n.Name))}), {PrefixCount} prefixes";

    private FlowNetwork? Find(ulong hi, ulong lo, int length, uint vni)
    {
        var slots = _slots;
        var position = Hash(hi, lo, length, vni) & _mask;
        while (true)
        {
            ref readonly var slot = ref slots[position];
            if (slot.NetworkPlusOne == 0)
            {
                return null;
            }

            if (slot.Hi == hi && slot.Lo == lo && slot.Length == length && slot.Vni == vni)
            {
                return _networks[slot.NetworkPlusOne - 1];
            }

            position = (position + 1) & _mask;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(ulong hi, ulong lo, int length, uint vni)
    {
        // Multiply-xorshift mixing: the bits that differ between prefixes are often only a few high
        // ones of lo (IPv4 networks), so every input is spread over the whole word before the mask.
        var h = (hi * 0x9E37_79B9_7F4A_7C15UL) ^ (lo * 0xC2B2_AE3D_27D4_EB4FUL) ^ ((((ulong)vni << 8) | (uint)length) * 0x1656_67B1_9E37_79F9UL);
        h ^= h >> 31;
        h *= 0xBF58_476D_1CE4_E5B9UL;
        h ^= h >> 29;
        return (int)(h & 0x7FFF_FFFF);
    }

    private static string? CheckName(string name)
    {
        if (name.Length is 0 or > MaxNameLength || string.Equals(name, OtherLabel, StringComparison.OrdinalIgnoreCase))
        {
            return $"Networks: '{name}' cannot name a network; use 1 to {MaxNameLength} letters, digits, '.', '_' or '-' (and not '{OtherLabel}', the metrics' label for everything else).";
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return $"Networks: '{name}' cannot name a network; use only letters, digits, '.', '_' or '-' (names go into records and metric labels as they are).";
            }
        }

        return null;
    }

    private struct Slot
    {
        public ulong Hi;
        public ulong Lo;
        public uint Vni;
        public int Length;
        public int NetworkPlusOne;
    }

    /// <summary>
    /// The IPv4 fast path: per /16 block, the best prefix of /16 or shorter without VNIs (length in the
    /// top 8 bits, network index + 1 below; 0 none) and the longest IPv4 prefix length (/17 to /32)
    /// inside the block (0 none); and the lengths still to probe: those longer than /16, and the
    /// shorter ones that have entries listed for VNIs.
    /// </summary>
    private sealed class Ipv4Blocks(int[] best, byte[] deepest, PrefixLength[] longLengths, PrefixLength[] shortVniLengths)
    {
        private const int Blocks = 1 << 16;

        public static Ipv4Blocks None { get; } = new([], [], [], []);

        public int[] Best { get; } = best;

        /// <summary>Per block, the longest 128-bit prefix length (113 to 128) of a prefix inside it; 0 none.</summary>
        public byte[] Deepest { get; } = deepest;

        public PrefixLength[] LongLengths { get; } = longLengths;

        public PrefixLength[] ShortVniLengths { get; } = shortVniLengths;

        public static Ipv4Blocks Build(Dictionary<(ulong Hi, ulong Lo, int Length, uint Vni), int> entries, Dictionary<int, (bool Vni, bool Any)> mappedLengths)
        {
            if (mappedLengths.Count == 0)
            {
                return None;
            }

            var best = new int[Blocks];
            var deepest = new byte[Blocks];

            // Shortest first, so a longer prefix overwrites the blocks it holds.
            foreach (var ((hi, lo, length, _), network) in entries.Where(e => e.Key.Vni == AnyVni && e.Key.Length <= BlockLength).OrderBy(e => e.Key.Length))
            {
                if (!HoldsMapped(hi, lo, length))
                {
                    continue;
                }

                var first = length < 96 ? 0 : (int)((uint)lo >> 16);
                var count = length < 96 ? Blocks : 1 << (BlockLength - length);
                Array.Fill(best, (length << 24) | (network + 1), first, count);
            }

            foreach (var (hi, lo, length, _) in entries.Keys)
            {
                if (length > BlockLength && HoldsMapped(hi, lo, length))
                {
                    var block = (int)((uint)lo >> 16);
                    deepest[block] = (byte)Math.Max(deepest[block], length);
                }
            }

            var longLengths = mappedLengths.Where(l => l.Key > BlockLength).ToDictionary();
            var shortVniLengths = mappedLengths.Where(l => l.Key <= BlockLength && l.Value.Vni).ToDictionary(l => l.Key, l => (true, false));
            return new Ipv4Blocks(best, deepest, Ordered(longLengths), Ordered(shortVniLengths));
        }
    }

    /// <summary>One prefix length present in the table, its masks, and which VNI scopes it has entries in.</summary>
    private readonly struct PrefixLength(int length, bool hasVni, bool hasAny)
    {
        public int Length { get; } = length;
        public ulong MaskHi { get; } = length >= 64 ? ulong.MaxValue : length == 0 ? 0 : ulong.MaxValue << (64 - length);
        public ulong MaskLo { get; } = length <= 64 ? 0 : length == 128 ? ulong.MaxValue : ulong.MaxValue << (128 - length);
        public bool HasVni { get; } = hasVni;
        public bool HasAny { get; } = hasAny;
    }
}
