using VtapCollector.Decoding;

namespace VtapCollector.Capture;

/// <summary>Metadata of one captured packet.</summary>
public readonly record struct CapturedPacket(long TimestampNanos, int OriginalLength, LinkType LinkType);

/// <summary>
/// Receives packets from a reader. Implemented by structs and used as a generic constraint, so the
/// per-packet call is direct and inlinable, not an interface dispatch.
/// </summary>
public interface IPacketHandler
{
    /// <summary>
    /// Handles one packet. <paramref name="data"/> is valid only during the call (it points into the
    /// reader's buffer).
    /// </summary>
    void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data);
}
