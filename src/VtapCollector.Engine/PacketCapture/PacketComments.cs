using System.Globalization;
using System.Text;
using VtapCollector.Decoding;
using VtapCollector.Export;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>
/// The comment each captured packet carries (pcapng opt_comment): its VNI and tunnel source, as
/// <c>vni=100 tunnel_source=10.0.0.4</c>. Formatting the address was most of the writer's time per
/// packet, and a mirror has few (VNI, tunnel source) pairs, so each pair's text is made once and
/// kept, up to <see cref="MaxKept"/> pairs; past that the text is formatted each time, still
/// without allocating.
/// </summary>
internal sealed class PacketComments
{
    /// <summary>Pairs whose text is kept (each about 50 bytes).</summary>
    public const int MaxKept = 4096;

    /// <summary>Slots of the direct-mapped cache in front of the dictionary (a power of two).</summary>
    private const int RecentSlots = 256;

    private readonly Dictionary<(uint Vni, IpAddress Source, byte IpVersion), byte[]> _kept = new(PairComparer.Instance);
    private readonly Recent[] _recent = new Recent[RecentSlots];
    private readonly byte[] _scratch = new byte[128];

    /// <summary>The comment for a packet of <paramref name="frame"/>'s tunnel; empty for an untunnelled frame.</summary>
    public ReadOnlySpan<byte> Of(in CapturedFrame frame)
    {
        if (frame.Tunnel == TunnelKind.None)
        {
            return default;
        }

        // Most packets hit the direct-mapped slot of their pair: one multiply and three compares,
        // where the dictionary hashes a three-field key through the generic comparers.
        var slot = (int)(((frame.Vni * 0x9E3779B1u) ^ (uint)frame.TunnelSource.Lo ^ (uint)(frame.TunnelSource.Lo >> 32)) & (RecentSlots - 1));
        ref var recent = ref _recent[slot];
        if (recent.Text is { } cached && recent.Vni == frame.Vni && recent.IpVersion == frame.TunnelIpVersion && recent.Source == frame.TunnelSource)
        {
            return cached;
        }

        var key = (frame.Vni, frame.TunnelSource, frame.TunnelIpVersion);
        if (!_kept.TryGetValue(key, out var text))
        {
            var length = Format(frame, _scratch);
            if (_kept.Count >= MaxKept)
            {
                return _scratch.AsSpan(0, length);
            }

            text = _scratch.AsSpan(0, length).ToArray();
            _kept[key] = text;
        }

        recent = new Recent { Vni = frame.Vni, Source = frame.TunnelSource, IpVersion = frame.TunnelIpVersion, Text = text };
        return text;
    }

    private static int Format(in CapturedFrame frame, Span<byte> destination)
    {
        var length = Encoding.ASCII.GetBytes("vni=", destination);
        frame.Vni.TryFormat(destination[length..], out var digits, default, CultureInfo.InvariantCulture);
        length += digits;
        length += Encoding.ASCII.GetBytes(" tunnel_source=", destination[length..]);
        length += IpText.Format(frame.TunnelSource, frame.TunnelIpVersion, destination[length..]);
        return length;
    }

    /// <summary>
    /// The pair's fields compared directly: the tuple's default comparer goes through a generic
    /// comparer per field, four of which the ahead-of-time code lacks and the first kept packet
    /// compiled.
    /// </summary>
    private sealed class PairComparer : IEqualityComparer<(uint Vni, IpAddress Source, byte IpVersion)>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals((uint Vni, IpAddress Source, byte IpVersion) x, (uint Vni, IpAddress Source, byte IpVersion) y) =>
            x.Vni == y.Vni && x.IpVersion == y.IpVersion && x.Source.Hi == y.Source.Hi && x.Source.Lo == y.Source.Lo;

        public int GetHashCode((uint Vni, IpAddress Source, byte IpVersion) pair) =>
            (int)((pair.Vni * 0x9E3779B1u) ^ (uint)pair.Source.Lo ^ (uint)(pair.Source.Lo >> 32) ^ (uint)pair.Source.Hi ^ ((uint)pair.IpVersion << 24));
    }

    private struct Recent
    {
        public uint Vni;
        public IpAddress Source;
        public byte IpVersion;
        public byte[]? Text;
    }
}
