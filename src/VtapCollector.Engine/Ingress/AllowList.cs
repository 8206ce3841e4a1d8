using System.Globalization;
using System.Net;
using System.Net.Sockets;
using VtapCollector.Decoding;

namespace VtapCollector.Engine.Ingress;

/// <summary>
/// Which mirror sources and VNIs may create flows. Immutable: a reload builds a new one and swaps the
/// reference, so the packet path reads it without locks. A spoofed datagram from elsewhere on the
/// subnet fails <see cref="AllowsSource"/> before it is decoded.
/// </summary>
internal sealed class AllowList
{
    private readonly Cidr[] _cidrs;
    private readonly uint[] _vnis;

    private AllowList(Cidr[] cidrs, uint[] vnis)
    {
        _cidrs = cidrs;
        _vnis = vnis;
    }

    /// <summary>Accepts every source and VNI.</summary>
    public static AllowList Open { get; } = new([], []);

    /// <summary>True when no source restriction is configured.</summary>
    public bool AnySource => _cidrs.Length == 0;

    /// <summary>True when no VNI restriction is configured.</summary>
    public bool AnyVni => _vnis.Length == 0;

    public int SourceCount => _cidrs.Length;

    public int VniCount => _vnis.Length;

    /// <summary>Builds an allow-list, or returns a sentence naming the first entry that is not a CIDR.</summary>
    public static AllowList? TryCreate(IReadOnlyList<string> cidrs, IReadOnlyList<uint> vnis, out string? error)
    {
        var parsed = new Cidr[cidrs.Count];
        for (var i = 0; i < cidrs.Count; i++)
        {
            if (!Cidr.TryParse(cidrs[i], out parsed[i]))
            {
                error = $"AllowList:SourceCidrs entry '{cidrs[i]}' is not a CIDR (examples: 10.1.0.0/16, 10.1.2.3, fd00::/8).";
                return null;
            }
        }

        foreach (var vni in vnis)
        {
            if (vni > 0xFF_FFFF)
            {
                error = $"AllowList:Vnis entry {vni} is not a VNI (VNIs are 24-bit: 0 to 16777215).";
                return null;
            }
        }

        var sorted = vnis.Distinct().Order().ToArray();
        error = null;
        return new AllowList(parsed, sorted);
    }

    /// <summary>
    /// True when <paramref name="source"/> (an outer, mirror-side address) is in an allowed CIDR. Inlined
    /// where it is asked per packet: with no list it is one length test, not a call.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool AllowsSource(IpAddress source) => _cidrs.Length == 0 || IsListed(source);

    /// <summary>True when <paramref name="vni"/> is allowed.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool AllowsVni(uint vni) => _vnis.Length == 0 || Array.BinarySearch(_vnis, vni) >= 0;

    private bool IsListed(IpAddress source)
    {
        foreach (ref readonly var cidr in _cidrs.AsSpan())
        {
            if (cidr.Contains(source))
            {
                return true;
            }
        }

        return false;
    }


    /// <summary>The configuration as one log-friendly line.</summary>
    public string Describe() =>
        (AnySource ? "any source" : string.Join(", ", _cidrs.Select(c => c.ToString())))
        + "; " + (AnyVni ? "any VNI" : "VNIs " + string.Join(", ", _vnis));
}

/// <summary>An address prefix over the 128-bit <see cref="IpAddress"/> (IPv4 as v4-mapped, so /n becomes /(96+n)).</summary>
internal readonly struct Cidr
{
    private readonly ulong _hi;
    private readonly ulong _lo;
    private readonly ulong _maskHi;
    private readonly ulong _maskLo;
    private readonly string _text;

    private Cidr(IpAddress network, int prefix128, string text)
    {
        _maskHi = prefix128 >= 64 ? ulong.MaxValue : prefix128 == 0 ? 0 : ulong.MaxValue << (64 - prefix128);
        _maskLo = prefix128 <= 64 ? 0 : prefix128 == 128 ? ulong.MaxValue : ulong.MaxValue << (128 - prefix128);
        _hi = network.Hi & _maskHi;
        _lo = network.Lo & _maskLo;
        _text = text;
    }

    public bool Contains(IpAddress address) => (address.Hi & _maskHi) == _hi && (address.Lo & _maskLo) == _lo;

    /// <summary>The prefix's upper 64 bits, host bits cleared.</summary>
    public ulong Hi => _hi;

    /// <summary>The prefix's lower 64 bits, host bits cleared.</summary>
    public ulong Lo => _lo;

    /// <summary>The mask of the upper 64 bits (ones where the prefix is).</summary>
    public ulong MaskHi => _maskHi;

    /// <summary>The mask of the lower 64 bits.</summary>
    public ulong MaskLo => _maskLo;

    /// <summary>The prefix length over 128 bits (an IPv4 /n is 96 + n).</summary>
    public int Length128 => System.Numerics.BitOperations.PopCount(_maskHi) + System.Numerics.BitOperations.PopCount(_maskLo);

    public override string ToString() => _text;

    public static bool TryParse(string? text, out Cidr cidr)
    {
        cidr = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];

        // IPv4 as a dotted quad only: IPAddress also accepts legacy forms ("10.0.0" is 10.0.0.0, "10"
        // is 0.0.0.10), and in an allow-list such a typo would silently admit the wrong network. The
        // dotted-quad reader also spares a replay with an IPv4 filter the compilation of IPAddress's
        // generic parser at start (three methods the ahead-of-time code lacks).
        IPAddress? address;
        var isV4 = !addressText.Contains(':', StringComparison.Ordinal);
        if (isV4 ? !Capture.Udp.EndPointText.TryParseDottedQuad(addressText, out address) : !IPAddress.TryParse(addressText, out address))
        {
            return false;
        }

        if (!isV4 && (address!.AddressFamily != AddressFamily.InterNetworkV6 || address.ScopeId != 0))
        {
            return false;
        }

        var maxPrefix = isV4 ? 32 : 128;
        var prefix = maxPrefix;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > maxPrefix))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        address!.TryWriteBytes(bytes, out var length);
        var value = isV4 ? IpAddress.ReadIPv4(bytes[..length]) : IpAddress.ReadIPv6(bytes);
        cidr = new Cidr(value, isV4 ? 96 + prefix : prefix, slash < 0 ? $"{text}/{maxPrefix}" : text);
        return true;
    }
}
