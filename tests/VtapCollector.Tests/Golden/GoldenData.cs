using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Tests.Golden;

/// <summary>One packet of a golden capture: its link type, captured bytes and original length.</summary>
internal sealed record GoldenFrame(LinkType LinkType, byte[] Data, int OriginalLength);

/// <summary>Locates tcpdump's captures (copied to the test output's data/tcpdump) and reads them with the Capture library.</summary>
internal static class GoldenData
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "data", "tcpdump");

    public static string PathOf(string name)
    {
        var path = Path.Combine(Directory, name);
        Assert.True(File.Exists(path), $"missing golden data file {path} (tests/data/tcpdump is copied to the output by tests/Directory.Build.props)");
        return path;
    }

    /// <summary>Every packet of a capture, read to its end without error.</summary>
    public static IReadOnlyList<GoldenFrame> ReadCapture(string name)
    {
        using var stream = File.OpenRead(PathOf(name));
        var frames = new List<GoldenFrame>();
        var reader = new CaptureReader(stream);
        var error = reader.ReadAllAsync(new Collector(frames)).GetAwaiter().GetResult();
        Assert.Equal(CaptureError.None, error);
        Assert.Equal(frames.Count, reader.Packets);
        return frames;
    }

    /// <summary>Copies each packet out of the reader's buffer (valid only during the call).</summary>
    private readonly struct Collector(List<GoldenFrame> frames) : IPacketHandler
    {
        public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data) =>
            frames.Add(new GoldenFrame(packet.LinkType, data.ToArray(), packet.OriginalLength));
    }
}
