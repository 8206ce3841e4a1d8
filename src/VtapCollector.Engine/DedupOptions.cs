using VtapCollector.Flows;

namespace VtapCollector.Engine;

/// <summary>
/// Double-tap deduplication, bound from the <c>Dedup</c> configuration section: when both ends of
/// a conversation are tapped, every packet arrives twice (once from each NIC, from two tunnel
/// sources); each worker removes the second view so the counters are of packets on the wire.
/// <see cref="Validate"/> names the keys.
/// </summary>
public sealed class DedupOptions
{
    /// <summary>Largest window accepted: one second, far beyond any mirror's skew.</summary>
    public const int MaxWindowMicroseconds = 1_000_000;

    /// <summary>Remove the copies another tap sends of a packet already counted. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// How long after a packet's first copy another tap's copy is still a duplicate, in µs. Default
    /// 5000 (5 ms): the copies of two NICs arrive microseconds to a few milliseconds apart.
    /// </summary>
    public int WindowMicroseconds { get; set; } = 5_000;

    /// <summary>
    /// Packets each worker remembers (a power of two), 32 bytes each: the window times a worker's
    /// packet rate must fit. Default 65536 (2 MiB per worker: 5 ms at 13 million packets a second).
    /// </summary>
    public int TableEntries { get; set; } = 65_536;

    /// <summary>
    /// Sets of VNIs that mirror the same network (one per tap, say): their packets meet in one flow
    /// under the group's first VNI, so the copies two taps send under two VNIs are recognised.
    /// Default none.
    /// </summary>
    public List<List<uint>> VniGroups { get; set; } = [];

    /// <summary>The window in nanoseconds.</summary>
    public long WindowNanos => WindowMicroseconds * 1_000L;

    /// <summary>One sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        if (WindowMicroseconds is < 1 or > MaxWindowMicroseconds)
        {
            return $"Dedup:WindowMicroseconds must be between 1 and {MaxWindowMicroseconds} (was {WindowMicroseconds}).";
        }

        if (TableEntries < DuplicateFilter.Ways || TableEntries > 1 << 26 || (TableEntries & (TableEntries - 1)) != 0)
        {
            return $"Dedup:TableEntries must be a power of two between {DuplicateFilter.Ways} and 67108864 (was {TableEntries}).";
        }

        var seen = new HashSet<uint>();
        foreach (var group in VniGroups)
        {
            if (group is null || group.Count < 2)
            {
                return "Dedup:VniGroups: each group lists at least two VNIs that mirror the same network.";
            }

            foreach (var vni in group)
            {
                if (vni > 0xFF_FFFF)
                {
                    return $"Dedup:VniGroups: VNI {vni} is larger than 16777215 (a VNI has 24 bits).";
                }

                if (!seen.Add(vni))
                {
                    return $"Dedup:VniGroups: VNI {vni} is in more than one group (or twice in one); a VNI belongs to one group.";
                }
            }
        }

        return null;
    }
}
