using System.Globalization;
using System.Text.Json;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Capture;

/// <summary>
/// What a capture file holds, read back by tshark, against the real tunnelled captures of tcpdump's
/// test suite read by tshark: each kept packet is the inner frame (from the end of the VXLAN or Geneve
/// header, options included, to the end of the outer UDP datagram) byte for byte up to the snap
/// length, with the inner frame's whole length as its original length, the outer packet's timestamp,
/// and the VNI and tunnel source in its comment. Inner ARP is not kept: capture matches what the
/// decoder accepts (IP), as flow metering does.
/// </summary>
public sealed class InnerFrameReadBackTests
{
    [Theory]
    [InlineData("vxlan.pcap", 65535)]
    [InlineData("vxlan_port_8472.pcap", 65535)]
    [InlineData("geneve.pcap", 65535)]
    [InlineData("geneve-gcp.pcap", 65535)]
    [InlineData("gso-ipv4-vxlan-ipv6.pcap", 65535)]
    [InlineData("gso-ipv6-geneve-ipv4.pcap", 65535)]
    [InlineData("gso-ipv6-vxlan-ipv4.pcap", 200)]
    [InlineData("vxlan.pcap", 64)]
    public void CaptureFile_HoldsTheInnerFramesByteForByte(string name, int snapLength)
    {
        var input = Path.Combine(ExternalTools.RepositoryRoot, "tests", "data", "tcpdump", name);
        using var output = new TempCapture();
        var replay = ExternalTools.RunCollector(["replay", input, "--capture-output", output.Path, "--capture-snaplen", snapLength.ToString(CultureInfo.InvariantCulture), "--output", "/dev/null", "--quiet"]);
        Assert.True(replay.ExitCode == 0, replay.StandardError);

        var expected = Packets(input, name.Contains("8472", StringComparison.Ordinal) ? ["-d", "udp.port==8472,vxlan"] : []).Where(p => p.Inner is not null).ToList();
        var kept = Packets(output.Path, []);

        Assert.NotEmpty(expected);
        Assert.Equal(expected.Count, kept.Count);
        for (var i = 0; i < kept.Count; i++)
        {
            var inner = expected[i].Inner!;
            Assert.Equal(inner[..Math.Min(inner.Length, snapLength * 2)], kept[i].Frame);
            Assert.Equal(inner.Length / 2, kept[i].Length);
            Assert.Equal(expected[i].Time, kept[i].Time);
            Assert.Equal($"vni={expected[i].Vni} tunnel_source={expected[i].TunnelSource}", kept[i].Comment);
        }
    }

