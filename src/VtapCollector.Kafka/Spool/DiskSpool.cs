using System.Buffers.Binary;
using System.Globalization;

namespace VtapCollector.Kafka.Spool;

/// <summary>
/// An append-only store of keyed records in segment files, read back in the order written, each
/// segment deleted once every record in it is delivered. Not thread-safe: the sink calls it under
/// its own lock.
/// </summary>
/// <remarks>
/// <para>
/// Files, in one directory: segments <c>&lt;20-digit id&gt;.spool</c> (ids increase in write order) and
/// <c>checkpoint</c>. A segment is the 8 bytes <c>VTKSPL01</c>, then records: a 4-byte little-endian
/// body length, the 4-byte little-endian CRC-32C of the body, and the body: a 2-byte little-endian key
/// length, the key, the value. The checkpoint holds the segment id and offset up to which every
/// record was delivered (id, offset, CRC-32C of both), written about once a second and at shutdown.
/// </para>
/// <para>
/// Opening scans every segment: a record whose header or body is cut short or whose checksum does
/// not match (a write torn by a crash, a damaged disk) ends its segment, which is truncated there
/// and reported. Replay starts at the checkpoint, so after a crash records delivered since the last
/// checkpoint are sent again (at least once); records are never skipped.
/// </para>
/// <para>
/// Appends go through a 256 KiB buffer that is written to the file when full, when the reader needs
/// it, and at every <see cref="Sync"/> (about once a second), so a crash of the process loses at most
/// about a second of spooled records; <see cref="SpoolFsyncPolicy"/> says what a power loss loses.
/// </para>
/// </remarks>
internal sealed class DiskSpool : IDisposable
{
    /// <summary>Record header: body length and CRC-32C.</summary>
    public const int RecordHeaderLength = 8;

    /// <summary>The longest key a record may have.</summary>
    public const int MaxKeyBytes = 255;

    /// <summary>The longest value a record may have: 60 KiB, far above the largest flow record.</summary>
    public const int MaxValueBytes = 60 * 1024;

    /// <summary>Segment file header length (the magic).</summary>
    public const int FileHeaderLength = 8;

    private const int MaxBodyLength = 2 + MaxKeyBytes + MaxValueBytes;
    private const int BufferSize = 256 * 1024;
    private const string Extension = ".spool";
    private const string CheckpointName = "checkpoint";
    private const int CheckpointLength = 20;
    private const long RetryMilliseconds = 5000;

    private static ReadOnlySpan<byte> Magic => "VTKSPL01"u8;

    private readonly string _directory;
    private readonly long _maxBytes;
    private readonly long _segmentBytes;
    private readonly SpoolFsyncPolicy _fsync;
    private readonly SpoolOverflowPolicy _overflow;
    private readonly Action<string, string> _report;
    private readonly List<Segment> _segments = [];
    private readonly byte[] _writeBuffer = new byte[BufferSize];
    private readonly byte[] _readBuffer = new byte[BufferSize];

    private FileStream? _writer;
    private Segment? _active;
    private int _buffered;
    private bool _unsynced;
    private long _failedAt;
    private bool _failed;

    private FileStream? _reader;
    private ulong _readerSegment;
    private ulong _readSegment;
    private long _readOffset;
    private long _readBufferStart;
    private int _readBufferLength;

    private ulong _nextId;
    private SpoolPosition _startCheckpoint;
    private SpoolPosition _checkpoint;
    private bool _checkpointDirty;
    private bool _disposed;

    /// <summary>Opens the spool in <paramref name="directory"/>, creating it if needed, and recovers what it holds.</summary>
    /// <exception cref="IOException">The directory cannot be created or read.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not accessible.</exception>
    public DiskSpool(string directory, long maxBytes, long segmentBytes, SpoolFsyncPolicy fsync, SpoolOverflowPolicy overflow, Action<string, string>? report = null)
    {
        _directory = Path.GetFullPath(directory);
        _maxBytes = maxBytes;
        _segmentBytes = segmentBytes;
        _fsync = fsync;
        _overflow = overflow;
        _report = report ?? ((_, _) => { });
        System.IO.Directory.CreateDirectory(_directory);
        Recover();
    }

