namespace VtapCollector.Flows;

/// <summary>Timeouts and bounds of a <see cref="FlowTable"/>. Times are packet time, not wall time.</summary>
public sealed class FlowTableOptions
{
    /// <summary>Most flows tracked at once; a new flow beyond it evicts one. Default 1 000 000.</summary>
    public int Capacity { get; init; } = 1_000_000;

    /// <summary>A flow active this long since its last record gets an <c>update</c> record. Default 60 s (VNet flow logs' cadence is 60 s).</summary>
    public TimeSpan ActiveTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A UDP, ICMP or other non-TCP flow idle this long ends. Default 60 s (Zeek's UDP/ICMP inactivity timeout).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A TCP flow idle this long ends. Default 300 s (Zeek's TCP inactivity timeout).</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>After both FINs or a RST, a TCP flow lingers this long so the last ACKs count in it. Default 5 s (Zeek's tcp_close_delay).</summary>
    public TimeSpan TcpClosingTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Slots of the cache that gives later IP fragments the ports of their first fragment (a power of two). Default 4096.</summary>
    public int FragmentCacheSize { get; init; } = 4096;

    /// <summary>Returns a sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        if (Capacity is < 16 or > 100_000_000)
        {
            return $"The flow table capacity must be between 16 and 100000000 flows (was {Capacity}).";
        }

        if (ActiveTimeout <= TimeSpan.Zero || IdleTimeout <= TimeSpan.Zero || TcpIdleTimeout <= TimeSpan.Zero)
        {
            return "Active and idle timeouts must be positive.";
        }

        if (TcpClosingTimeout < TimeSpan.Zero)
        {
            return "The TCP closing timeout cannot be negative.";
        }

        if (FragmentCacheSize < 16 || (FragmentCacheSize & (FragmentCacheSize - 1)) != 0)
        {
            return $"The fragment cache size must be a power of two of at least 16 (was {FragmentCacheSize}).";
        }

        return null;
    }
}
