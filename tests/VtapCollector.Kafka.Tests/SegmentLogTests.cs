using System.Text;
using VtapCollector.Export.Storage;

namespace VtapCollector.Kafka.Tests;

public sealed class SegmentLogTests
{
    private const long SegmentBytes = 64 * 1024;

    [Fact]
    public void Crc32C_MatchesTheCastagnoliCheckValueAndABitwiseReference()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        var random = new Random(7);
        for (var length = 0; length < 100; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(BitwiseCrc32C(data), Crc32C.Compute(data));
        }
    }

    [Fact]
    public void Records_AreReadBackInWriteOrder_AcrossSegments()
    {
        using var directory = new TempDirectory();
        using var spool = Open(directory);
        var written = Append(spool, 2_000);
        Assert.True(spool.SegmentCount > 5, $"{spool.SegmentCount} segments");
        Assert.Equal(written, ReadAll(spool).Select(r => r.Value).ToList());
        Assert.Equal(0, spool.UnreadRecords);
        Assert.Equal(2_000, spool.PendingRecords);
    }

    [Fact]
    public void SegmentsWhoseRecordsAreAllDelivered_AreDeleted_AndTheSpoolEmpties()
    {
        using var directory = new TempDirectory();
        using var spool = Open(directory);
        Append(spool, 2_000);
        var read = ReadAll(spool);
        foreach (var (_, end) in read.Take(1_000))
        {
            spool.Complete(end);
        }

        var half = directory.Segments().Length;
        Assert.True(half < spool.SegmentCount + 1 && half > 1, $"{half} segments left after half");
        foreach (var (_, end) in read.Skip(1_000))
        {
            spool.Complete(end);
        }

        spool.SealActive();
        Assert.Equal(0, spool.SegmentCount);
        Assert.Equal(0, spool.Bytes);
        Assert.Equal(0, spool.PendingRecords);
        Assert.Empty(directory.Segments());
    }

    [Fact]
    public void Reopening_ResumesAfterTheCheckpoint_WithoutRepeatingDeliveredRecords()
    {
        using var directory = new TempDirectory();
        List<string> written;
        using (var spool = Open(directory))
        {
            written = Append(spool, 1_000);
            foreach (var (_, end) in ReadAll(spool).Take(600))
            {
                spool.Complete(end);
            }
        }

        using var reopened = Open(directory);
        Assert.Equal(400, reopened.RecoveredRecords);
        Assert.Equal(written.Skip(600).ToList(), ReadAll(reopened).Select(r => r.Value).ToList());
    }

    [Fact]
    public void CrashBeforeTheCheckpointIsSaved_ReplaysDeliveredRecordsAgain_AtLeastOnceNeverLost()
    {
        using var directory = new TempDirectory();
        var spool = Open(directory);
        var written = Append(spool, 500);
        spool.Sync();
        foreach (var (_, end) in ReadAll(spool).Take(300))
        {
            spool.Complete(end);
        }

        // A crash: the process ends without Sync or Dispose, so no checkpoint was saved. Segments wholly
        // delivered are already gone; the partly delivered one is replayed from its start.
        using var reopened = Open(directory);
        var replayed = ReadAll(reopened).Select(r => r.Value).ToList();
        var first = written.IndexOf(replayed[0]);
        Assert.InRange(first, 1, 299);
        Assert.Equal(written.Skip(first).ToList(), replayed);
        spool.Dispose();
    }

    [Fact]
    public void TornTailAfterACrash_IsTruncatedAndReported_EarlierRecordsSurviveAndAppendsContinue()
    {
        using var directory = new TempDirectory();
        List<string> written;
        using (var spool = Open(directory))
        {
            written = Append(spool, 100);
        }

        var segment = directory.Segments().Single();
        var length = new FileInfo(segment).Length;
        using (var file = new FileStream(segment, FileMode.Open))
        {
            // The last record's write was cut short by the crash.
            file.SetLength(length - 10);
        }

        var reports = new List<(string Cause, string Message)>();
        using var reopened = Open(directory, report: (cause, message) => reports.Add((cause, message)));
        Assert.Equal(99, reopened.RecoveredRecords);
        Assert.Equal(RecordLength(written[99]) - 10, reopened.TruncatedBytes);
        var (cause, message) = Assert.Single(reports);
        Assert.Equal("spool-truncated", cause);
        Assert.Contains("cut short", message, StringComparison.Ordinal);

        Assert.Equal(LogAppendResult.Appended, reopened.Append("key"u8, "after the crash"u8));
        Assert.Equal([.. written.Take(99), "after the crash"], ReadAll(reopened).Select(r => r.Value).ToList());
    }

    [Fact]
    public void DamagedRecord_FailsItsChecksum_AndTheSegmentIsTruncatedThere()
    {
        using var directory = new TempDirectory();
        List<string> written;
        using (var spool = Open(directory))
        {
            written = Append(spool, 100);
        }

        var segment = directory.Segments().Single();
        var offset = SegmentLog.FileHeaderLength + written.Take(50).Sum(RecordLength) + SegmentLog.RecordHeaderLength + 20;
        using (var file = new FileStream(segment, FileMode.Open))
        {
            file.Position = offset;
            var value = file.ReadByte();
            file.Position = offset;
            file.WriteByte((byte)(value ^ 0x01));
        }

        var reports = new List<string>();
        using var reopened = Open(directory, report: (_, message) => reports.Add(message));
        Assert.Equal(50, reopened.RecoveredRecords);
        Assert.Contains("checksum mismatch", Assert.Single(reports), StringComparison.Ordinal);
        Assert.Equal(written.Take(50).ToList(), ReadAll(reopened).Select(r => r.Value).ToList());
    }

    [Fact]
    public void FullSpoolWithDropNewest_RefusesNewRecords_AndKeepsWhatItHolds()
    {
        using var directory = new TempDirectory();
        using var spool = Open(directory, maxBytes: 2 * SegmentBytes);
        var results = Enumerable.Range(0, 1_000).Select(i => spool.Append("key"u8, Encoding.UTF8.GetBytes(Value(i)))).ToList();
        var kept = results.Count(r => r == LogAppendResult.Appended);
        Assert.True(kept < 1_000);
        Assert.All(results.Skip(kept), r => Assert.Equal(LogAppendResult.Full, r));
        Assert.Equal(1_000 - kept, spool.DroppedRecords);
        Assert.True(spool.Bytes <= 2 * SegmentBytes);
        Assert.Equal(Enumerable.Range(0, kept).Select(Value).ToList(), ReadAll(spool).Select(r => r.Value).ToList());
    }

    [Fact]
    public void FullSpoolWithDropOldest_DeletesTheOldestSegment_CountsItsUnsentRecords_AndKeepsTheNewest()
    {
        using var directory = new TempDirectory();
        var reports = new List<string>();
        using var spool = Open(directory, maxBytes: 3 * SegmentBytes, overflow: LogOverflowPolicy.DropOldest, report: (_, m) => reports.Add(m));
        for (var i = 0; i < 2_000; i++)
        {
            Assert.Equal(LogAppendResult.Appended, spool.Append("key"u8, Encoding.UTF8.GetBytes(Value(i))));
        }

        Assert.True(spool.DroppedRecords > 0);
        Assert.True(spool.Bytes <= 3 * SegmentBytes);
        Assert.NotEmpty(reports);
        var left = ReadAll(spool).Select(r => r.Value).ToList();
        Assert.Equal(2_000 - spool.DroppedRecords, left.Count);
        Assert.Equal(Enumerable.Range((int)spool.DroppedRecords, left.Count).Select(Value).ToList(), left);
    }

    [Fact]
    public void FlushedAppends_SurviveTheProcessEndingWithoutDispose_ThoseAfterTheLastFlushDoNot()
    {
        using var directory = new TempDirectory();
        var crashed = Open(directory);
        var written = Append(crashed, 300);
        Assert.True(crashed.Flush());

        // Still in the log's buffer (far below its 256 KiB) when the process dies.
        Append(crashed, 5);

        // kill -9: no Sync, no Dispose. What Flush wrote is in the file, whole.
        using var reopened = Open(directory);
        Assert.Equal(300, reopened.RecoveredRecords);
        Assert.Equal(0, reopened.TruncatedSegments);
        Assert.Equal(written, ReadAll(reopened).Select(r => r.Value).ToList());
        crashed.Dispose();
    }

    [Fact]
    public void UnreadBytes_FollowAppendsAndReads_AndCheckpointedRecordsFollowTheSavedCheckpoint()
    {
        using var directory = new TempDirectory();
        using var log = Open(directory);
        var written = Append(log, 100);
        Assert.Equal(written.Sum(RecordLength), log.UnreadBytes);
        Assert.Equal(log.AppendedBytes, log.UnreadBytes);

        var read = ReadAll(log);
        Assert.Equal(0, log.UnreadBytes);
        foreach (var (_, end) in read.Take(40))
        {
            log.Complete(end);
        }

        Assert.Equal(40, log.ConsumedRecords);
        Assert.Equal(0, log.CheckpointedRecords);
        log.Sync();
        Assert.Equal(40, log.CheckpointedRecords);

        using var reopened = Open(directory);
        Assert.Equal(60, reopened.RecoveredRecords);
        Assert.Equal(written.Skip(40).Sum(RecordLength), reopened.UnreadBytes);
    }

    [Fact]
    public void Sync_WithEverySync_HandsOutTheSegmentToForceToDiskOutsideTheOwnersLock()
    {
        using var directory = new TempDirectory();
        using var log = Open(directory);
        Append(log, 10);
        var handle = log.Sync();
        Assert.NotNull(handle);
        Assert.Null(SegmentLog.ForceToDisk(handle));
        Assert.Equal(1, log.Fsyncs);

        // Nothing written since: nothing to force.
        Assert.Null(log.Sync());
    }

    [Fact]
    public void DamageAfterOpening_SkipsTheRestOfItsSegment_CountsAndReportsIt_AndAppendsContinue()
    {
        using var directory = new TempDirectory();
        var reports = new List<string>();
        using var log = Open(directory, report: (cause, _) => reports.Add(cause));
        var written = Append(log, 100);
        Assert.True(log.Flush());

        var offset = SegmentLog.FileHeaderLength + written.Take(50).Sum(RecordLength) + SegmentLog.RecordHeaderLength + 20;
        using (var file = new FileStream(directory.Segments().Single(), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            file.Position = offset;
            var value = file.ReadByte();
            file.Position = offset;
            file.WriteByte((byte)(value ^ 0x01));
        }

        Assert.Equal(written.Take(50).ToList(), ReadAll(log).Select(r => r.Value).ToList());
        Assert.Equal(50, log.DroppedRecords);
        Assert.Equal(0, log.UnreadRecords);
        Assert.Equal(0, log.UnreadBytes);
        Assert.Equal("spool-corrupt", Assert.Single(reports));

        Assert.Equal(LogAppendResult.Appended, log.Append("key"u8, "after the damage"u8));
        Assert.Equal(["after the damage"], ReadAll(log).Select(r => r.Value).ToList());
    }

    [Fact]
    public void TornTail_IsCountedAsATruncatedSegment()
    {
        using var directory = new TempDirectory();
        using (var log = Open(directory))
        {
            Append(log, 20);
        }

        var segment = directory.Segments().Single();
        using (var file = new FileStream(segment, FileMode.Open))
        {
            file.SetLength(file.Length - 3);
        }

        using var reopened = Open(directory);
        Assert.Equal(1, reopened.TruncatedSegments);
        Assert.Equal(19, reopened.RecoveredRecords);
    }

    private static SegmentLog Open(TempDirectory directory, long maxBytes = 1024 * SegmentBytes, LogOverflowPolicy overflow = LogOverflowPolicy.DropNewest, Action<string, string>? report = null) =>
        new(new SegmentLogOptions(directory.Path, maxBytes, SegmentBytes, LogFsyncPolicy.EverySync, overflow, TimeSpan.FromSeconds(5)), report);

    private static string Value(int i) => $"{{\"record\":{i},\"padding\":\"{new string('x', 200 + (i % 50))}\"}}";

    private static int RecordLength(string value) => SegmentLog.RecordHeaderLength + 2 + "key".Length + Encoding.UTF8.GetByteCount(value);

    private static List<string> Append(SegmentLog spool, int count)
    {
        var values = Enumerable.Range(0, count).Select(Value).ToList();
        foreach (var value in values)
        {
            Assert.Equal(LogAppendResult.Appended, spool.Append("key"u8, Encoding.UTF8.GetBytes(value)));
        }

        return values;
    }

    private static List<(string Value, LogPosition End)> ReadAll(SegmentLog spool)
    {
        var read = new List<(string, LogPosition)>();
        while (spool.TryRead(out var key, out var value, out var end))
        {
            Assert.True(key.SequenceEqual("key"u8));
            read.Add((Encoding.UTF8.GetString(value), end));
        }

        return read;
    }

    private static uint BitwiseCrc32C(byte[] data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}
