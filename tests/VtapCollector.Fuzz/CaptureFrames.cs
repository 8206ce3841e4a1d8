using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Fuzz;

/// <summary>Frames cut from the repository's real captures, for seeds.</summary>
internal static class CaptureFrames
{
    /// <summary>The captures seeds are cut from: tcpdump's test captures and the daemon's sample.</summary>
    public static IEnumerable<string> Files(string repositoryRoot) =>
        Directory.EnumerateFiles(Path.Combine(repositoryRoot, "tests", "data", "tcpdump"), "*.pcap")
            .Append(Path.Combine(repositoryRoot, "src", "VtapCollector", "Samples", "sample-vxlan.pcap"))
            .Order(StringComparer.Ordinal);

    /// <summary>Seeds keep a frame's first 2 KiB: all its headers, and afl mutates small inputs far faster.</summary>
    private const int MaxSeedFrame = 2048;

    /// <summary>Every frame of <paramref name="path"/> (its first 2 KiB), with its link type, in capture order.</summary>
    public static List<(LinkType LinkType, long Timestamp, byte[] Data)> Read(string path)
    {
        var frames = new List<(LinkType, long, byte[])>();
        using var stream = new MemoryStream(File.ReadAllBytes(path));
        new CaptureReader(stream).ReadAllAsync(new Collector(frames)).GetAwaiter().GetResult();
        return frames;
    }

    private readonly struct Collector(List<(LinkType, long, byte[])> frames) : IPacketHandler
    {
        public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data) =>
            frames.Add((packet.LinkType, packet.TimestampNanos, data[..Math.Min(data.Length, MaxSeedFrame)].ToArray()));
    }
}
