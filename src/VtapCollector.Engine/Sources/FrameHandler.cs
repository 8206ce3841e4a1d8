using VtapCollector.Capture;
using VtapCollector.Engine.Ingress;

namespace VtapCollector.Engine.Sources;

/// <summary>Hands every captured frame to the ingress: the handler of the capture sources (live rings and capture files).</summary>
internal readonly struct FrameHandler(PacketIngress ingress) : IPacketHandler
{
    public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data) => ingress.OnFrame(packet, data);
}
