using VtapCollector.Decoding;

namespace VtapCollector.Engine;

/// <summary>
/// Why a packet did not reach a flow: every <see cref="DecodeStatus"/> except Ok, then the
/// allow-list's two reasons. Indexes counter arrays; labels are the metric's <c>reason</c> values.
/// </summary>
internal static class RejectReason
{
    public const int SourceNotAllowed = (int)DecodeStatus.Count;
    public const int VniNotAllowed = SourceNotAllowed + 1;
    public const int Count = VniNotAllowed + 1;

    public static string Label(int reason) => reason switch
    {
        SourceNotAllowed => "source_not_allowed",
        VniNotAllowed => "vni_not_allowed",
        _ => ((DecodeStatus)reason).ToLabel(),
    };
}

/// <summary>
/// Counters of one receiver thread. Each field has one writer (that thread); the scrape reads them
/// with <see cref="Volatile"/> and sums over threads, so the packet path never shares a cache line.
/// </summary>
internal sealed class ReceiverCounters
{
    public ReceiverCounters(string source, int vniLabels, int tunnelSourceLabels)
    {
        Source = source;
        VniPackets = new long[vniLabels + 1];
        VniBytes = new long[vniLabels + 1];
        TunnelSourcePackets = new long[tunnelSourceLabels + 1];
    }

    /// <summary>The metric's <c>source</c> label: udp, af_packet, pcap, gre or xdp.</summary>
    public string Source { get; }

    public long Packets;
    public long Bytes;
    public long KernelDrops;
    public long Truncated;
    public long DispatchDropped;
    public long ReceiveBufferBytes;

    /// <summary>Decoded packets whose mirror copy was cut short (counted by their IP length all the same).</summary>
    public long TruncatedCopies;

    /// <summary><see cref="Environment.TickCount64"/> at the thread's latest turn of its loop (for the watchdog).</summary>
    public long Heartbeat = Environment.TickCount64;

    public readonly long[] Rejected = new long[RejectReason.Count];
    public readonly long[] VniPackets;
    public readonly long[] VniBytes;
    public readonly long[] TunnelSourcePackets;
}

/// <summary>Counters of one flow worker; one writer (the worker), read by the scrape.</summary>
internal sealed class WorkerCounters(int tunnelSourceLabels = 256)
{
    /// <summary>Copies removed as another tap's view of a counted packet, per tunnel-source label index (the last one: other).</summary>
    public readonly long[] Duplicates = new long[tunnelSourceLabels + 1];

    public long Packets;
    public long RecordQueueDropped;

    /// <summary>Receive time of the newest packet handed to the flow table, ns since the Unix epoch.</summary>
    public long LastPacketNanos;

    /// <summary>Wall time minus receive time of the newest packet, at its batch, in ns.</summary>
    public long LagNanos;

    public long Heartbeat = Environment.TickCount64;

    /// <summary>Statuses the flow table gave (fragments without their first).</summary>
    public readonly long[] Rejected = new long[RejectReason.Count];
}
