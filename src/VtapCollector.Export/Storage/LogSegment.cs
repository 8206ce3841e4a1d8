namespace VtapCollector.Export.Storage;

/// <summary>One segment file of a <see cref="SegmentLog"/> and the counts of its records. Belongs to its log, under the log owner's lock.</summary>
internal sealed class LogSegment(ulong id, string path)
{
    public ulong Id { get; } = id;

    public string Path { get; } = path;

    /// <summary>Bytes of the segment, appends still in the write buffer included.</summary>
    public long Length { get; set; }

    /// <summary>Bytes in the file itself (what the reader can read).</summary>
    public long DrainedLength { get; set; }

    /// <summary>Where reading starts: the checkpoint within the segment, or just past the file header.</summary>
    public long StartOffset { get; set; }

    /// <summary>Records in the segment.</summary>
    public long Records { get; set; }

    /// <summary>Records handed out by the reader (or behind the checkpoint at opening).</summary>
    public long Read { get; set; }

    /// <summary>Records marked consumed (or behind the checkpoint at opening).</summary>
    public long Completed { get; set; }

    /// <summary>Closed for appends: it can be deleted once every record is consumed.</summary>
    public bool Sealed { get; set; }
}
