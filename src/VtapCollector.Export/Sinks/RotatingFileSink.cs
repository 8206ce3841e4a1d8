using System.Globalization;
using VtapCollector.Export.Formats;
using VtapCollector.Export.Metrics;
using VtapCollector.Export.Storage;
using VtapCollector.Flows;

namespace VtapCollector.Export.Sinks;

/// <summary>
/// Writes records one per line (JSON Lines for the JSON formats) to an active file (<see cref="RotatingFileSinkOptions.Path"/>) and rotates it
/// by size and by age: the active file is closed and renamed, in the same directory, to
/// <c>&lt;stem&gt;-&lt;yyyyMMddTHHmmssfffZ&gt;[-n]&lt;extension&gt;</c> (UTC time of the rotation), and a new active
/// file is opened. <c>tail -F</c> on the active path keeps working, every rotated file is complete
/// when it appears, and a record is never split across two files.
/// </summary>
/// <remarks>
/// <para>
/// Records are copied into one preallocated buffer and reach the file when it fills, on
/// <see cref="Flush"/>, and before a rotation; <see cref="Write"/> allocates nothing (only a
/// rotation builds file names). An existing active file is appended to, and its size counts
/// toward <see cref="RotatingFileSinkOptions.MaxFileBytes"/>.
/// </para>
/// <para>
/// When the file cannot be opened or written (directory not writable, disk full), the sink turns
/// unhealthy instead of throwing: <see cref="Write"/> returns false and counts a failure, the
/// records already buffered are kept, and opening is retried at most once every
/// <see cref="RotatingFileSinkOptions.RetryInterval"/> (on <see cref="Write"/> or <see cref="Flush"/>).
/// A write that fails part-way is cut back, so the file ends with a whole record and the kept
/// buffer is written once, after recovery. The constructor does not throw for such errors either:
/// the sink starts unhealthy and <see cref="LastError"/> says why.
/// </para>
/// </remarks>
public sealed class RotatingFileSink : IRecordSink
{
    /// <summary>Bytes buffered before a write to the file: 256 KiB.</summary>
    public const int BufferSize = 256 * 1024;

    private const string TimestampFormat = "yyyyMMdd'T'HHmmssfff'Z'";
    private const int TimestampLength = 19;

    private readonly TimeProvider _time;
    private readonly long _maxFileBytes;
    private readonly long _maxTotalBytes;
    private readonly TimeSpan _rotateInterval;
    private readonly UnixFileMode _filePermissions;
    private readonly string _directory;
    private readonly string _stem;
    private readonly string _extension;
    private readonly byte[] _buffer = new byte[BufferSize];
    private readonly IoRetry _health;

    private FileStream? _file;
    private long _fileLength;
    private int _used;
    private long _bufferedRecords;
    private long _activeSince;
    private string? _lastStamp;
    private int _lastSuffix;

    // Bytes of this sink's rotated files as of the last directory listing plus the rotations since;
    // -1 until the first listing. Others can only remove files, which makes this an upper bound.
    private long _rotatedBytes = -1;
    private bool _disposed;

    private long _recordsWritten;
    private long _bytesWritten;
    private long _rotations;
    private long _filesDeleted;
    private long _failures;
    private long _recordsLost;

