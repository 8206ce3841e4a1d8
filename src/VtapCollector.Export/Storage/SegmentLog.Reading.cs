using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace VtapCollector.Export.Storage;

/// <summary>The reading side of <see cref="SegmentLog"/>: recovery at start, the checkpoint, reading in order, and deleting what was consumed.</summary>
public sealed partial class SegmentLog
{
    /// <summary>
    /// Hands out the oldest record not yet read, in write order; <paramref name="key"/> and
    /// <paramref name="value"/> point into the log's read buffer, valid until its next call. Returns
    /// false when every record has been read (or the files cannot be read; <see cref="LastError"/> then says why).
    /// </summary>
    public bool TryRead(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out LogPosition end)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        key = default;
        value = default;
        end = default;
        try
        {
            while (true)
            {
                var segment = FirstFrom(_cursor.Next);
                if (segment is null)
                {
                    return false;
                }

                if (!_cursor.IsOn(segment))
                {
                    _cursor.Open(segment);
                }

                var available = segment.DrainedLength - _cursor.Offset;
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

                if (!_cursor.TryParse(available, out key, out value, out var problem))
                {
                    SkipDamaged(segment, problem!);
                    continue;
                }

                segment.Read++;
                UnreadRecords--;
                UnreadBytes -= RecordHeaderLength + 2 + key.Length + value.Length;
                ReadRecords++;
                end = new LogPosition(segment.Id, _cursor.Offset);
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
    /// Marks the record ending at <paramref name="end"/> consumed. Calls must come in read order (the
    /// owner completes records in the order it read them), so the position is also the checkpoint.
    /// A record of a segment already dropped is ignored.
    /// </summary>
    public void Complete(LogPosition end)
    {
        var segment = Find(end.Segment);
        if (segment is null)
        {
            return;
        }

        segment.Completed++;
        PendingRecords--;
        _consumedRecords++;
        _checkpoint = end;
        _checkpointDirty = true;
        DeleteDelivered();
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

            var scan = SegmentScanner.Scan(id, path, id == _startCheckpoint.Segment ? _startCheckpoint.Offset : FileHeaderLength, _name, _report);
            TruncatedBytes += scan.TruncatedBytes;
            TruncatedSegments += scan.TruncatedBytes > 0 ? 1 : 0;
            if (scan.Segment is not { } segment)
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
            UnreadBytes += segment.Length - segment.StartOffset;
        }

        RecoveredRecords = PendingRecords;
        _nextId = lastId + 1;
        _cursor.Next = _segments.Count > 0 ? _segments[0].Id : _nextId;
    }

    /// <summary>Damage found after the segment was checked when opened (the disk): the rest of the segment is lost, counted and reported.</summary>
    private void SkipDamaged(LogSegment segment, string problem)
    {
        var lost = segment.Records - segment.Read;
        _report("spool-corrupt", string.Create(CultureInfo.InvariantCulture,
            $"{_name}: segment {segment.Path} has {problem} at offset {_cursor.Offset}; its remaining {lost} records are skipped."));
        DroppedRecords += lost;
        UnreadRecords -= lost;
        UnreadBytes -= segment.Length - _cursor.Offset;
        PendingRecords -= lost;
        segment.Records = segment.Read;
        _cursor.Offset = segment.DrainedLength;
        if (segment == _active)
        {
            CloseWriter(flushToDisk: false);
        }
    }

    private void FinishReading(LogSegment segment)
    {
        _cursor.Close();
        _cursor.Next = segment.Id + 1;
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

            if (oldest.Id >= _cursor.Next)
            {
                // Read to its end but the reader has not moved on yet: move it on now.
                if (oldest.Read < oldest.Records || (oldest.Id == _cursor.Segment && _cursor.Offset < oldest.DrainedLength))
                {
                    return;
                }

                FinishReadingQuietly(oldest);
            }

            Remove(oldest);
        }
    }

    private void FinishReadingQuietly(LogSegment segment)
    {
        if (_cursor.Segment == segment.Id)
        {
            _cursor.Close();
        }

        _cursor.Next = Math.Max(_cursor.Next, segment.Id + 1);
    }

    private void Remove(LogSegment segment)
    {
        try
        {
            File.Delete(segment.Path);
        }
        catch (Exception error) when (IsFileError(error))
        {
            _report("spool-io", $"{_name}: could not delete consumed segment {segment.Path} ({error.Message}).");
        }

        _segments.Remove(segment);
        Bytes -= segment.Length;
        if (_checkpoint.Segment == segment.Id)
        {
            // Everything in it is delivered: the next segment's start is just as good, and needs no file.
            _checkpoint = new LogPosition(segment.Id + 1, FileHeaderLength);
            _checkpointDirty = true;
        }
    }

    private LogPosition LoadCheckpoint()
    {
        var (checkpoint, damaged) = LogCheckpointFile.Load(_directory);
        if (damaged)
        {
            _report("spool-corrupt", $"{_name}: {Path.Combine(_directory, LogCheckpointFile.Name)} is damaged; the log is read again from its oldest segment.");
        }

        return checkpoint;
    }

    private void SaveCheckpoint()
    {
        if (!_checkpointDirty)
        {
            return;
        }

        LogCheckpointFile.Save(_directory, _checkpoint);
        _checkpointDirty = false;
        CheckpointedRecords = _consumedRecords;
    }

    private LogSegment? Find(ulong id)
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

    private LogSegment? FirstFrom(ulong id)
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

    /// <summary>Bytes of <paramref name="segment"/>'s records not yet read.</summary>
    private long UnreadBytesOf(LogSegment segment) =>
        _cursor.IsOn(segment) ? segment.Length - _cursor.Offset
        : segment.Id >= _cursor.Next ? segment.Length - segment.StartOffset
        : 0;
}
