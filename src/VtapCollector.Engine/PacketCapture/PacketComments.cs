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

    private readonly Dictionary<(uint Vni, IpAddress Source, byte IpVersion), byte[]> _kept = [];
    private readonly byte[] _scratch = new byte[128];

    /// <summary>The comment for a packet of <paramref name="frame"/>'s tunnel; empty for an untunnelled frame.</summary>
    public ReadOnlySpan<byte> Of(in CapturedFrame frame)
    {
        if (frame.Tunnel == TunnelKind.None)
        {
            return default;
        }

        var key = (frame.Vni, frame.TunnelSource, frame.TunnelIpVersion);
        if (_kept.TryGetValue(key, out var text))
        {
            return text;
        }

        var length = Format(frame, _scratch);
        if (_kept.Count < MaxKept)
        {
            _kept[key] = _scratch.AsSpan(0, length).ToArray();
        }

        return _scratch.AsSpan(0, length);
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
}
