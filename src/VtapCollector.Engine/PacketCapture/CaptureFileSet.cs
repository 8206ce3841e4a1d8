using System.Buffers;
using System.Globalization;
using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>A file of a capture session, as the API lists it.</summary>
internal sealed record CaptureFileInfo(string Name, long Bytes, DateTimeOffset Modified);

/// <summary>
/// A capture session's rotating pcapng files: <c>NAME-000001-20261206T070000Z.pcapng</c>, ... in the
/// session's folder. A new file starts when the current one reaches its size or age; after each
/// rotation the oldest files go while the session's files exceed the retention size, or are older
/// than the retention age. Blocks are staged in memory and reach the file whole: when a write fails
/// (a full disk) the file is cut back to its last whole block, so it stays readable.
/// </summary>
internal sealed class CaptureFileSet : IDisposable
{
    private const int StageBytes = 256 * 1024;
    private const string Extension = ".pcapng";

    private readonly CaptureSpec _spec;
    private readonly string _directory;
    private readonly ArrayBufferWriter<byte> _stage = new(StageBytes + 300_000);
    private FileStream? _file;
    private PcapngWriter? _writer;
    private string? _currentName;
    private long _committed;
    private long _opened;
    private int _sequence;
    private int _stagedPackets;

    public CaptureFileSet(CaptureSpec spec, string directory)
    {
        _spec = spec;
        _directory = directory;
        if (spec.SingleFile is not null)
        {
            return;
        }

        System.IO.Directory.CreateDirectory(directory);
        foreach (var file in List())
        {
            // A restarted session numbers on after the files it left.
            if (int.TryParse(file.Name.AsSpan(spec.Name.Length + 1, 6), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                _sequence = Math.Max(_sequence, number);
            }
        }
    }

    /// <summary>Packets staged in memory, not yet in the file: lost if the disk is full.</summary>
    public int StagedPackets => _stagedPackets;

    /// <summary>Appends one packet, starting a new file first when the current one is due.</summary>
    public void Write(in CapturedFrame frame, ReadOnlySpan<byte> data, ReadOnlySpan<byte> comment, long nowTicks)
    {
        if (_writer is null || Due(nowTicks))
        {
            Rotate(nowTicks);
        }

        _writer!.Write(frame.LinkType, frame.TimestampNanos, data, frame.OriginalLength, comment);
        _stagedPackets++;
        if (_stage.WrittenCount >= StageBytes)
        {
            Commit();
        }
    }

    /// <summary>Writes what is staged to the file (the writer calls it about once a second, so files are never far behind).</summary>
    public void Commit()
    {
        if (_file is null || _stage.WrittenCount == 0)
        {
            return;
        }

        try
        {
            _file.Write(_stage.WrittenSpan);
            _file.Flush();
            _committed += _stage.WrittenCount;
        }
        catch (IOException)
        {
            // Keep the file readable: cut off whatever part of the staged blocks reached it.
            TryCut();
            throw;
        }
        finally
        {
            _stage.ResetWrittenCount();
            _stagedPackets = 0;
        }
    }

    /// <summary>Closes the current file (the next packet opens a new one) after committing what is staged.</summary>
    public void Close()
    {
        try
        {
            Commit();
        }
        finally
        {
            _file?.Dispose();
            _file = null;
            _writer = null;
            _currentName = null;
            _stage.ResetWrittenCount();
        }
    }

    /// <summary>Drops what is staged and closes the file without writing more (after a failed write).</summary>
    public void Abandon()
    {
        _stage.ResetWrittenCount();
        _stagedPackets = 0;
        try
        {
            _file?.Dispose();
        }
        catch (IOException)
        {
            // The file was cut back already; a failing close changes nothing more.
        }

        _file = null;
        _writer = null;
        _currentName = null;
    }

    /// <summary>Applies the retention rules now (the writer also calls it now and then, for the age rule).</summary>
    public void Retain(DateTimeOffset now)
    {
        if (_spec.SingleFile is not null)
        {
            return;
        }

        var files = List();
        var total = 0L;
        foreach (var file in files)
        {
            total += file.Bytes;
        }

        foreach (var file in files)
        {
            if (file.Name == _currentName)
            {
                continue;
            }

            var tooOld = _spec.RetainAge > TimeSpan.Zero && now - file.Modified > _spec.RetainAge;
            if (!tooOld && total <= _spec.RetainBytes)
            {
                continue;
            }

            try
            {
                File.Delete(Path.Combine(_directory, file.Name));
                total -= file.Bytes;
            }
            catch (IOException)
            {
                // Deleted by someone else, or not deletable now: retention tries again later.
            }
        }
    }

    /// <summary>The session's files, oldest first (the sequence number orders them).</summary>
    public IReadOnlyList<CaptureFileInfo> List() => ListFiles(_directory, _spec.Name);

    /// <summary>The files of session <paramref name="name"/> in <paramref name="directory"/>, oldest first.</summary>
    public static IReadOnlyList<CaptureFileInfo> ListFiles(string directory, string name)
    {
        var result = new List<CaptureFileInfo>();
        if (!System.IO.Directory.Exists(directory))
        {
            return result;
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(directory, name + "-*" + Extension))
        {
            var info = new FileInfo(path);
            if (info.Name.Length >= name.Length + 8 && info.Exists)
            {
                result.Add(new CaptureFileInfo(info.Name, info.Length, info.LastWriteTimeUtc));
            }
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return result;
    }

    public void Dispose()
    {
        try
        {
            Close();
        }
        catch (IOException)
        {
            Abandon();
        }
    }

    private bool Due(long nowTicks) =>
        _spec.SingleFile is null
        && (_committed + _stage.WrittenCount >= _spec.FileBytes
        || (_spec.FileAge > TimeSpan.Zero && nowTicks - _opened >= (long)_spec.FileAge.TotalMilliseconds));

    private void Rotate(long nowTicks)
    {
        Close();
        if (_spec.SingleFile is { } single)
        {
            _currentName = Path.GetFileName(single);
            _file = new FileStream(single, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
            _writer = new PcapngWriter(_stage, _spec.SnapLength, "vtap-collector");
            return;
        }

        _sequence++;
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        _currentName = string.Create(CultureInfo.InvariantCulture, $"{_spec.Name}-{_sequence:D6}-{stamp}{Extension}");
        _file = new FileStream(Path.Combine(_directory, _currentName), FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
        _committed = 0;
        _opened = nowTicks;
        _writer = new PcapngWriter(_stage, _spec.SnapLength, "vtap-collector");
        Retain(DateTimeOffset.UtcNow);
    }

    private void TryCut()
    {
        try
        {
            _file?.SetLength(_committed);
        }
        catch (IOException)
        {
            // Nothing more can be done for this file; the reader stops at its damaged end.
        }
    }
}
