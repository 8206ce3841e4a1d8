using VtapCollector.Decoding;

namespace VtapCollector.Engine.Workers;

/// <summary>
/// One item of a receiver-to-worker queue: a decoded packet with its receive time, or, when
/// <see cref="IsTick"/>, a tick of packet time (replay): the worker expires its flows at
/// <see cref="TimestampNanos"/> exactly where the tick sits among the packets, so every worker count
/// cuts the same flows at the same packets.
/// </summary>
internal struct QueuedPacket
{
    public DecodedPacket Packet;
    public long TimestampNanos;
    public bool IsTick;
}

/// <summary>Where a flow worker's notion of "now" comes from.</summary>
public enum EngineClock
{
    /// <summary>Wall time (a live collector): workers expire flows once a second of wall time.</summary>
    Wall,

    /// <summary>Packet time (a replay): the one source sends ticks as packet time passes each second; workers expire only then.</summary>
    Packet,
}

/// <summary>Wall-clock time in ns since the Unix epoch, comparable with kernel receive timestamps.</summary>
internal static class WallClock
{
    public static long NowNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
