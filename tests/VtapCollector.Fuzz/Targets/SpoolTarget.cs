using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using VtapCollector.Export.Storage;

namespace VtapCollector.Fuzz.Targets;

/// <summary>
/// The Kafka spool's recovery (its <see cref="SegmentLog"/>): the input becomes one or two segment files (after their magic) and
/// optionally a checkpoint; the spool is opened, read to its end, every record completed, closed and
/// opened again. Every whole record after the checkpoint must come out exactly once, and nothing may
/// be left to replay on the second opening.
/// </summary>
/// <remarks>
/// Input layout: byte 0 flags (bit 0: write a checkpoint; bit 1: give it a wrong CRC; bit 2: fix
/// every record's CRC-32C before writing, so mutations get past the checksum to the lengths behind
/// it; bit 3: two segments), byte 1 the checkpoint's segment id (0 to 3; the segments are ids 1
/// and 2), bytes 2-3 its offset, bytes 4-5 where the records are split between the two segments
/// (both little-endian), then the records.
/// </remarks>
internal sealed class SpoolTarget : IFuzzTarget
{
    private const int HeaderLength = 6;
    private const int MaxBodyLength = 2 + SegmentLog.MaxKeyBytes + SegmentLog.MaxValueBytes;

    private readonly string _directory = Scratch.File("spool");

    public string Name => "spool";

    public IReadOnlyList<string> Instrument => ["VtapCollector.Export.dll VtapCollector.Export.Storage"];

