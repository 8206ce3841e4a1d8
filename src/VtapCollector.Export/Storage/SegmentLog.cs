using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace VtapCollector.Export.Storage;

/// <summary>
/// An append-only log of keyed records in checksummed segment files: records are read back in the
/// order written through one read cursor, marked consumed in that order (which moves a checkpoint),
/// and a segment is deleted once every record in it is consumed. Not thread-safe: its owner calls it
/// under its own lock.
/// </summary>
/// <remarks>
/// <para>
/// Files, in one directory: segments <c>&lt;20-digit id&gt;.spool</c> (ids increase in write order) and
/// <c>checkpoint</c>. A segment is the 8 bytes <c>VTKSPL01</c>, then records: a 4-byte little-endian
/// body length, the 4-byte little-endian CRC-32C of the body, and the body: a 2-byte little-endian key
/// length, the key, the value. The checkpoint holds the segment id and offset up to which every
/// record was consumed (id, offset, CRC-32C of both), written at <see cref="Sync"/> and at shutdown.
/// (The names and the magic are those of the Kafka spool this log grew from, so an existing spool
/// directory is read after an upgrade.)
/// </para>
/// <para>
/// Opening scans every segment: a record whose header or body is cut short or whose checksum does
/// not match (a write torn by a crash or a power loss, a damaged disk) ends its segment, which is
/// truncated there, counted (<see cref="TruncatedSegments"/>, <see cref="TruncatedBytes"/>) and
/// reported. Reading starts at the checkpoint, so after a crash records consumed since the last
/// checkpoint are read again (at least once); records are never skipped.
/// </para>
/// <para>
/// Appends go through a 256 KiB buffer that reaches the file (one <c>write</c>) when it is full, at
/// every <see cref="Flush"/> and <see cref="Sync"/>, and when the reader has caught up with the file.
/// From then on the records survive the end of the process, kill -9 included; what a power loss
/// loses is the <see cref="LogFsyncPolicy"/>'s matter.
/// </para>
/// </remarks>
public sealed partial class SegmentLog : IDisposable
{
    /// <summary>Record header: body length and CRC-32C.</summary>
    public const int RecordHeaderLength = 8;

    /// <summary>The longest key a record may have.</summary>
    public const int MaxKeyBytes = 255;

    /// <summary>The longest value a record may have: 60 KiB, far above the largest flow record.</summary>
    public const int MaxValueBytes = 60 * 1024;

    /// <summary>Segment file header length (the magic).</summary>
    public const int FileHeaderLength = 8;

    /// <summary>The longest record body: key length, key, value.</summary>
    internal const int MaxBodyLength = 2 + MaxKeyBytes + MaxValueBytes;

    /// <summary>The write and read buffers' size: 256 KiB.</summary>
    internal const int BufferSize = 256 * 1024;
    private const string Extension = ".spool";

    /// <summary>The first bytes of every segment file.</summary>
    internal static ReadOnlySpan<byte> Magic => "VTKSPL01"u8;

    private readonly string _directory;
    private readonly long _maxBytes;
    private readonly long _segmentBytes;
    private readonly LogFsyncPolicy _fsync;
    private readonly LogOverflowPolicy _overflow;
    private readonly string _name;
    private readonly IoRetry _health;
    private readonly Action<string, string> _report;
    private readonly List<LogSegment> _segments = [];
    private readonly byte[] _writeBuffer = new byte[BufferSize];

    private FileStream? _writer;
    private LogSegment? _active;
    private int _buffered;
    private bool _unsynced;

    private readonly LogCursor _cursor = new();

    private ulong _nextId;
    private LogPosition _startCheckpoint;
    private LogPosition _checkpoint;
    private long _consumedRecords;
    private bool _checkpointDirty;
    private bool _disposed;