    /// <summary>
    /// ERSPAN types I, II and III from tcpdump's test suite: each kept packet is the mirrored Ethernet
    /// frame, from the start of tshark's inner Ethernet layer to the end of the outer IP packet, with
    /// the ERSPAN session ID (0 for type I, which has none) as the comment's VNI.
    /// </summary>
    [Theory]
    [InlineData("erspan-type-i-1.pcap")]
    [InlineData("erspan-type-ii-1.pcap")]
    [InlineData("erspan-type-iii-ft-0.pcap")]
    public void CaptureFile_ErspanMirror_HoldsTheMirroredFramesByteForByte(string name)
    {
        var input = Path.Combine(ExternalTools.RepositoryRoot, "tests", "data", "tcpdump", name);
        using var output = new TempCapture();
        var replay = ExternalTools.RunCollector(["replay", input, "--capture-output", output.Path, "--output", "/dev/null", "--quiet"]);
        Assert.True(replay.ExitCode == 0, replay.StandardError);

        var result = ExternalTools.Run(ExternalTools.Tshark, ["-n", "-r", input, "-T", "json", "-x", "--no-duplicate-keys"], TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, result.StandardError);
        using var json = JsonDocument.Parse(result.StandardOutput);
        var expected = new List<(string Inner, string Comment)>();
        foreach (var element in json.RootElement.EnumerateArray())
        {
            var layers = element.GetProperty("_source").GetProperty("layers");
            var ethernet = layers.GetProperty("eth_raw");
            var ip = layers.TryGetProperty("ip_raw", out var ipRaw) ? ipRaw : default;

            // Kept: an inner Ethernet frame that carries IP (the decoder's flows), so two Ethernet and two IP layers.
            if (ethernet[0].ValueKind != JsonValueKind.Array || ethernet.GetArrayLength() < 2
                || ip.ValueKind != JsonValueKind.Array || ip[0].ValueKind != JsonValueKind.Array || ip.GetArrayLength() < 2)
            {
                continue;
            }

            var frameHex = First(layers.GetProperty("frame_raw"))[0].GetString()!;
            var start = ethernet[1][1].GetInt32();
            var outerIp = ip[0][1].GetInt32();
            var outerLength = int.Parse(First(layers.GetProperty("ip")).GetProperty("ip.len").GetString()!, CultureInfo.InvariantCulture);
            var end = Math.Min(outerIp + outerLength, frameHex.Length / 2);
            var spanId = layers.TryGetProperty("erspan", out var erspan) && First(erspan) is { ValueKind: JsonValueKind.Object } header && header.TryGetProperty("erspan.spanid", out var id) ? id.GetString()! : "0";
            var source = First(layers.GetProperty("ip")).GetProperty("ip.src").GetString();
            expected.Add((frameHex[(start * 2)..(end * 2)], $"vni={spanId} tunnel_source={source}"));
        }

        var kept = Packets(output.Path, []);
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Count, kept.Count);
        for (var i = 0; i < kept.Count; i++)
        {
            Assert.Equal(expected[i].Inner, kept[i].Frame);
            Assert.Equal(expected[i].Comment, kept[i].Comment);
        }
    }

    /// <summary>One packet as tshark shows it: its bytes (hex), length, time, comment, and for a tunnelled one its inner frame (hex), VNI and outer source.</summary>
    private sealed record Packet(string Frame, int Length, string Time, string? Comment, string? Inner, string? Vni, string? TunnelSource);

    private static List<Packet> Packets(string path, string[] decodeAs)
    {
        var result = ExternalTools.Run(ExternalTools.Tshark, ["-n", "-r", path, "-T", "json", "-x", "--no-duplicate-keys", .. decodeAs], TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, result.StandardError);
        using var json = JsonDocument.Parse(result.StandardOutput);
        var packets = new List<Packet>();
        foreach (var element in json.RootElement.EnumerateArray())
        {
            var layers = element.GetProperty("_source").GetProperty("layers");
            var frameRaw = First(layers.GetProperty("frame_raw"));
            var frameHex = frameRaw[0].GetString()!;
            var frame = layers.GetProperty("frame");
            var comment = frame.TryGetProperty("frame.comment", out var c) ? First(c).GetString() : null;
            if (comment is null && layers.TryGetProperty("pkt_comment", out var commentLayer))
            {
                comment = First(commentLayer).GetProperty("frame.comment").GetString();
            }

            string? inner = null, vni = null, tunnelSource = null;
            var tunnelRaw = layers.TryGetProperty("vxlan_raw", out var v) ? v : layers.TryGetProperty("geneve_raw", out var g) ? g : default;
            if (tunnelRaw.ValueKind == JsonValueKind.Array && !layers.TryGetProperty("arp", out _))
            {
                var tunnel = First(tunnelRaw);
                var start = tunnel[1].GetInt32() + tunnel[2].GetInt32();
                var udpRaw = First(layers.GetProperty("udp_raw"));
                var udpLength = int.Parse(First(layers.GetProperty("udp")).GetProperty("udp.length").GetString()!, CultureInfo.InvariantCulture);
                var end = udpRaw[1].GetInt32() + udpLength;
                end = udpLength >= 8 && end <= frameHex.Length / 2 ? end : frameHex.Length / 2;
                inner = frameHex[(start * 2)..(end * 2)];
                var tunnelLayer = First(layers.TryGetProperty("vxlan", out var vx) ? vx : layers.GetProperty("geneve"));
                vni = tunnelLayer.GetProperty(layers.TryGetProperty("vxlan", out _) ? "vxlan.vni" : "geneve.vni").GetString();
                var outer = layers.EnumerateObject().First(l => l.Name is "ip" or "ipv6");
                tunnelSource = First(outer.Value).GetProperty(outer.Name + ".src").GetString();
                if (vni!.StartsWith("0x", StringComparison.Ordinal))
                {
                    vni = Convert.ToUInt32(vni, 16).ToString(CultureInfo.InvariantCulture);
                }
            }

            packets.Add(new Packet(
                frameHex,
                int.Parse(frame.GetProperty("frame.len").GetString()!, CultureInfo.InvariantCulture),
                frame.GetProperty("frame.time_epoch").GetString()!,
                comment,
                inner,
                vni,
                tunnelSource));
        }

        return packets;
    }

    /// <summary>A repeated layer or field comes as an array (--no-duplicate-keys); the outermost is the first.</summary>
    private static JsonElement First(JsonElement element) =>
        element.ValueKind == JsonValueKind.Array && element.GetArrayLength() > 0 && element[0].ValueKind is JsonValueKind.Array or JsonValueKind.Object
            ? element[0]
            : element;
}
