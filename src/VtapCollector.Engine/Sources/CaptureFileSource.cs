using VtapCollector.Capture;
using VtapCollector.Engine.Ingress;

namespace VtapCollector.Engine.Sources;

/// <summary>
/// A capture (pcap or pcapng; a file, stdin or a pipe) as the engine's one source in a replay: the
/// calling thread reads every packet and runs the ingress on it, so decoding and dispatch happen
/// here while the flow workers count on their own threads.
/// </summary>
internal static class CaptureFileSource
{
    /// <summary>Reads the whole capture into <paramref name="ingress"/>; returns why reading stopped (<see cref="CaptureError.None"/> at a clean end).</summary>
    public static async Task<CaptureError> ReadAsync(CaptureReader reader, PacketIngress ingress)
    {
        var error = await reader.ReadAllAsync(new FrameHandler(ingress)).ConfigureAwait(false);
        ingress.Flush();
        ingress.Counters.Packets = reader.Packets;
        ingress.Counters.Bytes = reader.CapturedBytes;
        return error;
    }
}