    /// <summary>Bytes of all segment files, buffered appends included.</summary>
    public long Bytes { get; private set; }

    /// <summary>Records in the spool not yet delivered (read or not).</summary>
    public long PendingRecords { get; private set; }

    /// <summary>Records in the spool not yet handed out by <see cref="TryRead"/>.</summary>
    public long UnreadRecords { get; private set; }

    /// <summary>Records found in the spool when it was opened.</summary>
    public long RecoveredRecords { get; private set; }

    /// <summary>Bytes cut from segment tails because a record there was incomplete or failed its checksum.</summary>
    public long TruncatedBytes { get; private set; }

    /// <summary>Records appended since opening.</summary>
    public long AppendedRecords { get; private set; }

    /// <summary>Records handed out by <see cref="TryRead"/> since opening.</summary>
    public long ReadRecords { get; private set; }

    /// <summary>Records lost to the size bound: refused (drop newest) or deleted unsent with the oldest segment (drop oldest).</summary>
    public long DroppedRecords { get; private set; }

    /// <summary>Segment files written to stable storage (fsync).</summary>
    public long Fsyncs { get; private set; }

    /// <summary>The message of the last I/O error, or null while the spool works.</summary>
    public string? LastError { get; private set; }

    /// <summary>Segment files in the spool.</summary>
    public int SegmentCount => _segments.Count;

    /// <summary>The spool's directory, in full.</summary>
    public string Directory => _directory;