    /// <summary>Opens the log in its directory, creating it if needed, and recovers what it holds.</summary>
    /// <param name="options">Where and how large.</param>
    /// <param name="report">Receives a cause (<c>spool-truncated</c>, <c>spool-corrupt</c>, <c>spool-full</c>, <c>spool-io</c>) and a sentence for each problem; null to discard them.</param>
    /// <param name="timeProvider">The clock for retries after an I/O error. Default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="IOException">The directory cannot be created or read.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not accessible.</exception>
    public SegmentLog(SegmentLogOptions options, Action<string, string>? report = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _directory = Path.GetFullPath(options.Directory);
        _maxBytes = options.MaxBytes;
        _segmentBytes = options.SegmentBytes;
        _fsync = options.Fsync;
        _overflow = options.Overflow;
        _name = options.Name;
        _health = new IoRetry(options.RetryInterval, timeProvider);
        _report = report ?? ((_, _) => { });
        System.IO.Directory.CreateDirectory(_directory);
        Recover();
    }

    /// <summary>Bytes of all segment files, buffered appends included.</summary>
    public long Bytes { get; private set; }

    /// <summary>Records in the log not yet consumed (read or not).</summary>
    public long PendingRecords { get; private set; }

    /// <summary>Records in the log not yet handed out by <see cref="TryRead"/>.</summary>
    public long UnreadRecords { get; private set; }

    /// <summary>Bytes of the records not yet handed out by <see cref="TryRead"/> (headers included).</summary>
    public long UnreadBytes { get; private set; }

    /// <summary>Bytes of records appended since opening (headers included).</summary>
    public long AppendedBytes { get; private set; }

    /// <summary>Records marked consumed since opening.</summary>
    public long ConsumedRecords => _consumedRecords;

    /// <summary>Of <see cref="ConsumedRecords"/>, those the saved checkpoint covers: after a crash, at most the others are read again.</summary>
    public long CheckpointedRecords { get; private set; }

    /// <summary>Segments found with a torn or damaged tail when the log was opened, and truncated.</summary>
    public long TruncatedSegments { get; private set; }

    /// <summary>Records found in the log, past the checkpoint, when it was opened.</summary>
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

    /// <summary>The message of the last I/O error, or null while the log works.</summary>
    public string? LastError => _health.LastError;

    /// <summary>False from an I/O error until the files work again.</summary>
    public bool IsHealthy => _health.IsHealthy;

    /// <summary>Segment files in the log.</summary>
    public int SegmentCount => _segments.Count;

    /// <summary>The log's directory, in full.</summary>
    public string Directory => _directory;

