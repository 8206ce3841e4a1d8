using VtapCollector.Flows;

namespace VtapCollector.Service;

/// <summary>Flow aggregation.</summary>
internal sealed class FlowSettings
{
    /// <summary>Flows held at once over all workers (memory is reserved at start, about 215 bytes a flow). Default 1000000.</summary>
    public int Capacity { get; set; } = 1_000_000;

    /// <summary>Seconds between update records of a long flow. Default 60.</summary>
    public int ActiveTimeoutSeconds { get; set; } = 60;

    /// <summary>Seconds after which an idle UDP, ICMP or other flow ends. Default 60.</summary>
    public int IdleTimeoutSeconds { get; set; } = 60;

    /// <summary>Seconds after which an idle TCP flow ends. Default 300.</summary>
    public int TcpIdleTimeoutSeconds { get; set; } = 300;

    /// <summary>Seconds a TCP flow lingers after FIN or RST so the last ACKs count. Default 5.</summary>
    public int TcpClosingTimeoutSeconds { get; set; } = 5;

    /// <summary>The flow tables' options (all workers together), or null and one sentence naming the key.</summary>
    public FlowTableOptions? ToOptions(int workers, out string? error)
    {
        error = null;
        if (ActiveTimeoutSeconds < 1 || IdleTimeoutSeconds < 1 || TcpIdleTimeoutSeconds < 1 || TcpClosingTimeoutSeconds < 0)
        {
            error = "Flows:ActiveTimeoutSeconds, IdleTimeoutSeconds and TcpIdleTimeoutSeconds must be at least 1, and TcpClosingTimeoutSeconds at least 0.";
            return null;
        }

        if (Capacity < 16 * workers)
        {
            error = $"Flows:Capacity ({Capacity}) must be at least 16 flows per worker ({16 * workers} for {workers} workers).";
            return null;
        }

        var options = new FlowTableOptions
        {
            Capacity = Capacity,
            ActiveTimeout = TimeSpan.FromSeconds(ActiveTimeoutSeconds),
            IdleTimeout = TimeSpan.FromSeconds(IdleTimeoutSeconds),
            TcpIdleTimeout = TimeSpan.FromSeconds(TcpIdleTimeoutSeconds),
            TcpClosingTimeout = TimeSpan.FromSeconds(TcpClosingTimeoutSeconds),
        };
        error = options.Validate() is { } invalid ? "Flows: " + invalid : null;
        return error is null ? options : null;
    }
}
