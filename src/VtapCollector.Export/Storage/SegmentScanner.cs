using System.Buffers.Binary;
using System.Globalization;

namespace VtapCollector.Export.Storage;

/// <summary>What opening a segment found: the segment (null if it held nothing usable) and the bytes cut from it.</summary>
internal readonly record struct SegmentScan(LogSegment? Segment, long TruncatedBytes);

/// <summary>
/// Validates a <see cref="SegmentLog"/> segment record by record when the log is opened, and truncates it
/// at the first record that is cut short or fails its checksum (a write torn by a crash or a power
/// loss, a damaged disk), so that appends can continue behind whole records.
/// </summary>
internal static class SegmentScanner
{
    /// <summary>Scans the segment <paramref name="id"/> at <paramref name="path"/>; records ending at or before <paramref name="checkpointOffset"/> count as consumed.</summary>
    public static SegmentScan Scan(ulong id, string path, long checkpointOffset, string name, Action<string, string> report)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, bufferSize: SegmentLog.BufferSize);
        var length = file.Length;
        Span<byte> magic = stackalloc byte[SegmentLog.FileHeaderLength];
        if (length < SegmentLog.FileHeaderLength
            || file.ReadAtLeast(magic, SegmentLog.FileHeaderLength, throwOnEndOfStream: false) < SegmentLog.FileHeaderLength
            || !magic.SequenceEqual(SegmentLog.Magic))
        {
            file.Dispose();
            if (length <= SegmentLog.FileHeaderLength)
            {
                // A segment whose creation was cut short holds no record.
                File.Delete(path);
                return default;
            }

            var aside = path + ".bad";
            File.Move(path, aside, overwrite: true);
            report("spool-corrupt", $"{name}: {path} is not a segment (bad header); moved aside to {aside}.");
            return new SegmentScan(null, length);
        }

        var segment = new LogSegment(id, path) { Sealed = true };
        var checkpointMatched = checkpointOffset == SegmentLog.FileHeaderLength;
        long offset = SegmentLog.FileHeaderLength;
        var header = new byte[SegmentLog.RecordHeaderLength];
        var body = new byte[SegmentLog.MaxBodyLength];
        string? problem = null;
        while (offset < length)
        {
            if (length - offset < SegmentLog.RecordHeaderLength)
            {
                problem = "a record header cut short";
                break;
            }

            file.ReadExactly(header);
            var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (bodyLength is < 2 or > SegmentLog.MaxBodyLength)
            {
                problem = "an invalid record length";
                break;
            }

            if (length - offset - SegmentLog.RecordHeaderLength < bodyLength)
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

            offset += SegmentLog.RecordHeaderLength + bodyLength;
            segment.Records++;
            if (offset <= checkpointOffset)
            {
                segment.Read++;
                segment.Completed++;
                checkpointMatched |= offset == checkpointOffset;
            }
        }

        var truncated = 0L;
        if (problem is not null)
        {
            file.SetLength(offset);
            truncated = length - offset;
            report("spool-truncated", string.Create(CultureInfo.InvariantCulture,
                $"{name}: {path} ends in {problem} at offset {offset}; truncated {truncated} bytes there (a write cut short by a crash, or a damaged disk)."));
        }

        if (!checkpointMatched)
        {
            // The checkpoint is not at a record boundary of this segment: trust the segment, replay it all.
            segment.Read = 0;
            segment.Completed = 0;
        }

        segment.Length = offset;
        segment.DrainedLength = offset;
        segment.StartOffset = checkpointMatched ? checkpointOffset : SegmentLog.FileHeaderLength;
        return new SegmentScan(segment, truncated);
    }
}
