namespace VtapCollector.Kafka.Spool;

/// <summary>Where a spooled record ends: the segment and the offset just past the record.</summary>
internal readonly record struct SpoolPosition(ulong Segment, long Offset);

/// <summary>The outcome of <see cref="DiskSpool.Append"/>.</summary>
internal enum SpoolAppendResult
{
    /// <summary>The record is in the spool (in its write buffer, on disk within a second).</summary>
    Appended,

    /// <summary>The spool is full and the record was not taken (<see cref="SpoolOverflowPolicy.DropNewest"/>, or nothing older to drop).</summary>
    Full,

    /// <summary>The spool's files could not be written; <see cref="DiskSpool.LastError"/> says why.</summary>
    Failed,
}
