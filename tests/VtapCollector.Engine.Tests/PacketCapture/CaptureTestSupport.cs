using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Engine.Tests.PacketCapture;

/// <summary>A temporary folder for capture files, deleted with everything in it.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("vtap-capture-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Reads capture files back with the project's reader (pcapng) and builds kept packets.</summary>
internal static class CaptureFiles
{
    /// <summary>Packets and error of a capture file.</summary>
    public static (long Packets, CaptureError Error, List<(long Time, int Length)> Frames) Read(string path)
    {
        using var stream = File.OpenRead(path);
        var reader = new CaptureReader(stream);
        var collector = new Collector([]);
        var error = reader.ReadAllAsync(collector).GetAwaiter().GetResult();
        return (reader.Packets, error, collector.Frames);
    }

    public static CapturedFrame Frame(long time, uint vni = 100) => new()
    {
        TimestampNanos = time,
        OriginalLength = 200,
        LinkType = LinkType.Ethernet,
        Tunnel = TunnelKind.Vxlan,
        Vni = vni,
        TunnelSource = IpAddress.Parse("192.0.2.1"),
        TunnelIpVersion = 4,
    };

    private readonly struct Collector(List<(long Time, int Length)> frames) : IPacketHandler
    {
        public List<(long Time, int Length)> Frames => frames;

        public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data) => frames.Add((packet.TimestampNanos, data.Length));
    }
}
