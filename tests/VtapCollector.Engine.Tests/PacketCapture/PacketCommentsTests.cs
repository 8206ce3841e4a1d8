using System.Text;
using VtapCollector.Decoding;
using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Engine.Tests.PacketCapture;

/// <summary>The VNI and tunnel source comment of each captured packet, made once per pair and kept.</summary>
public class PacketCommentsTests
{
    [Fact]
    public void Every_pair_gets_its_own_text_whether_kept_recent_or_past_the_limit()
    {
        var comments = new PacketComments();

        // More pairs than are kept, each asked for three times in an interleaved order, so recent-slot
        // collisions, dictionary hits and formatting past the limit all happen.
        var pairs = Enumerable.Range(0, PacketComments.MaxKept + 500)
            .Select(i => (Vni: (uint)(i % 300), Source: IpAddress.FromIPv4(0x0A000000u + (uint)(i / 300))))
            .ToList();
        for (var pass = 0; pass < 3; pass++)
        {
            foreach (var (vni, source) in pass == 1 ? Enumerable.Reverse(pairs) : pairs)
            {
                var frame = new CapturedFrame { Tunnel = TunnelKind.Vxlan, Vni = vni, TunnelSource = source, TunnelIpVersion = 4 };
                Assert.Equal($"vni={vni} tunnel_source={source.ToString(4)}", Encoding.ASCII.GetString(comments.Of(frame)));
            }
        }
    }

    [Fact]
    public void An_ipv6_tunnel_source_and_an_untunnelled_frame()
    {
        var comments = new PacketComments();
        var source = IpAddress.ReadIPv6(System.Net.IPAddress.Parse("fd00::4").GetAddressBytes());
        var frame = new CapturedFrame { Tunnel = TunnelKind.Geneve, Vni = 7, TunnelSource = source, TunnelIpVersion = 6 };
        Assert.Equal("vni=7 tunnel_source=fd00::4", Encoding.ASCII.GetString(comments.Of(frame)));
        Assert.True(comments.Of(new CapturedFrame { Tunnel = TunnelKind.None }).IsEmpty);
    }
}