    /// <summary>Appends one record; never throws for I/O errors (they return <see cref="LogAppendResult.Failed"/>).</summary>
    public LogAppendResult Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(key.Length, MaxKeyBytes, nameof(key));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value.Length, MaxValueBytes, nameof(value));
        if (!_health.IsHealthy && !TryRecover())
        {
            return LogAppendResult.Failed;
        }

        var bodyLength = 2 + key.Length + value.Length;
        var size = RecordHeaderLength + bodyLength;
        var rolls = _active is null || (_active.Length + size > _segmentBytes && _active.Length > FileHeaderLength);
        var needed = size + (rolls ? FileHeaderLength : 0);
        if (Bytes + needed > _maxBytes && !MakeRoom(needed))
        {
            DroppedRecords++;
            return LogAppendResult.Full;
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
            return LogAppendResult.Failed;
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
        UnreadBytes += size;
        AppendedRecords++;
        AppendedBytes += size;
        return LogAppendResult.Appended;
    }

    /// <summary>
    /// Writes the buffered appends to the segment file (one <c>write</c>): from then on they survive
    /// the end of the process. Returns false if the file could not be written (the records stay
    /// buffered and <see cref="LastError"/> says why).
    /// </summary>
    public bool Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_health.IsHealthy)
        {
            return TryRecover();
        }

        try
        {
            Drain();
            return true;
        }
        catch (Exception error) when (IoRetry.IsFileError(error))
        {
            Fail(error);
            return false;
        }
    }

    /// <summary>
    /// Closes the segment being written, so that it can be deleted once consumed; the next append
    /// begins a new one.
    /// </summary>
    public void SealActive()
    {
        if (_active is null)
        {
            return;
        }

        try
        {
            CloseWriter(_fsync != LogFsyncPolicy.Never);
        }
        catch (Exception error) when (IsFileError(error))
        {
            Fail(error);
            return;
        }

        DeleteDelivered();
    }

    /// <summary>
    /// Writes buffered appends to the file and saves the checkpoint if it moved; called about once a
    /// second. When the policy is <see cref="LogFsyncPolicy.EverySync"/> and the segment being written
    /// has changed since the last sync, returns its handle for <see cref="ForceToDisk"/>, which the owner
    /// calls <em>outside</em> its lock: an fsync can take long, and appends need not wait for it.
    /// </summary>
    public SafeFileHandle? Sync()
    {
        if (_disposed)
        {
            return null;
        }

        try
        {
            if (!_health.IsHealthy && !TryRecover())
            {
                return null;
            }

            Drain();
            SaveCheckpoint();
            if (_fsync == LogFsyncPolicy.EverySync && _unsynced && _writer is not null)
            {
                _unsynced = false;
                Fsyncs++;
                return _writer.SafeFileHandle;
            }
        }
        catch (Exception error) when (IsFileError(error))
        {
            Fail(error);
        }

        return null;
    }

    /// <summary>
    /// Forces what was written to <paramref name="handle"/>'s file to stable storage (fsync). Safe
    /// alongside appends; if the segment was closed meanwhile there is nothing to do (closing it
    /// forced it already). Returns the error's message, or null.
    /// </summary>
    public static string? ForceToDisk(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        try
        {
            RandomAccess.FlushToDisk(handle);
            return null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        catch (Exception error) when (IsFileError(error))
        {
            return error.Message;
        }
    }

    /// <summary>
    /// Writes what is buffered, forces it to disk unless the policy is <see cref="LogFsyncPolicy.Never"/>,
    /// deletes the segments whose records are all consumed, saves the checkpoint and closes the files.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            if (!_health.IsHealthy)
            {
                TryRecover(force: true);
            }

            if (_health.IsHealthy)
            {
                CloseWriter(_fsync != LogFsyncPolicy.Never);
                DeleteDelivered();
            }

            SaveCheckpoint();
        }
        catch (Exception error) when (IsFileError(error))
        {
            Fail(error);
            _report("spool-io", $"{_name}: could not write {_buffered} buffered bytes at shutdown ({error.Message}); those records are lost.");
        }

        _disposed = true;
        _writer?.Dispose();
        _writer = null;
        _cursor.Dispose();
    }

    /// <summary>Drop-oldest: deletes the oldest closed segments, their unsent records counted as dropped, until <paramref name="needed"/> bytes fit.</summary>
    private bool MakeRoom(long needed)
    {
        if (_overflow != LogOverflowPolicy.DropOldest)
        {
            return false;
        }

        while (Bytes + needed > _maxBytes && _segments.Count > 0 && _segments[0] != _active)
        {
            var oldest = _segments[0];
            var unsent = oldest.Records - oldest.Read;
            DroppedRecords += unsent;
            UnreadRecords -= unsent;
            UnreadBytes -= UnreadBytesOf(oldest);
            PendingRecords -= oldest.Records - oldest.Completed;
            _report("spool-full", string.Create(CultureInfo.InvariantCulture,
                $"{_name} full ({Bytes} of {_maxBytes} bytes): dropped the oldest segment, {unsent} unsent records ({DroppedRecords} records dropped so far)."));
            if (oldest.Id >= _cursor.Next)
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
            CloseWriter(_fsync != LogFsyncPolicy.Never);
        }

        var id = _nextId++;
        var path = Path.Combine(_directory, id.ToString("D20", CultureInfo.InvariantCulture) + Extension);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            // The log's own buffer batches writes; a second buffer in FileStream would only copy.
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
        _active = new LogSegment(id, path) { Length = FileHeaderLength, DrainedLength = FileHeaderLength, StartOffset = FileHeaderLength };
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
                // Opening the log again truncates a torn tail anyway.
            }

            throw;
        }

        _active.DrainedLength += _buffered;
        _buffered = 0;
        _unsynced = true;
    }

    private void Fail(Exception error)
    {
        if (_health.Fail(error))
        {
            _report("spool-io", string.Create(CultureInfo.InvariantCulture,
                $"{_name}: cannot write to {_directory} ({error.Message}); new records are refused and the buffered ones kept, retrying every {_health.RetryInterval.TotalSeconds} s."));
        }
    }

    private bool TryRecover(bool force = false)
    {
        if (!force && !_health.RetryDue())
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
            _health.Fail(error);
            return false;
        }

        _health.Recovered();
        return true;
    }

    private static bool IsFileError(Exception error) => IoRetry.IsFileError(error);
}