    /// <summary>Opens (or creates) the active file; an I/O error leaves the sink unhealthy rather than throwing.</summary>
    /// <param name="options">Valid options; <see cref="RotatingFileSinkOptions.Validate"/> must return null.</param>
    /// <param name="timeProvider">The clock for rotation intervals, retries and rotated-file names. Default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message is <see cref="RotatingFileSinkOptions.Validate"/>'s sentence.</exception>
    public RotatingFileSink(RotatingFileSinkOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } error)
        {
            throw new ArgumentException(error, nameof(options));
        }

        _time = timeProvider ?? TimeProvider.System;
        Encoder = RecordFormats.Create(options.Format)!;
        _maxFileBytes = options.MaxFileBytes;
        _maxTotalBytes = options.MaxTotalBytes;
        _rotateInterval = options.RotateInterval;
        _health = new IoRetry(options.RetryInterval, _time);
        _filePermissions = options.FilePermissions;
        CurrentPath = Path.GetFullPath(options.Path);
        _directory = Path.GetDirectoryName(CurrentPath) ?? Path.GetPathRoot(CurrentPath)!;
        _stem = Path.GetFileNameWithoutExtension(CurrentPath);
        _extension = Path.GetExtension(CurrentPath);

        var now = _time.GetTimestamp();
        try
        {
            Open(now);
        }
        catch (Exception failure) when (IsFileError(failure))
        {
            Fail(failure);
        }
    }

    /// <inheritdoc/>
    public string Name => "file";

    /// <inheritdoc/>
    public IRecordEncoder Encoder { get; }

    /// <inheritdoc/>
    public bool IsHealthy => _health.IsHealthy;

    /// <summary>The full path of the active file.</summary>
    public string CurrentPath { get; }

    /// <summary>Records written to files (buffered records count once they reach the file).</summary>
    public long RecordsWritten => Volatile.Read(ref _recordsWritten);

    /// <summary>Bytes written to files.</summary>
    public long BytesWritten => Volatile.Read(ref _bytesWritten);

    /// <summary>Active files renamed to rotated files.</summary>
    public long Rotations => Volatile.Read(ref _rotations);

    /// <summary>Rotated files deleted to stay within <see cref="RotatingFileSinkOptions.MaxTotalBytes"/>.</summary>
    public long FilesDeleted => Volatile.Read(ref _filesDeleted);

    /// <summary>Records refused by <see cref="Write"/> (each one returned false) because the file could not be opened or written.</summary>
    public long Failures => Volatile.Read(ref _failures);

    /// <summary>Records accepted into the buffer that never reached a file: only when <see cref="Dispose"/> finds the file still failing.</summary>
    public long RecordsLost => Volatile.Read(ref _recordsLost);

    /// <summary>The message of the error that made the sink unhealthy, or null while it is healthy.</summary>
    public string? LastError => _health.LastError;

    /// <inheritdoc/>
    public bool Write(in FlowRecord record, ReadOnlySpan<byte> encoded)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var now = _time.GetTimestamp();
        var length = encoded.Length + 1;
        if ((!_health.IsHealthy && !TryRecover(now)) || length > _buffer.Length)
        {
            _failures++;
            return false;
        }

        var pending = _fileLength + _used;
        if (pending == 0)
        {
            // An empty file's age starts with its first record, so an idle hour yields no empty file.
            _activeSince = now;
        }
        else if ((pending + length > _maxFileBytes || RotationDue(now)) && !TryRotate(now))
        {
            _failures++;
            return false;
        }

        if (length > _buffer.Length - _used && !TryDrain(now))
        {
            _failures++;
            return false;
        }

        encoded.CopyTo(_buffer.AsSpan(_used));
        _buffer[_used + encoded.Length] = (byte)'\n';
        _used += length;
        _bufferedRecords++;
        return true;
    }

    /// <inheritdoc/>
    public void CollectMetrics(MetricSet metrics)
    {
        metrics.Counter(SinkMetrics.BytesWritten, SinkMetrics.BytesWrittenHelp, BytesWritten, ("sink", Name));
        metrics.Counter(SinkMetrics.RecordsLost, SinkMetrics.RecordsLostHelp, RecordsLost, ("sink", Name));
        metrics.Counter("vtap_file_rotations_total", "Active record files renamed to rotated files (by size or age).", Rotations, ("sink", Name));
        metrics.Counter("vtap_file_deleted_total", "Rotated record files deleted to stay within Sinks:File:MaxTotalBytes.", FilesDeleted, ("sink", Name));
    }

    /// <summary>
    /// Writes the buffered records to the active file (the file stream itself is unbuffered, so they
    /// are then visible to readers). While unhealthy, retries opening once the retry interval has passed.
    /// </summary>
    public void Flush()
    {
        if (_disposed)
        {
            return;
        }

        var now = _time.GetTimestamp();
        if (!_health.IsHealthy)
        {
            TryRecover(now);
            return;
        }

        TryDrain(now);
    }

    /// <summary>Writes the buffer and closes the active file, without rotating it. A second call does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var now = _time.GetTimestamp();
        try
        {
            // At shutdown, one last attempt whatever the retry interval: the alternative is losing the buffer.
            if (_file is null && _used > 0)
            {
                Open(now);
            }

            if (_file is not null)
            {
                DrainToFile(_file);
            }
        }
        catch (Exception failure) when (IsFileError(failure))
        {
            Fail(failure);
        }

        if (_used > 0)
        {
            _recordsLost += _bufferedRecords;
            _used = 0;
            _bufferedRecords = 0;
        }

        CloseFile();
    }

    private bool RotationDue(long now) =>
        _rotateInterval > TimeSpan.Zero && _time.GetElapsedTime(_activeSince, now) >= _rotateInterval;

    private bool TryRecover(long now)
    {
        if (!_health.RetryDue())
        {
            return false;
        }

        try
        {
            Open(now);
            DrainToFile(_file!);
        }
        catch (Exception failure) when (IsFileError(failure))
        {
            Fail(failure);
            return false;
        }

        _health.Recovered();
        return true;
    }

    private bool TryDrain(long now)
    {
        try
        {
            DrainToFile(_file!);
            return true;
        }
        catch (Exception failure) when (IsFileError(failure))
        {
            Fail(failure);
            return false;
        }
    }

    private bool TryRotate(long now)
    {
        try
        {
            DrainToFile(_file!);
            CloseFile();
            var rotatedLength = _fileLength;
            File.Move(CurrentPath, RotatedPath());
            _rotations++;
            if (_rotatedBytes >= 0)
            {
                _rotatedBytes += rotatedLength;
            }

            Open(now);
        }
        catch (Exception failure) when (IsFileError(failure))
        {
            // Whatever step failed, recovery reopens the active path and the next record retries the rotation.
            Fail(failure);
            return false;
        }

        DeleteOldest();
        return true;
    }

    private void Open(long now)
    {
        Directory.CreateDirectory(_directory);
        var options = new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            // The sink's own buffer batches writes; a second buffer in FileStream would only copy.
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = _filePermissions;
        }

        var file = new FileStream(CurrentPath, options);
        try
        {
            _fileLength = file.CanSeek ? file.Length : 0;
        }
        catch
        {
            file.Dispose();
            throw;
        }

        _file = file;
        _activeSince = now;
    }

    private void DrainToFile(FileStream file)
    {
        if (_used == 0)
        {
            return;
        }

        try
        {
            file.Write(_buffer, 0, _used);
        }
        catch (Exception failure) when (IsFileError(failure))
        {
            // A write that failed part-way (disk full) may have left part of a record: cut the file back
            // to its last whole record so that the kept buffer can be written again without a split line.
            try
            {
                if (file.CanSeek)
                {
                    file.SetLength(_fileLength);
                }
            }
            catch (Exception truncation) when (IsFileError(truncation))
            {
                // The original failure is the one to report; the retry appends after whatever is there.
            }

            throw;
        }

        _fileLength += _used;
        _bytesWritten += _used;
        _recordsWritten += _bufferedRecords;
        _used = 0;
        _bufferedRecords = 0;
    }

    private void Fail(Exception failure)
    {
        _health.Fail(failure);
        CloseFile();
    }

    private void CloseFile()
    {
        var file = _file;
        _file = null;
        try
        {
            file?.Dispose();
        }
        catch (Exception failure) when (IsFileError(failure))
        {
            // Nothing is buffered inside the stream (BufferSize 0), so a failed close loses nothing.
        }
    }

    /// <summary>A free name for the file being rotated, unique even for two rotations within one millisecond.</summary>
    private string RotatedPath()
    {
        var stamp = _time.GetUtcNow().UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

        // Within one millisecond the suffix keeps growing, even if a consumer or the total-size bound
        // removed an earlier file, so that the suffix order stays the rotation order.
        var suffix = stamp == _lastStamp ? _lastSuffix + 1 : 0;
        while (true)
        {
            var name = suffix == 0
                ? string.Concat(_stem, "-", stamp, _extension)
                : string.Concat(_stem, "-", stamp, "-", suffix.ToString(CultureInfo.InvariantCulture), _extension);
            var path = Path.Combine(_directory, name);
            if (!File.Exists(path))
            {
                _lastStamp = stamp;
                _lastSuffix = suffix;
                return path;
            }

            suffix++;
        }
    }

    /// <summary>Deletes this sink's oldest rotated files until they and the active file fit in the total-size bound.</summary>
    private void DeleteOldest()
    {
        // Listing the directory at every rotation would cost time in proportion to the files kept;
        // the running figure says when no file can need deleting.
        var active = _fileLength + _used;
        if (_rotatedBytes >= 0 && _rotatedBytes + active <= _maxTotalBytes)
        {
            return;
        }

        _rotatedBytes = -1;
        var rotated = new List<RotatedFile>();
        var total = active;
        try
        {
            foreach (var file in new DirectoryInfo(_directory).EnumerateFiles())
            {
                if (!TryParseRotatedName(file.Name, out var stamp, out var suffix))
                {
                    continue;
                }

                long length;
                try
                {
                    length = file.Length;
                }
                catch (FileNotFoundException)
                {
                    // A consumer moved it away between listing and reading its size: it no longer counts.
                    continue;
                }

                rotated.Add(new RotatedFile(stamp, suffix, file.FullName, length));
                total += length;
            }
        }
        catch (Exception failure) when (IsFileError(failure))
        {
            // Listing failed; writing still works, and the next rotation tries again.
            return;
        }

        if (total <= _maxTotalBytes)
        {
            _rotatedBytes = total - active;
            return;
        }

        rotated.Sort(static (a, b) =>
        {
            var byStamp = string.CompareOrdinal(a.Stamp, b.Stamp);
            return byStamp != 0 ? byStamp : a.Suffix.CompareTo(b.Suffix);
        });
        foreach (var file in rotated)
        {
            if (total <= _maxTotalBytes)
            {
                break;
            }

            try
            {
                File.Delete(file.Path);
                _filesDeleted++;
                total -= file.Length;
            }
            catch (Exception failure) when (IsFileError(failure))
            {
                // Not deletable (permissions, or being removed by someone else): try the next oldest.
            }
        }

        _rotatedBytes = total - active;
    }

    /// <summary>
    /// Whether <paramref name="name"/> is one of this sink's rotated files:
    /// <c>&lt;stem&gt;-&lt;yyyyMMddTHHmmssfffZ&gt;&lt;extension&gt;</c> or <c>&lt;stem&gt;-&lt;yyyyMMddTHHmmssfffZ&gt;-&lt;n&gt;&lt;extension&gt;</c>.
    /// Anything else in the directory is not this sink's to count or delete.
    /// </summary>
    private bool TryParseRotatedName(string name, out string stamp, out int suffix)
    {
        stamp = string.Empty;
        suffix = 0;
        var text = name.AsSpan();
        if (text.Length < _stem.Length + 1 + TimestampLength + _extension.Length
            || !text.StartsWith(_stem, StringComparison.Ordinal)
            || !text.EndsWith(_extension, StringComparison.Ordinal))
        {
            return false;
        }

        text = text[_stem.Length..^_extension.Length];
        if (text[0] != '-' || !IsTimestamp(text.Slice(1, TimestampLength)))
        {
            return false;
        }

        var rest = text[(1 + TimestampLength)..];
        if (rest.Length > 0)
        {
            // "-n" with n a positive number without leading zeros, as RotatedPath writes it.
            if (rest.Length is < 2 or > 10 || rest[0] != '-' || rest[1] == '0' || !IsDigits(rest[1..])
                || !int.TryParse(rest[1..], NumberStyles.None, CultureInfo.InvariantCulture, out suffix))
            {
                return false;
            }
        }

        stamp = text.Slice(1, TimestampLength).ToString();
        return true;
    }

    private static bool IsTimestamp(ReadOnlySpan<char> text) =>
        IsDigits(text[..8]) && text[8] == 'T' && IsDigits(text[9..18]) && text[18] == 'Z';

    private static bool IsDigits(ReadOnlySpan<char> text) => !text.ContainsAnyExceptInRange('0', '9');

    private static bool IsFileError(Exception failure) => IoRetry.IsFileError(failure);

    private readonly record struct RotatedFile(string Stamp, int Suffix, string Path, long Length);
}