    public IEnumerable<string>? Dictionary => null;

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < HeaderLength)
        {
            return;
        }

        var flags = input[0];
        var records = input[HeaderLength..];
        var split = (flags & 8) != 0 ? Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(input[4..]), records.Length) : records.Length;
        byte[][] segments = split < records.Length ? [records[..split].ToArray(), records[split..].ToArray()] : [records.ToArray()];
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        Directory.CreateDirectory(_directory);
        for (var i = 0; i < segments.Length; i++)
        {
            if ((flags & 4) != 0)
            {
                FixChecksums(segments[i]);
            }

            File.WriteAllBytes(
                Path.Combine(_directory, (i + 1).ToString("D20", CultureInfo.InvariantCulture) + ".spool"),
                [.. "VTKSPL01"u8, .. segments[i]]);
        }

        var checkpoint = new LogPosition(0, 0);
        if ((flags & 1) != 0)
        {
            var written = new LogPosition((ulong)(input[1] % 4), BinaryPrimitives.ReadUInt16LittleEndian(input[2..]));
            WriteCheckpoint(written, corrupt: (flags & 2) != 0);
            checkpoint = (flags & 2) != 0 ? checkpoint : written;
        }

        var expected = 0L;
        for (var i = 0; i < segments.Length; i++)
        {
            expected += ExpectedRecords((ulong)(i + 1), segments[i], checkpoint);
        }

        var reports = new List<string>();
        using (var spool = Open(reports))
        {
            var read = 0L;
            while (spool.TryRead(out _, out _, out var end))
            {
                if (++read > expected)
                {
                    throw new InvalidOperationException($"The spool handed out more than the {expected} records after the checkpoint. {Describe(spool, reports)}");
                }

                spool.Complete(end);
            }

            if (read != expected || spool.RecoveredRecords != expected || spool.PendingRecords != 0 || spool.UnreadRecords != 0 || spool.LastError is not null)
            {
                throw new InvalidOperationException($"Read {read} of the {expected} records after the checkpoint. {Describe(spool, reports)}");
            }
        }

        using (var reopened = Open(reports))
        {
            if (reopened.RecoveredRecords != 0 || reopened.TryRead(out _, out _, out _))
            {
                throw new InvalidOperationException($"Opened again after every record was delivered, the spool still has {reopened.RecoveredRecords} to replay. {Describe(reopened, reports)}");
            }
        }
    }

    private SegmentLog Open(List<string> reports) => new(
        new SegmentLogOptions(_directory, MaxBytes: 1L << 30, SegmentBytes: 1L << 20, LogFsyncPolicy.Never, LogOverflowPolicy.DropNewest, TimeSpan.FromSeconds(5), "Fuzzed spool"),
        (_, text) => reports.Add(text));

    private static string Describe(SegmentLog spool, List<string> reports) => string.Create(
        CultureInfo.InvariantCulture,
        $"Recovered {spool.RecoveredRecords}, pending {spool.PendingRecords}, unread {spool.UnreadRecords}, truncated {spool.TruncatedBytes} bytes, error '{spool.LastError}'; reports: {string.Join(" | ", reports)}");

    /// <summary>
    /// The records segment <paramref name="id"/> owes, by the format of SegmentLog's remarks: whole
    /// records with a valid checksum and key length, up to the first one that is not, less those up
    /// to the checkpoint when the checkpoint is this segment's and falls on a record boundary; none
    /// when the checkpoint is past the segment.
    /// </summary>
    private static long ExpectedRecords(ulong id, byte[] records, LogPosition checkpoint)
    {
        if (checkpoint.Segment > id)
        {
            return 0;
        }

        var checkpointOffset = checkpoint.Segment == id ? checkpoint.Offset : SegmentLog.FileHeaderLength;
        var matched = checkpointOffset == SegmentLog.FileHeaderLength;
        long whole = 0;
        long delivered = 0;
        var offset = 0;
        while (records.Length - offset >= SegmentLog.RecordHeaderLength)
        {
            var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(records.AsSpan(offset));
            if (bodyLength is < 2 or > MaxBodyLength || records.Length - offset - SegmentLog.RecordHeaderLength < bodyLength)
            {
                break;
            }

            var body = records.AsSpan(offset + SegmentLog.RecordHeaderLength, (int)bodyLength);
            if (Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(records.AsSpan(offset + 4))
                || BinaryPrimitives.ReadUInt16LittleEndian(body) > bodyLength - 2)
            {
                break;
            }

            offset += SegmentLog.RecordHeaderLength + (int)bodyLength;
            whole++;
            if (SegmentLog.FileHeaderLength + offset <= checkpointOffset)
            {
                delivered++;
                matched |= SegmentLog.FileHeaderLength + offset == checkpointOffset;
            }
        }

        return matched ? whole - delivered : whole;
    }

    /// <summary>Rewrites each record's CRC-32C to match its body, as far as the lengths allow.</summary>
    private static void FixChecksums(byte[] records)
    {
        var offset = 0;
        while (records.Length - offset >= SegmentLog.RecordHeaderLength)
        {
            var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(records.AsSpan(offset));
            if (bodyLength > records.Length - offset - SegmentLog.RecordHeaderLength)
            {
                return;
            }

            var body = records.AsSpan(offset + SegmentLog.RecordHeaderLength, (int)bodyLength);
            BinaryPrimitives.WriteUInt32LittleEndian(records.AsSpan(offset + 4), Crc32C.Compute(body));
            offset += SegmentLog.RecordHeaderLength + (int)bodyLength;
        }
    }

    private void WriteCheckpoint(LogPosition position, bool corrupt)
    {
        var bytes = new byte[20];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, position.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), position.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), Crc32C.Compute(bytes.AsSpan(0, 16)) ^ (corrupt ? 1u : 0u));
        File.WriteAllBytes(Path.Combine(_directory, "checkpoint"), bytes);
    }

    public IEnumerable<Seed> Seeds(string repositoryRoot)
    {
        byte[] three = [.. Record("flow-1", "{\"src\":\"10.0.0.1\"}"), .. Record("", "{}"), .. Record("flow-3", "{\"bytes\":1500}")];
        var firstEnd = SegmentLog.FileHeaderLength + Record("flow-1", "{\"src\":\"10.0.0.1\"}").Length;
        yield return new Seed("three-records", [0, 0, 0, 0, 0, 0, .. three]);
        yield return new Seed("three-records-fixed", [4, 0, 0, 0, 0, 0, .. three]);
        yield return new Seed("checkpoint-after-first", [1, 1, (byte)firstEnd, (byte)(firstEnd >> 8), 0, 0, .. three]);
        yield return new Seed("checkpoint-mid-record", [1, 1, (byte)(firstEnd + 3), 0, 0, 0, .. three]);
        yield return new Seed("checkpoint-past-segment", [1, 2, 8, 0, 0, 0, .. three]);
        yield return new Seed("checkpoint-corrupt", [3, 1, (byte)firstEnd, (byte)(firstEnd >> 8), 0, 0, .. three]);
        yield return new Seed("torn-tail", [0, 0, 0, 0, 0, 0, .. three, .. Record("flow-4", "{\"cut\":true}").AsSpan(0, 11)]);
        byte[] bad = [.. three];
        bad[^1] ^= 0xFF;
        yield return new Seed("bad-checksum", [0, 0, 0, 0, 0, 0, .. bad]);
        yield return new Seed("empty", [0, 0, 0, 0, 0, 0]);

        // Two segments: split after the first record, the checkpoint in either or past both.
        var split = firstEnd - SegmentLog.FileHeaderLength;
        var secondEnd = SegmentLog.FileHeaderLength + Record("", "{}").Length;
        yield return new Seed("two-segments", [8, 0, 0, 0, (byte)split, (byte)(split >> 8), .. three]);
        yield return new Seed("two-segments-checkpoint-in-second", [9, 2, (byte)secondEnd, 0, (byte)split, (byte)(split >> 8), .. three]);
        yield return new Seed("two-segments-checkpoint-past-both", [9, 3, 8, 0, (byte)split, (byte)(split >> 8), .. three]);
        yield return new Seed("two-segments-first-torn", [8, 1, 0, 0, (byte)(split - 3), 0, .. three]);
    }

    private static byte[] Record(string key, string value)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var valueBytes = Encoding.UTF8.GetBytes(value);
        var record = new byte[SegmentLog.RecordHeaderLength + 2 + keyBytes.Length + valueBytes.Length];
        var body = record.AsSpan(SegmentLog.RecordHeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)keyBytes.Length);
        keyBytes.CopyTo(body[2..]);
        valueBytes.CopyTo(body[(2 + keyBytes.Length)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), Crc32C.Compute(body));
        return record;
    }
}
