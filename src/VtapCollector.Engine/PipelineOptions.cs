namespace VtapCollector.Engine;

/// <summary>What to do when a hand-off queue between threads is full.</summary>
public enum OverflowPolicy
{
    /// <summary>The producer waits for room: nothing is dropped here; upstream buffers (the kernel's) absorb or drop, and count.</summary>
    Block,

    /// <summary>The item that does not fit is dropped and counted.</summary>
    DropNewest,
}

/// <summary>
/// The engine's threads and the queues between them, bound from the <c>Pipeline</c> configuration
/// section; <see cref="Validate"/> names those keys.
/// </summary>
public sealed class PipelineOptions
{
    /// <summary>Flow workers, each with its own flow table. 0: half the cores, at least 1. Default 0.</summary>
    public int Workers { get; set; }

    /// <summary>Packets each receiver can queue for each worker (a power of two). Default 16384.</summary>
    public int DispatchQueueCapacity { get; set; } = 16384;

    /// <summary>When a worker's queue is full: Block (the receiver waits; the kernel buffer absorbs) or DropNewest. Default DropNewest.</summary>
    public OverflowPolicy DispatchOverflow { get; set; } = OverflowPolicy.DropNewest;

    /// <summary>Records each worker can queue for the exporter (a power of two). Default 65536.</summary>
    public int RecordQueueCapacity { get; set; } = 65536;

    /// <summary>Export threads, each encoding and writing its share of the records; 0: as many as the cores, at most 4. Default 0.</summary>
    public int ExportThreads { get; set; }

    /// <summary>When the record queue is full: Block (the worker waits) or DropNewest. Default Block.</summary>
    public OverflowPolicy RecordOverflow { get; set; } = OverflowPolicy.Block;

    /// <summary>Seconds allowed at shutdown to emit every active flow and flush the sinks. Default 20.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 20;

    /// <summary>Synthetic packets run through a scratch engine before the sources start, so the first real burst meets compiled code; 0: no warm-up. Default 20000.</summary>
    public int WarmupPackets { get; set; } = 20_000;

    /// <summary>The number of workers <see cref="Workers"/> asks for on this machine.</summary>
    public int EffectiveWorkers => Workers == 0 ? DefaultWorkers : Workers;

    /// <summary>The number of export threads <see cref="ExportThreads"/> asks for on this machine.</summary>
    public int EffectiveExportThreads => ExportThreads == 0 ? DefaultExportThreads : ExportThreads;

    /// <summary>
    /// As many as the cores, at most 4: records come in bursts (every flow of a replay ends at once at
    /// its end; an idle timeout ends many flows together), and a burst is then encoded on every core
    /// the packet path has left idle. An idle lane sleeps.
    /// </summary>
    public static int DefaultExportThreads => Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>Half the cores, at least one: the other half receive and decode.</summary>
    public static int DefaultWorkers => Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>One sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        if (Workers is < 0 or > 256)
        {
            return $"Pipeline:Workers must be between 0 (half the cores) and 256 (was {Workers}).";
        }

        if (ExportThreads is < 0 or > 16)
        {
            return $"Pipeline:ExportThreads must be between 0 (as many as the cores, at most 4) and 16 (was {ExportThreads}).";
        }

        if (!IsPowerOfTwo(DispatchQueueCapacity))
        {
            return $"Pipeline:DispatchQueueCapacity must be a power of two between 64 and 16777216 (was {DispatchQueueCapacity}).";
        }

        if (!IsPowerOfTwo(RecordQueueCapacity))
        {
            return $"Pipeline:RecordQueueCapacity must be a power of two between 64 and 16777216 (was {RecordQueueCapacity}).";
        }

        if (!Enum.IsDefined(DispatchOverflow) || !Enum.IsDefined(RecordOverflow))
        {
            return "Pipeline:DispatchOverflow and Pipeline:RecordOverflow must be Block or DropNewest.";
        }

        if (WarmupPackets is < 0 or > 10_000_000)
        {
            return $"Pipeline:WarmupPackets must be between 0 (no warm-up) and 10000000 (was {WarmupPackets}).";
        }

        if (ShutdownTimeoutSeconds is < 1 or > 3600)
        {
            return $"Pipeline:ShutdownTimeoutSeconds must be between 1 and 3600 (was {ShutdownTimeoutSeconds}).";
        }

        return null;
    }

    private static bool IsPowerOfTwo(int value) => value is >= 64 and <= 1 << 24 && (value & (value - 1)) == 0;
}