    /// <summary>Appends one record; never throws for I/O errors (they return <see cref="SpoolAppendResult.Failed"/>).</summary>
    public SpoolAppendResult Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(key.Length, MaxKeyBytes, nameof(key));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value.Length, MaxValueBytes, nameof(value));
        if (_failed && !TryRecover())
        {
            return SpoolAppendResult.Failed;
        }

        var bodyLength = 2 + key.Length + value.Length;
        var size = RecordHeaderLength + bodyLength;
        var rolls = _active is null || (_active.Length + size > _segmentBytes && _active.Length > FileHeaderLength);
        var needed = size + (rolls ? FileHeaderLength : 0);
        if (Bytes + needed > _maxBytes && !MakeRoom(needed))
        {
            DroppedRecords++;
            return SpoolAppendResult.Full;
        }

        try
        {
            if (rolls)
            {
                Roll();
            }

            if (_buffered + size > _writeBuffer.Length)
            {
                Drain();
            }
        }
        catch (Exception error) when (IsFileError(error))
        {
            Fail(error);
            return SpoolAppendResult.Failed;
        }

        var record = _writeBuffer.AsSpan(_buffered, size);
        var body = record[RecordHeaderLength..];
        BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)key.Length);
        key.CopyTo(body[2..]);
        value.CopyTo(body[(2 + key.Length)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)bodyLength);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], Crc32C.Compute(body));
        _buffered += size;
        _active!.Length += size;
        _active.Records++;
        Bytes += size;
        PendingRecords++;
        UnreadRecords++;
        AppendedRecords++;
        return SpoolAppendResult.Appended;
    }

    /// <summary>
    /// Hands out the oldest record not yet read, in write order; <paramref name="key"/> and
    /// <paramref name="value"/> point into the spool's read buffer, valid until its next call. Returns
    /// false when every record has been read (or the files cannot be read; <see cref="LastError"/> then says why).
    /// </summary>
    public bool TryRead(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out SpoolPosition end)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        key = default;
        value = default;
        end = default;
        try
        {
            while (true)
            {
                var segment = FirstFrom(_readSegment);
                if (segment is null)
                {
                    return false;
                }

                if (segment.Id != _readerSegment || _reader is null)
                {
                    OpenReader(segment);
                }

                var available = segment.DrainedLength - _readOffset;
                if (available == 0)
                {
                    if (segment == _active && _buffered > 0)
                    {
                        Drain();
                        continue;
                    }

                    if (!segment.Sealed)
                    {
                        return false;
                    }

                    FinishReading(segment);
                    continue;
                }

                if (!TryParse(segment, available, out key, out value))
                {
                    continue;
                }

                segment.Read++;
                UnreadRecords--;
                ReadRecords++;
                end = new SpoolPosition(segment.Id, _readOffset);
                return true;
            }
        }
        catch (Exception error) when (IsFileError(error))
        {
            Fail(error);
            return false;
        }
    }

    /// <summary>
    /// Marks the record ending at <paramref name="end"/> delivered. Calls must come in read order (the
    /// sink completes records in the order it read them), so the position is also the checkpoint.
    /// A record of a segment already dropped is ignored.
    /// </summary>
    public void Complete(SpoolPosition end)
    {
        var segment = Find(end.Segment);
        if (segment is null)
        {
            return;
        }

        segment.Completed++;
        PendingRecords--;
        _checkpoint = end;
        _checkpointDirty = true;
        DeleteDelivered();
    }

    /// <summary>
    /// Closes the segment being written, so that it can be deleted once delivered; the next append
    /// begins a new one. The sink calls this when the spool has been replayed to its end.
    /// </summary>
    public void SealActive()
    {
        if (_active is null)
        {
            return;
        }

        try
        {
            CloseWriter(_fsync != SpoolFsyncPolicy.Never);
        }
        catch (Exception error) when (IsFileError(error))
        {
            Fail(error);
            return;
        }

        DeleteDelivered();
    }

    /// <summary>
    /// Writes buffered appends to the file, forces them to stable storage when the policy is
    /// <see cref="SpoolFsyncPolicy.EverySecond"/>, and saves the checkpoint if it moved. Called about once a second.
    /// </summary>
    public void Sync()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            if (_failed && !TryRecover())
            {
                return;
            }

            Drain();
            if (_fsync == SpoolFsyncPolicy.EverySecond && _unsynced && _writer is not null)
            {
                _writer.Flush(flushToDisk: true);
                _unsynced = false;
                Fsyncs++;
            }

            SaveCheckpoint();
        }
        catch (Exception error) when (IsFileError(error))
        {
            Fail(error);
        }
    }

    /// <summary>Writes what is buffered, forces it to disk unless the policy is <see cref="SpoolFsyncPolicy.Never"/>, saves the checkpoint and closes the files.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            if (_failed)
            {
                TryRecover(force: true);
            }

            if (!_failed)
            {
                CloseWriter(_fsync != SpoolFsyncPolicy.Never);
            }

            SaveCheckpoint();
        }
        catch (Exception error) when (IsFileError(error))
        {
            Fail(error);
            _report("spool-io", $"Kafka spool: could not write {_buffered} buffered bytes at shutdown ({error.Message}); those records are lost.");
        }

        _disposed = true;
        _writer?.Dispose();
        _writer = null;
        _reader?.Dispose();
        _reader = null;
    }

    private void Recover()
    {
        _startCheckpoint = LoadCheckpoint();
        _checkpoint = _startCheckpoint;
        var files = new List<(ulong Id, string Path)>();
        foreach (var path in System.IO.Directory.EnumerateFiles(_directory, "*" + Extension))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (name.Length == 20 && ulong.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                files.Add((id, path));
            }
        }

        files.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        var lastId = _startCheckpoint.Segment;
        foreach (var (id, path) in files)
        {
            lastId = Math.Max(lastId, id);
            if (id < _startCheckpoint.Segment)
            {
                // The checkpoint is past this whole segment: it was delivered, only its deletion was lost.
                File.Delete(path);
                continue;
            }

            var segment = Scan(id, path);
            if (segment is null)
            {
                continue;
            }

            if (segment.Completed == segment.Records)
            {
                File.Delete(path);
                continue;
            }

            _segments.Add(segment);
            Bytes += segment.Length;
            PendingRecords += segment.Records - segment.Completed;
            UnreadRecords += segment.Records - segment.Read;
        }

        RecoveredRecords = PendingRecords;
        _nextId = lastId + 1;
        _readSegment = _segments.Count > 0 ? _segments[0].Id : _nextId;
    }

    /// <summary>Validates one segment record by record and truncates it at the first bad record.</summary>
    private Segment? Scan(ulong id, string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, bufferSize: BufferSize);
        var length = file.Length;
        Span<byte> magic = stackalloc byte[FileHeaderLength];
        if (length < FileHeaderLength || file.ReadAtLeast(magic, FileHeaderLength, throwOnEndOfStream: false) < FileHeaderLength || !magic.SequenceEqual(Magic))
        {
            file.Dispose();
            if (length <= FileHeaderLength)
            {
                // A segment whose creation was cut short holds no record.
                File.Delete(path);
                return null;
            }

            var aside = path + ".bad";
            File.Move(path, aside, overwrite: true);
            _report("spool-corrupt", $"Kafka spool: {path} is not a spool segment (bad header); moved aside to {aside}.");
            return null;
        }

        var segment = new Segment(id, path) { Sealed = true };
        var checkpointOffset = id == _startCheckpoint.Segment ? _startCheckpoint.Offset : FileHeaderLength;
        var checkpointMatched = checkpointOffset == FileHeaderLength;
        long offset = FileHeaderLength;
        var header = new byte[RecordHeaderLength];
        var body = new byte[MaxBodyLength];
        string? problem = null;
        while (offset < length)
        {
            if (length - offset < RecordHeaderLength)
            {
                problem = "a record header cut short";
                break;
            }

            file.ReadExactly(header);
            var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (bodyLength is < 2 or > MaxBodyLength)
            {
                problem = "an invalid record length";
                break;
            }

            if (length - offset - RecordHeaderLength < bodyLength)
            {
                problem = "a record cut short";
                break;
            }

            var span = body.AsSpan(0, (int)bodyLength);
            file.ReadExactly(span);
            if (Crc32C.Compute(span) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4))
                || BinaryPrimitives.ReadUInt16LittleEndian(span) > bodyLength - 2)
            {
                problem = "a checksum mismatch";
                break;
            }

            offset += RecordHeaderLength + bodyLength;
            segment.Records++;
            if (offset <= checkpointOffset)
            {
                segment.Read++;
                segment.Completed++;
                checkpointMatched |= offset == checkpointOffset;
            }
        }

        if (problem is not null)
        {
            file.SetLength(offset);
            TruncatedBytes += length - offset;
            _report("spool-truncated", string.Create(CultureInfo.InvariantCulture,
                $"Kafka spool: {path} ends in {problem} at offset {offset}; truncated {length - offset} bytes there (a write cut short by a crash, or a damaged disk)."));
        }

        if (!checkpointMatched)
        {
            // The checkpoint is not at a record boundary of this segment: trust the segment, replay it all.
            segment.Read = 0;
            segment.Completed = 0;
        }

        segment.Length = offset;
        segment.DrainedLength = offset;
        segment.StartOffset = checkpointMatched ? checkpointOffset : FileHeaderLength;
        return segment;
    }

    private bool TryParse(Segment segment, long available, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        key = default;
        value = default;
        string? problem = null;
        if (available < RecordHeaderLength)
        {
            problem = "a record header cut short";
        }
        else
        {
            var header = Buffered(_readOffset, RecordHeaderLength);
            var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            if (bodyLength is < 2 or > MaxBodyLength || available - RecordHeaderLength < bodyLength)
            {
                problem = "an invalid record length";
            }
            else
            {
                var body = Buffered(_readOffset + RecordHeaderLength, (int)bodyLength);
                var keyLength = BinaryPrimitives.ReadUInt16LittleEndian(body);
                if (Crc32C.Compute(body) != crc || keyLength > bodyLength - 2)
                {
                    problem = "a checksum mismatch";
                }
                else
                {
                    key = body.Slice(2, keyLength);
                    value = body[(2 + keyLength)..];
                    _readOffset += RecordHeaderLength + bodyLength;
                    return true;
                }
            }
        }

        // Damage after the segment was checked when opened (the disk): the rest of the segment is lost.
        var lost = segment.Records - segment.Read;
        _report("spool-corrupt", string.Create(CultureInfo.InvariantCulture,
            $"Kafka spool: segment {segment.Path} has {problem} at offset {_readOffset}; its remaining {lost} records are skipped."));
        DroppedRecords += lost;
        UnreadRecords -= lost;
        PendingRecords -= lost;
        segment.Records = segment.Read;
        _readOffset = segment.DrainedLength;
        if (segment == _active)
        {
            CloseWriter(flushToDisk: false);
        }

        return false;
    }

    /// <summary>The file's bytes [offset, offset + count), from the read buffer, refilled when needed.</summary>
    private ReadOnlySpan<byte> Buffered(long offset, int count)
    {
        if (offset < _readBufferStart || offset + count > _readBufferStart + _readBufferLength)
        {
            _reader!.Position = offset;
            _readBufferStart = offset;
            _readBufferLength = _reader.ReadAtLeast(_readBuffer, count, throwOnEndOfStream: true);
        }

        return _readBuffer.AsSpan((int)(offset - _readBufferStart), count);
    }

    private void OpenReader(Segment segment)
    {
        _reader?.Dispose();
        _reader = null;
        _reader = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        if (segment.Id != _readerSegment)
        {
            _readerSegment = segment.Id;
            _readSegment = segment.Id;
            _readOffset = segment.StartOffset;
        }

        _readBufferStart = 0;
        _readBufferLength = 0;
    }

    private void FinishReading(Segment segment)
    {
        _reader?.Dispose();
        _reader = null;
        _readSegment = segment.Id + 1;
        DeleteDelivered();
    }

    /// <summary>Deletes the oldest segments while they are closed, read to their end and all delivered.</summary>
    private void DeleteDelivered()
    {
        while (_segments.Count > 0)
        {
            var oldest = _segments[0];
            if (!oldest.Sealed || oldest.Completed < oldest.Records)
            {
                return;
            }

            if (oldest.Id >= _readSegment)
            {
                // Read to its end but the reader has not moved on yet: move it on now.
                if (oldest.Read < oldest.Records || (oldest.Id == _readerSegment && _readOffset < oldest.DrainedLength))
                {
                    return;
                }

                FinishReadingQuietly(oldest);
            }

            Remove(oldest);
        }
    }

    private void FinishReadingQuietly(Segment segment)
    {
        if (_readerSegment == segment.Id)
        {
            _reader?.Dispose();
            _reader = null;
        }

        _readSegment = Math.Max(_readSegment, segment.Id + 1);
    }

    private void Remove(Segment segment)
    {
        try
        {
            File.Delete(segment.Path);
        }
        catch (Exception error) when (IsFileError(error))
        {
            _report("spool-io", $"Kafka spool: could not delete delivered segment {segment.Path} ({error.Message}).");
        }

        _segments.Remove(segment);
        Bytes -= segment.Length;
        if (_checkpoint.Segment == segment.Id)
        {
            // Everything in it is delivered: the next segment's start is just as good, and needs no file.
            _checkpoint = new SpoolPosition(segment.Id + 1, FileHeaderLength);
            _checkpointDirty = true;
        }
    }

    /// <summary>Drop-oldest: deletes the oldest closed segments, their unsent records counted as dropped, until <paramref name="needed"/> bytes fit.</summary>
    private bool MakeRoom(long needed)
    {
        if (_overflow != SpoolOverflowPolicy.DropOldest)
        {
            return false;
        }

        while (Bytes + needed > _maxBytes && _segments.Count > 0 && _segments[0] != _active)
        {
            var oldest = _segments[0];
            var unsent = oldest.Records - oldest.Read;
            DroppedRecords += unsent;
            UnreadRecords -= unsent;
            PendingRecords -= oldest.Records - oldest.Completed;
            _report("spool-full", string.Create(CultureInfo.InvariantCulture,
                $"Kafka spool full ({Bytes} of {_maxBytes} bytes): dropped the oldest segment, {unsent} unsent records ({DroppedRecords} records dropped so far)."));
            if (oldest.Id >= _readSegment)
            {
                FinishReadingQuietly(oldest);
            }

            Remove(oldest);
        }

        return Bytes + needed <= _maxBytes;
    }

    private void Roll()
    {
        if (_active is not null)
        {
            CloseWriter(_fsync != SpoolFsyncPolicy.Never);
        }

        var id = _nextId++;
        var path = Path.Combine(_directory, id.ToString("D20", CultureInfo.InvariantCulture) + Extension);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            // The spool's own buffer batches writes; a second buffer in FileStream would only copy.
            BufferSize = 0,
        };
        var writer = new FileStream(path, options);
        try
        {
            writer.Write(Magic);
        }
        catch
        {
            writer.Dispose();
            File.Delete(path);
            throw;
        }

        _writer = writer;
        _active = new Segment(id, path) { Length = FileHeaderLength, DrainedLength = FileHeaderLength, StartOffset = FileHeaderLength };
        _segments.Add(_active);
        Bytes += FileHeaderLength;
        _unsynced = true;
    }

    private void CloseWriter(bool flushToDisk)
    {
        Drain();
        if (flushToDisk && _writer is not null && _unsynced)
        {
            _writer.Flush(flushToDisk: true);
            Fsyncs++;
        }

        _writer?.Dispose();
        _writer = null;
        _unsynced = false;
        if (_active is not null)
        {
            _active.Sealed = true;
            _active = null;
        }
    }

    private void Drain()
    {
        if (_buffered == 0 || _writer is null || _active is null)
        {
            return;
        }

        try
        {
            _writer.Write(_writeBuffer, 0, _buffered);
        }
        catch (Exception error) when (IsFileError(error))
        {
            // A write cut short (disk full) may have left part of a record: cut back to the last whole
            // one so that the kept buffer can be written again after recovery without a torn record.
            try
            {
                _writer.SetLength(_active.DrainedLength);
            }
            catch (Exception truncation) when (IsFileError(truncation))
            {
                // Opening the spool again truncates a torn tail anyway.
            }

            throw;
        }

        _active.DrainedLength += _buffered;
        _buffered = 0;
        _unsynced = true;
    }

    private void Fail(Exception error)
    {
        if (!_failed)
        {
            _report("spool-io", $"Kafka spool: cannot write to {_directory} ({error.Message}); records that do not fit in memory are dropped until it works again.");
        }

        _failed = true;
        _failedAt = Environment.TickCount64;
        LastError = error.Message;
    }

    private bool TryRecover(bool force = false)
    {
        if (!force && Environment.TickCount64 - _failedAt < RetryMilliseconds)
        {
            return false;
        }

        try
        {
            if (_writer is null && _buffered > 0 && _active is not null)
            {
                _writer = new FileStream(_active.Path, FileMode.Append, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
            }

            Drain();
        }
        catch (Exception error) when (IsFileError(error))
        {
            _failedAt = Environment.TickCount64;
            LastError = error.Message;
            return false;
        }

        _failed = false;
        LastError = null;
        return true;
    }

    private SpoolPosition LoadCheckpoint()
    {
        var path = Path.Combine(_directory, CheckpointName);
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length == CheckpointLength
                && Crc32C.Compute(bytes.AsSpan(0, 16)) == BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)))
            {
                return new SpoolPosition(BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)));
            }

            _report("spool-corrupt", $"Kafka spool: {path} is damaged; the spool is replayed from its oldest segment.");
        }
        catch (FileNotFoundException)
        {
            // A new spool.
        }

        return default;
    }

    private void SaveCheckpoint()
    {
        if (!_checkpointDirty)
        {
            return;
        }

        var bytes = new byte[CheckpointLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, _checkpoint.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), _checkpoint.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), Crc32C.Compute(bytes.AsSpan(0, 16)));
        var path = Path.Combine(_directory, CheckpointName);
        var temporary = path + ".tmp";

        // Written aside and renamed over, so the checkpoint is always the old or the new one, never torn.
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
        _checkpointDirty = false;
    }

    private Segment? Find(ulong id)
    {
        foreach (var segment in _segments)
        {
            if (segment.Id == id)
            {
                return segment;
            }
        }

        return null;
    }

    private Segment? FirstFrom(ulong id)
    {
        foreach (var segment in _segments)
        {
            if (segment.Id >= id)
            {
                return segment;
            }
        }

        return null;
    }

    private static bool IsFileError(Exception error) => error is IOException or UnauthorizedAccessException;

    private sealed class Segment(ulong id, string path)
    {
        public ulong Id { get; } = id;
        public string Path { get; } = path;

        /// <summary>Bytes of the segment, appends still in the write buffer included.</summary>
        public long Length { get; set; }

        /// <summary>Bytes in the file itself (what the reader can read).</summary>
        public long DrainedLength { get; set; }

        /// <summary>Where reading starts: the checkpoint within the segment, or just past the file header.</summary>
        public long StartOffset { get; set; }

        public long Records { get; set; }
        public long Read { get; set; }
        public long Completed { get; set; }
        public bool Sealed { get; set; }
    }
}
