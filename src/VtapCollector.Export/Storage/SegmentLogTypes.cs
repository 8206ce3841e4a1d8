namespace VtapCollector.Export.Storage;

/// <summary>Where a record of a <see cref="SegmentLog"/> ends: the segment and the offset just past the record.</summary>
/// <param name="Segment">The segment's id (ids increase in write order).</param>
/// <param name="Offset">The byte offset in the segment file just past the record.</param>
public readonly record struct LogPosition(ulong Segment, long Offset);

/// <summary>The outcome of <see cref="SegmentLog.Append"/>.</summary>
public enum LogAppendResult
{
    /// <summary>The record is in the log (in its write buffer until the next <see cref="SegmentLog.Flush"/>).</summary>
    Appended,

    /// <summary>The log is full and the record was not taken (<see cref="LogOverflowPolicy.DropNewest"/>, or nothing older to drop).</summary>
    Full,

    /// <summary>The log's files could not be written; <see cref="SegmentLog.LastError"/> says why.</summary>
    Failed,
}

/// <summary>When a <see cref="SegmentLog"/> forces its writes to stable storage (fsync).</summary>
public enum LogFsyncPolicy
{
    /// <summary>Never: the kernel writes the pages back when it chooses.</summary>
    Never = 0,

    /// <summary>When a segment is closed, and at shutdown.</summary>
    EverySegment = 1,

    /// <summary>At every <see cref="SegmentLog.Sync"/> (its owner calls it about once a second), when a segment is closed, and at shutdown.</summary>
    EverySync = 2,
}

/// <summary>Which records go when a <see cref="SegmentLog"/> has reached its size bound.</summary>
public enum LogOverflowPolicy
{
    /// <summary>The new record is refused: what the log holds stays whole, without gaps.</summary>
    DropNewest = 0,

    /// <summary>The oldest closed segment is deleted to make room, its unconsumed records counted as dropped.</summary>
    DropOldest = 1,
}

/// <summary>What a <see cref="SegmentLog"/> is built with.</summary>
/// <param name="Directory">The log's directory, created if missing; it should hold nothing else.</param>
/// <param name="MaxBytes">The most bytes the segment files may take; beyond it <paramref name="Overflow"/> applies.</param>
/// <param name="SegmentBytes">The size at which a segment is closed and the next one begun.</param>
/// <param name="Fsync">When appends are forced to stable storage.</param>
/// <param name="Overflow">Which records go when the log is full.</param>
/// <param name="RetryInterval">After an I/O error, the least time before the log tries its files again.</param>
/// <param name="Name">How reports name the log ("Kafka spool").</param>
public sealed record SegmentLogOptions(
    string Directory,
    long MaxBytes,
    long SegmentBytes,
    LogFsyncPolicy Fsync,
    LogOverflowPolicy Overflow,
    TimeSpan RetryInterval,
    string Name = "Segment log");
