using Microsoft.Win32.SafeHandles;

namespace VtapCollector.Capture;

/// <summary>
/// A read-only window of a regular file's page cache that slides forward as a reader consumes it.
/// Each window is mapped with MAP_POPULATE, so its page-table entries are filled in one pass in the
/// kernel rather than by a page fault on the first touch of every page (which also lets software
/// prefetches of the next records reach memory: a prefetch into an unmapped page is dropped). The
/// previous window is unmapped once the next is in use, so the process never has more than two
/// windows of the file mapped however large the file is (a replay of a 2.6 GB capture peaked at
/// 211 MB resident with one window, instead of 2.7 GB for the whole file).
/// </summary>
/// <remarks>
/// The next window is mapped ahead on a thread-pool thread while the reader parses this one, and
/// the window left behind is unmapped there too: filling and tearing down page tables (16 384 pages
/// a window) was a seventh of the reading thread's time in a replay, and the reading thread is the
/// one a replay waits on. Two windows are then mapped at most.
/// Measured on a 5-million-packet replay and kept: MAP_POPULATE with software prefetch (3% less
/// CPU than demand faults). Measured and dropped: posix_fadvise(WILLNEED) on the next window
/// (a replay from a cold page cache took 2.7 s instead of 2.2 s: its read-ahead competed with the
/// populate's own reads).
/// </remarks>
internal sealed unsafe class MappedFileWindow : IDisposable
{
    /// <summary>
    /// 64 MiB: large enough that mapping costs are spread over ~130 000 average packets, and at least
    /// twice the largest pcapng block, so a window started at any record holds it whole.
    /// </summary>
    public const long DefaultWindowBytes = 64L * 1024 * 1024;

    private readonly SafeFileHandle _file;
    private readonly int _descriptor;
    private readonly long _windowBytes;
    private byte* _address;
    private nuint _mappedBytes;

    /// <summary>The window being mapped ahead (its start), or null; see <see cref="MapAhead"/>.</summary>
    private Task<nint>? _ahead;
    private long _aheadStart;
    private nuint _aheadBytes;

    private MappedFileWindow(SafeFileHandle file, long fileLength, long windowBytes)
    {
        var added = false;
        file.DangerousAddRef(ref added);
        _file = file;
        _descriptor = (int)file.DangerousGetHandle();
        FileLength = fileLength;
        _windowBytes = windowBytes;
    }

    /// <summary>The file's length when it was opened; the last window ends there.</summary>
    public long FileLength { get; }

    /// <summary>File offset of the window's first byte (a multiple of the page size).</summary>
    public long Offset { get; private set; }

    /// <summary>Bytes in the window.</summary>
    public int Length { get; private set; }

    /// <summary>The window's first byte.</summary>
    public byte* Address => _address;

    /// <summary>True when the window reaches the end of the file.</summary>
    public bool AtEnd => Offset + Length == FileLength;

    /// <summary>
    /// Maps the window holding <paramref name="offset"/>, or returns null if the file cannot be
    /// mapped at all (not Linux, or a file system without mmap), so the caller can read it instead.
    /// </summary>
    public static MappedFileWindow? TryOpen(SafeFileHandle file, long fileLength, long offset, long windowBytes = DefaultWindowBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowBytes, 2L * (CaptureReader.MaxBlockLength + FileMapInterop.PageSize));
        if (!OperatingSystem.IsLinux() || file.IsInvalid)
        {
            return null;
        }

        var window = new MappedFileWindow(file, fileLength, windowBytes);
        if (!window.TryMove(offset))
        {
            window.Dispose();
            return null;
        }

        return window;
    }

    /// <summary>
    /// Slides the window so it starts at the page holding <paramref name="offset"/> (which must not
    /// be behind the current window's start) and unmaps the previous one.
    /// </summary>
    /// <exception cref="IOException">The kernel refused the mapping (out of address space or memory).</exception>
    public void MoveTo(long offset)
    {
        if (!TryMove(offset))
        {
            throw new IOException($"Cannot map {_windowBytes} bytes of the capture at offset {offset}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}.");
        }
    }

    public void Dispose()
    {
        Unmap();
        _file.DangerousRelease();
    }

    /// <summary>
    /// How far before a window's end the next one is mapped to start: the reader slides when the rest
    /// of a window is less than a record, so a record up to this long straddling the end is in the
    /// window mapped ahead: 1 MiB holds any packet record (at most 256 KiB of data); only a longer
    /// pcapng block (up to <see cref="CaptureReader.MaxBlockLength"/>) makes the reader map its window
    /// then, on its own thread.
    /// </summary>
    private const long AheadOverlapBytes = 1024 * 1024;

    private bool TryMove(long offset)
    {
        var start = offset - (offset % FileMapInterop.PageSize);
        var length = Math.Min(_windowBytes, FileLength - start);
        var address = TakeAhead(offset);
        if (address != FileMapInterop.MapFailed)
        {
            start = _aheadStart;
            length = (long)_aheadBytes;
        }
        else
        {
            address = Map(start, length);
        }

        if (address == FileMapInterop.MapFailed)
        {
            return false;
        }

        var previous = (nint)_address;
        var previousBytes = _mappedBytes;
        _address = (byte*)address;
        _mappedBytes = (nuint)length;
        Offset = start;
        Length = (int)length;
        MapAhead(previous, previousBytes);
        return true;
    }

    /// <summary>
    /// Starts unmapping the window just left and mapping the one the reader will want next, on a
    /// thread-pool thread. Nothing when this window reaches the end of the file (the window left is
    /// unmapped here then).
    /// </summary>
    private void MapAhead(nint previous, nuint previousBytes)
    {
        if (AtEnd)
        {
            Unmap(previous, previousBytes);
            return;
        }

        var end = Offset + Length;
        var start = Math.Max(Offset, end - AheadOverlapBytes);
        start -= start % FileMapInterop.PageSize;
        var length = Math.Min(_windowBytes, FileLength - start);
        _aheadStart = start;
        _aheadBytes = (nuint)length;
        _ahead = Task.Run(() =>
        {
            Unmap(previous, previousBytes);
            return Map(start, length);
        });
    }

    /// <summary>
    /// The window mapped ahead when it holds <paramref name="offset"/> with at least a whole window
    /// less <see cref="AheadOverlapBytes"/> after it (room for any record), or MAP_FAILED (after
    /// unmapping it) when the reader wants one that starts earlier or it could not be mapped.
    /// </summary>
    private nint TakeAhead(long offset)
    {
        if (_ahead is null)
        {
            return FileMapInterop.MapFailed;
        }

        var address = _ahead.GetAwaiter().GetResult();
        _ahead = null;
        if (address != FileMapInterop.MapFailed && (offset < _aheadStart || offset >= _aheadStart + (long)_aheadBytes))
        {
            Unmap(address, _aheadBytes);
            return FileMapInterop.MapFailed;
        }

        return address;
    }

    private nint Map(long start, long length) =>
        (nint)FileMapInterop.Mmap(null, (nuint)length, FileMapInterop.ProtRead, FileMapInterop.MapPrivate | FileMapInterop.MapPopulate, _descriptor, start);

    private static void Unmap(nint address, nuint length)
    {
        if (address != 0)
        {
            _ = FileMapInterop.Munmap((void*)address, length);
        }
    }

    private void Unmap()
    {
        if (_ahead is not null)
        {
            var ahead = _ahead.GetAwaiter().GetResult();
            _ahead = null;
            if (ahead != FileMapInterop.MapFailed)
            {
                Unmap(ahead, _aheadBytes);
            }
        }

        Unmap((nint)_address, _mappedBytes);
        _address = null;
    }
}
