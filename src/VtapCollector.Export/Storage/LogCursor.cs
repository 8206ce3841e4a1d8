using System.Buffers.Binary;

namespace VtapCollector.Export.Storage;

/// <summary>
/// The read position of a <see cref="SegmentLog"/>: the segment being read, through its own file handle
/// and a 256 KiB buffer, the offset of the next record in it, and the first segment not yet read to its
/// end. Parses and checks one record at a time; the log does the bookkeeping.
/// </summary>
internal sealed class LogCursor : IDisposable
{
    private readonly byte[] _buffer = new byte[SegmentLog.BufferSize];
    private FileStream? _file;
    private long _bufferStart;
    private int _bufferLength;

    /// <summary>The id of the segment the file handle is open on (or was last).</summary>
    public ulong Segment { get; private set; }

    /// <summary>The first segment not yet read to its end: reading continues in it or the next one after it.</summary>
    public ulong Next { get; set; }

    /// <summary>Where the next record starts in <see cref="Segment"/>.</summary>
    public long Offset { get; set; }

    /// <summary>True while the cursor has <paramref name="segment"/>'s file open.</summary>
    public bool IsOn(LogSegment segment) => _file is not null && segment.Id == Segment;

    /// <summary>Opens <paramref name="segment"/>'s file; a segment new to the cursor is read from its start offset.</summary>
    public void Open(LogSegment segment)
    {
        Close();
        _file = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        if (segment.Id != Segment)
        {
            Segment = segment.Id;
            Next = segment.Id;
            Offset = segment.StartOffset;
        }

        _bufferStart = 0;
        _bufferLength = 0;
    }

    /// <summary>Closes the file handle (the segment was read to its end, or is being deleted).</summary>
    public void Close()
    {
        _file?.Dispose();
        _file = null;
    }

    /// <summary>
    /// Reads the record at <see cref="Offset"/>, of which <paramref name="available"/> bytes at most are in
    /// the file, checks its checksum and moves past it; on failure says what is wrong in <paramref name="problem"/>
    /// and stays. <paramref name="key"/> and <paramref name="value"/> point into the cursor's buffer until the next call.
    /// </summary>
    public bool TryParse(long available, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out string? problem)
    {
        key = default;
        value = default;
        if (available < SegmentLog.RecordHeaderLength)
        {
            problem = "a record header cut short";
            return false;
        }

        var header = Buffered(Offset, SegmentLog.RecordHeaderLength);
        var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (bodyLength is < 2 or > SegmentLog.MaxBodyLength || available - SegmentLog.RecordHeaderLength < bodyLength)
        {
            problem = "an invalid record length";
            return false;
        }

        var body = Buffered(Offset + SegmentLog.RecordHeaderLength, (int)bodyLength);
        var keyLength = BinaryPrimitives.ReadUInt16LittleEndian(body);
        if (Crc32C.Compute(body) != crc || keyLength > bodyLength - 2)
        {
            problem = "a checksum mismatch";
            return false;
        }

        problem = null;
        key = body.Slice(2, keyLength);
        value = body[(2 + keyLength)..];
        Offset += SegmentLog.RecordHeaderLength + bodyLength;
        return true;
    }

    public void Dispose() => Close();

    /// <summary>The file's bytes [offset, offset + count), from the buffer, refilled when needed.</summary>
    private ReadOnlySpan<byte> Buffered(long offset, int count)
    {
        if (offset < _bufferStart || offset + count > _bufferStart + _bufferLength)
        {
            _file!.Position = offset;
            _bufferStart = offset;
            _bufferLength = _file.ReadAtLeast(_buffer, count, throwOnEndOfStream: true);
        }

        return _buffer.AsSpan((int)(offset - _bufferStart), count);
    }
}
