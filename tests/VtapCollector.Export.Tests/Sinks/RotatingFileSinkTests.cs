using System.Runtime.Versioning;
using VtapCollector.Export.Sinks;
using static VtapCollector.Export.Tests.Sinks.SinkRecords;

namespace VtapCollector.Export.Tests.Sinks;

/// <summary>Linux only: the failure tests use /dev/full and file modes.</summary>
[SupportedOSPlatform("linux")]
public sealed class RotatingFileSinkTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly ManualTimeProvider _clock = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Constructor_MissingDirectory_CreatesItAndAnEmptyActiveFile()
    {
        var path = Path.Combine(_directory.Path, "a", "b", "flows.jsonl");
        using var sink = Sink(path);

        Assert.True(sink.IsHealthy);
        Assert.Equal("file", sink.Name);
        Assert.Equal(path, sink.CurrentPath);
        Assert.True(File.Exists(path));
        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public void Constructor_NewFile_GetsTheConfiguredPermissions()
    {
        const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        using var sink = Sink(Active, filePermissions: Mode);

        // The umask may take bits away, never add them.
        var mode = File.GetUnixFileMode(Active);
        Assert.Equal(UnixFileMode.None, mode & ~Mode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode & (UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsWithTheValidationSentence()
    {
        var options = new RotatingFileSinkOptions { Path = Active, MaxFileBytes = 4096, MaxTotalBytes = 1000 };

        var error = Assert.Throws<ArgumentException>(() => new RotatingFileSink(options, _clock));

        Assert.StartsWith(options.Validate()!, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_BuffersUntilFlush()
    {
        using var sink = Sink(Active);
        Assert.True(WriteTo(sink, Fixed(0)));
        Assert.True(WriteTo(sink, Fixed(1)));

        Assert.Equal(0, new FileInfo(Active).Length);
        Assert.Equal(0, sink.RecordsWritten);

        sink.Flush();

        Assert.Equal([0U, 1U], Sequences(Active));
        Assert.Equal(2, sink.RecordsWritten);
        Assert.Equal(2L * FixedLength, sink.BytesWritten);
        Assert.Equal(2L * FixedLength, new FileInfo(Active).Length);
    }

    [Fact]
    public void Write_ExactlyMaxFileBytes_DoesNotRotate()
    {
        using var sink = Sink(Active, maxFileBytes: 4L * FixedLength);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(WriteTo(sink, Fixed(i)));
        }

        sink.Flush();

        Assert.Equal(0, sink.Rotations);
        Assert.Empty(RotatedFiles(_directory.Path));
        Assert.Equal(4L * FixedLength, new FileInfo(Active).Length);
    }

    [Fact]
    public void Write_BeyondMaxFileBytes_RotatesWithoutSplittingARecord()
    {
        // Room for four records and a half: the fifth must start a new file, not straddle two.
        using var sink = Sink(Active, maxFileBytes: (4L * FixedLength) + (FixedLength / 2));
        for (var i = 0; i < 5; i++)
        {
            Assert.True(WriteTo(sink, Fixed(i)));
        }

        // The rotation wrote the first file out at once; the fifth record is still buffered.
        var rotated = Assert.Single(RotatedFiles(_directory.Path));
        Assert.Equal([0U, 1U, 2U, 3U], Sequences(rotated));
        Assert.Equal(0, new FileInfo(Active).Length);

        sink.Flush();

        Assert.Equal([4U], Sequences(Active));
        Assert.Equal(1, sink.Rotations);
        Assert.Equal(5, sink.RecordsWritten);
        Assert.Equal("flows-20250102T030405678Z.jsonl", Path.GetFileName(rotated));
    }

    [Fact]
    public void Write_RotateIntervalElapsed_RotatesBeforeTheNextRecord()
    {
        using var sink = Sink(Active, rotateInterval: TimeSpan.FromHours(1));
        WriteTo(sink, Fixed(0));
        _clock.Advance(TimeSpan.FromMinutes(59));
        WriteTo(sink, Fixed(1));
        Assert.Equal(0, sink.Rotations);

        _clock.Advance(TimeSpan.FromMinutes(1));
        WriteTo(sink, Fixed(2));
        sink.Flush();

        Assert.Equal(1, sink.Rotations);
        var rotated = Assert.Single(RotatedFiles(_directory.Path));
        Assert.Equal("flows-20250102T040405678Z.jsonl", Path.GetFileName(rotated));
        Assert.Equal([0U, 1U], Sequences(rotated));
        Assert.Equal([2U], Sequences(Active));
    }

    [Fact]
    public void Write_RotateIntervalCountsFromTheFilesFirstRecord()
    {
        using var sink = Sink(Active, rotateInterval: TimeSpan.FromHours(1));

        // Two idle hours: rotating now would only produce an empty file.
        _clock.Advance(TimeSpan.FromHours(2));
        WriteTo(sink, Fixed(0));
        _clock.Advance(TimeSpan.FromMinutes(30));
        WriteTo(sink, Fixed(1));
        Assert.Equal(0, sink.Rotations);

        _clock.Advance(TimeSpan.FromMinutes(30));
        WriteTo(sink, Fixed(2));
        sink.Flush();

        Assert.Equal(1, sink.Rotations);
        Assert.Equal([0U, 1U], Sequences(Assert.Single(RotatedFiles(_directory.Path))));
    }

    [Fact]
    public void Write_RotateIntervalZero_RotatesBySizeOnly()
    {
        using var sink = Sink(Active, rotateInterval: TimeSpan.Zero);
        for (var i = 0; i < 5; i++)
        {
            WriteTo(sink, Fixed(i));
            _clock.Advance(TimeSpan.FromDays(30));
        }

        sink.Flush();

        Assert.Equal(0, sink.Rotations);
        Assert.Equal([0U, 1U, 2U, 3U, 4U], Sequences(Active));
    }

    [Fact]
    public void Write_RotationsInOneMillisecond_GetUniqueNamesInRotationOrder()
    {
        // Two records per file and a clock that does not move: every rotation shares one timestamp.
        using var sink = Sink(Active, maxFileBytes: 2L * FixedLength);
        for (var i = 0; i < 24; i++)
        {
            Assert.True(WriteTo(sink, Fixed(i % 10)));
        }

        sink.Flush();

        var rotated = RotatedFiles(_directory.Path);
        Assert.Equal(11, rotated.Count);
        Assert.Equal("flows-20250102T030405678Z.jsonl", Path.GetFileName(rotated[0]));
        Assert.Equal("flows-20250102T030405678Z-1.jsonl", Path.GetFileName(rotated[1]));
        Assert.Equal("flows-20250102T030405678Z-10.jsonl", Path.GetFileName(rotated[10]));
        Assert.Equal(
            Enumerable.Range(0, 22).Select(i => (uint)(i % 10)),
            rotated.SelectMany(Sequences));
    }

    [Fact]
    public void Rotate_BeyondMaxTotalBytes_DeletesOldestRotatedFilesAndLeavesForeignFiles()
    {
        // Files in the same directory that are not this sink's rotated files, each larger than the
        // whole budget: none may be deleted or counted.
        var big = new byte[64 * 1024];
        string[] foreign =
        [
            "notes.txt",
            "flows-backup.jsonl",
            "flows-20000101T000000000Z.jsonl.gz",
            "other-20000101T000000000Z.jsonl",
            "flows-20000101T000000000Z-01.jsonl",
            "flows-2000010T1000000000Z.jsonl",
        ];
        foreach (var name in foreign)
        {
            File.WriteAllBytes(_directory.File(name), big);
        }

        // A rotated file left by an earlier run: the oldest of all.
        var earlier = _directory.File("flows-20000101T000000000Z.jsonl");
        File.WriteAllBytes(earlier, new byte[FixedLength]);

        // Two records per file; the rotated files and the active one may hold five records' bytes.
        using var sink = Sink(Active, maxFileBytes: 2L * FixedLength, maxTotalBytes: 5L * FixedLength);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(WriteTo(sink, Fixed(i)));
            _clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        sink.Flush();

        Assert.Equal(4, sink.Rotations);
        Assert.False(File.Exists(earlier));
        var kept = RotatedFiles(_directory.Path);
        Assert.Equal(2, kept.Count);
        Assert.Equal([4U, 5U], Sequences(kept[0]));
        Assert.Equal([6U, 7U], Sequences(kept[1]));
        Assert.Equal([8U, 9U], Sequences(Active));
        Assert.Equal(3, sink.FilesDeleted);
        foreach (var name in foreign)
        {
            Assert.Equal(big.Length, new FileInfo(_directory.File(name)).Length);
        }
    }

    [Fact]
    public void Open_ExistingActiveFile_AppendsAndCountsItsSizeTowardMaxFileBytes()
    {
        using (var first = Sink(Active))
        {
            WriteTo(first, Fixed(0));
            WriteTo(first, Fixed(1));
        }

        using var sink = Sink(Active, maxFileBytes: 3L * FixedLength);
        WriteTo(sink, Fixed(2));
        Assert.Equal(0, sink.Rotations);

        WriteTo(sink, Fixed(3));
        sink.Flush();

        Assert.Equal(1, sink.Rotations);
        Assert.Equal([0U, 1U, 2U], Sequences(Assert.Single(RotatedFiles(_directory.Path))));
        Assert.Equal([3U], Sequences(Active));
    }

    [Theory]
    [InlineData(16 * 1024)]
    [InlineData(1024 * 1024)]
    public void Write_ManyRotations_EveryRecordOnceInOrder(long maxFileBytes)
    {
        // Records of three lengths, size rotations, a rotation every simulated second, flushes now
        // and then, and (with 1 MiB files) buffer drains between rotations.
        const int Count = 20_000;
        using var sink = Sink(Active, maxFileBytes: maxFileBytes, rotateInterval: TimeSpan.FromSeconds(1));
        var random = new Random(7);
        for (var i = 0; i < Count; i++)
        {
            Assert.True(WriteTo(sink, Numbered(i)));
            _clock.Advance(TimeSpan.FromMilliseconds(random.Next(0, 3)));
            if (random.Next(100) == 0)
            {
                sink.Flush();
            }
        }

        sink.Flush();

        var files = RotatedFiles(_directory.Path);
        Assert.Equal(files.Count, sink.Rotations);
        Assert.True(sink.Rotations > 10, $"only {sink.Rotations} rotations");
        Assert.All(files, file => Assert.InRange(new FileInfo(file).Length, 1, maxFileBytes));
        files.Add(Active);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (uint)i), files.SelectMany(Sequences));
        Assert.Equal(Count, sink.RecordsWritten);
        Assert.Equal(files.Sum(file => new FileInfo(file).Length), sink.BytesWritten);
        Assert.Equal(0, sink.Failures);
    }

    [Fact]
    public void Write_ManyRotationsUnderATotalBound_KeepsTheNewestRecordsWithoutAGap()
    {
        const int Count = 20_000;
        const long MaxTotalBytes = 64 * 1024;
        using var sink = Sink(Active, maxFileBytes: 4096, maxTotalBytes: MaxTotalBytes);
        for (var i = 0; i < Count; i++)
        {
            Assert.True(WriteTo(sink, Numbered(i)));
            _clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        sink.Flush();

        var files = RotatedFiles(_directory.Path);
        Assert.InRange(files.Sum(file => new FileInfo(file).Length), MaxTotalBytes - 4096, MaxTotalBytes);
        Assert.Equal(sink.Rotations, files.Count + sink.FilesDeleted);
        files.Add(Active);
        var kept = files.SelectMany(Sequences).ToList();
        Assert.Equal(Enumerable.Range(Count - kept.Count, kept.Count).Select(i => (uint)i), kept);
    }

    [Fact]
    public void Write_DirectoryNotCreatable_UnhealthyUntilThePathWorksAndTheRetryIntervalPassed()
    {
        // A directory below a regular file cannot be created, even by root.
        var blocker = _directory.File("blocker");
        File.WriteAllText(blocker, "not a directory");
        var path = Path.Combine(blocker, "x", "flows.jsonl");

        using var sink = Sink(path);

        Assert.False(sink.IsHealthy);
        Assert.NotNull(sink.LastError);
        Assert.False(WriteTo(sink, Fixed(0)));
        Assert.Equal(1, sink.Failures);

        // Fixed, but the retry interval (5 s) has not passed: no new attempt yet.
        File.Delete(blocker);
        _clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(WriteTo(sink, Fixed(1)));
        Assert.False(sink.IsHealthy);
        Assert.Equal(2, sink.Failures);

        _clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(WriteTo(sink, Fixed(2)));
        Assert.True(sink.IsHealthy);
        Assert.Null(sink.LastError);
        sink.Flush();

        Assert.Equal([2U], Sequences(path));
        Assert.Equal(2, sink.Failures);
    }

    [Fact]
    public void Flush_WhileUnhealthy_RetriesOpeningOnceTheRetryIntervalPassed()
    {
        var blocker = _directory.File("blocker");
        File.WriteAllText(blocker, "not a directory");
        var path = Path.Combine(blocker, "flows.jsonl");
        using var sink = Sink(path);
        Assert.False(sink.IsHealthy);

        File.Delete(blocker);
        _clock.Advance(TimeSpan.FromSeconds(5));
        sink.Flush();

        Assert.True(sink.IsHealthy);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void Flush_DiskFull_KeepsTheBufferAndWritesItOnceAfterRecovery()
    {
        // Every write to /dev/full fails with ENOSPC, as on a full disk.
        File.CreateSymbolicLink(Active, "/dev/full");
        using var sink = Sink(Active);
        Assert.True(sink.IsHealthy);
        Assert.True(WriteTo(sink, Fixed(0)));
        Assert.True(WriteTo(sink, Fixed(1)));

        sink.Flush();

        Assert.False(sink.IsHealthy);
        Assert.Contains("space", sink.LastError, StringComparison.OrdinalIgnoreCase);
        Assert.False(WriteTo(sink, Fixed(2)));
        Assert.Equal(1, sink.Failures);
        Assert.Equal(0, sink.RecordsWritten);

        // Space again: the active path is a regular file once more.
        File.Delete(Active);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(WriteTo(sink, Fixed(3)));
        sink.Flush();

        Assert.True(sink.IsHealthy);
        Assert.Equal([0U, 1U, 3U], Sequences(Active));
        Assert.Equal(3, sink.RecordsWritten);
        Assert.Equal(0, sink.RecordsLost);
    }

    [Fact]
    public void Dispose_WhileTheFileStillFails_CountsTheBufferedRecordsAsLost()
    {
        File.CreateSymbolicLink(Active, "/dev/full");
        var sink = Sink(Active);
        WriteTo(sink, Fixed(0));
        WriteTo(sink, Fixed(1));

        sink.Dispose();

        Assert.False(sink.IsHealthy);
        Assert.Equal(2, sink.RecordsLost);
    }

    [Fact]
    public void Dispose_WritesTheBufferAndASecondDisposeIsHarmless()
    {
        var sink = Sink(Active);
        WriteTo(sink, Fixed(0));

        sink.Dispose();
        sink.Dispose();
        sink.Flush();

        Assert.Equal([0U], Sequences(Active));
        Assert.Throws<ObjectDisposedException>(() => WriteTo(sink, Fixed(1)));
    }

    [Fact]
    public void Write_SteadyState_AllocatesNothing()
    {
        using var sink = Sink(Active, maxFileBytes: 1L << 30, rotateInterval: TimeSpan.Zero);
        var record = Fixed(0);
        var line = Encoded(record);

        // 2000 records are about four buffers, so the measured runs include writes to the file.
        var allocated = Allocations.Least(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                sink.Write(record, line);
            }

            sink.Flush();
        });

        Assert.Equal(0, allocated);
    }

    private string Active => _directory.File("flows.jsonl");

    private RotatingFileSink Sink(
        string path,
        long maxFileBytes = 100L * 1024 * 1024,
        long? maxTotalBytes = null,
        TimeSpan? rotateInterval = null,
        UnixFileMode filePermissions = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead) =>
        new(
            new RotatingFileSinkOptions
            {
                Path = path,
                MaxFileBytes = maxFileBytes,
                MaxTotalBytes = maxTotalBytes ?? 1024L * 1024 * 1024 * 1024,
                RotateInterval = rotateInterval ?? TimeSpan.Zero,
                FilePermissions = filePermissions,
            },
            _clock);
}
