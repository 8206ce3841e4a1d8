using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using VtapCollector.Decoding;

namespace VtapCollector.Capture;

/// <summary>
/// Reads pcap (draft-ietf-opsawg-pcap: micro- and nanosecond, either byte order) and pcapng
/// (draft-ietf-opsawg-pcapng: SHB, IDB, EPB, SPB, obsolete PB, several sections) from any stream,
/// seekable or not (a file, stdin, a pipe from tcpdump), and hands every packet to a struct handler.
/// </summary>
/// <remarks>
/// One contiguous buffer is refilled from the stream and compacted when a record straddles its end,
/// so every record is parsed as one span: no per-packet allocation, no copy, no segment logic. A
/// pipe reader would hand out segmented sequences and force a copy for straddling records; reading
/// straight into our own buffer is simpler and as fast. A regular file is not copied at all: it is
/// parsed in place through a sliding window of the page cache (<see cref="MappedFileWindow"/>), with
/// the next 4 KiB prefetched as records are delivered. Errors are values (<see cref="CaptureError"/>,
/// with <see cref="ErrorOffset"/>, <see cref="ErrorRecord"/> and <see cref="ErrorDetail"/> saying
/// where and what); only the stream's own I/O exceptions propagate.
/// </remarks>
public sealed partial class CaptureReader
{
    /// <summary>Largest captured length accepted for one packet (tcpdump's MAXIMUM_SNAPLEN).</summary>
    public const int MaxPacketLength = 262_144;

    /// <summary>Largest pcapng block accepted; anything bigger is treated as corruption.</summary>
    public const int MaxBlockLength = 16 * 1024 * 1024;

    private const uint PcapMicroMagic = 0xA1B2C3D4;
    private const uint PcapNanoMagic = 0xA1B23C4D;
    private const uint SectionHeaderType = 0x0A0D0D0A;
    private const uint ByteOrderMagic = 0x1A2B3C4D;
    private const uint InterfaceDescriptionType = 1;
    private const uint ObsoletePacketType = 2;
    private const uint SimplePacketType = 3;
    private const uint EnhancedPacketType = 6;
    private const int PcapFileHeaderLength = 24;
    private const ushort PcapMajorVersion = 2;
    private const ushort PcapngMajorVersion = 1;
    private const int PcapRecordHeaderLength = 16;

    /// <summary>A read shorter than this means the source had no more ready: parse what there is.</summary>
    private const int SmallRead = 32 * 1024;

    /// <summary>Buffered bytes after which parsing starts even if the source has more ready.</summary>
    private const int RefillTarget = 1024 * 1024;

    /// <summary>
    /// How far ahead of the record being delivered the mapped file is asked into the cache: one page,
    /// about eight average packets, so the lines arrive while the handler works on the packets
    /// before them. 2, 4 and 8 KiB measured alike; 1 KiB less well.
    /// </summary>
    private const int PrefetchDistance = 4096;

    private const int CacheLineLength = 64;

    private readonly Stream _stream;
    private readonly List<Interface> _interfaces = [];
    private readonly int _bufferSize;

    /// <summary>Not allocated for a regular file, which is mapped instead (unless mapping it fails).</summary>
    private byte[] _buffer = [];
    private int _start;
    private int _end;
    private int _prefetched;

    /// <summary>Offset in the stream of the buffer's (or the mapped window's) first byte.</summary>
    private long _base;
    private unsafe byte* _mapped;
    private bool _endOfStream;
    private long _streamBytes;

    private Format _format;
    private bool _bigEndian;
    private bool _sectionHeaderRead;
    private bool _pcapNanoseconds;
    private uint _pcapSnapLength;

    /// <summary>pcapng blocks read whole so far (the one being read is number <c>_blocks + 1</c>).</summary>
    private long _blocks;

    /// <summary>Stream offset where reading began (a mapped file may be read from a later position).</summary>
    private long _origin;
    private LinkType _pcapLinkType;
    private long _lastTimestamp;

    /// <param name="stream">The capture; read from its current position to its end.</param>
    /// <param name="bufferSize">Read buffer; large reads keep system calls rare. Default 4 MiB.</param>
    public CaptureReader(Stream stream, int bufferSize = 4 * 1024 * 1024)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 2 * MaxPacketLength);
        _stream = stream;
        _bufferSize = bufferSize;
        if (stream is not FileStream { CanSeek: true })
        {
            _buffer = new byte[bufferSize];
        }
    }

    private enum Format
    {
        Unknown,
        Pcap,
        Pcapng,
    }

    private enum Step
    {
        NeedMore,
        Failed,
    }

    /// <summary>Packets delivered so far.</summary>
    public long Packets { get; private set; }

    /// <summary>Captured bytes of the packets delivered so far.</summary>
    public long CapturedBytes { get; private set; }

    /// <summary>The first four bytes of the stream (for error messages).</summary>
    public uint Magic { get; private set; }

    /// <summary>True once the format is known to be pcapng.</summary>
    public bool IsPcapng => _format == Format.Pcapng;

    /// <summary>
    /// Where reading stopped: the offset, from the capture's first byte, of the damaged field (a
    /// block's length, an option's header, a record's captured length) or of the record cut short;
    /// -1 after a clean end or when there is no capture to point into.
    /// </summary>
    public long ErrorOffset { get; private set; } = -1;

    /// <summary>
    /// The 1-based number of the pcap record or pcapng block (the section header is block 1) where
    /// reading stopped; 0 when the problem is in the pcap file header or there is none.
    /// </summary>
    public long ErrorRecord { get; private set; }

    /// <summary>What was found where reading stopped (the lengths, codes or versions involved), or null.</summary>
    public string? ErrorDetail { get; private set; }

    /// <summary>The kind of pcapng block where reading stopped (<c>Enhanced Packet Block</c>, ...), or null.</summary>
    public string? ErrorBlockName { get; private set; }

    /// <summary>The error of the last <see cref="ReadAllAsync"/> step that failed.</summary>
    private CaptureError _error;

    /// <summary>
    /// Reads the whole capture, calling <paramref name="handler"/> for each packet in order.
    /// Returns <see cref="CaptureError.None"/> at a clean end, or why reading stopped early.
    /// </summary>
    public async Task<CaptureError> ReadAllAsync<THandler>(THandler handler, CancellationToken cancellationToken = default)
        where THandler : struct, IPacketHandler
    {
        // The mapped path never waits on the stream, so honour a token cancelled before the start.
        cancellationToken.ThrowIfCancellationRequested();
        if (_stream is FileStream { CanSeek: true } file && file.Length - file.Position > 0
            && MappedFileWindow.TryOpen(file.SafeFileHandle, file.Length, file.Position) is { } window)
        {
            return ReadMapped(window, file.Position, ref handler);
        }

        while (true)
        {
            await FillAsync(cancellationToken).ConfigureAwait(false);
            if (Parse(ref handler) == Step.Failed)
            {
                return _error;
            }

            if (_endOfStream)
            {
                return Finish();
            }
        }
    }

    /// <summary>
    /// A regular file is parsed in place in the page cache, through a window mapped ahead of the
    /// parser (<see cref="MappedFileWindow"/>), without copying every byte into a buffer first (the
    /// copy was a sixth of a replay's time). Pipes and terminals, which cannot be mapped, take the
    /// buffered path.
    /// </summary>
    private unsafe CaptureError ReadMapped<THandler>(MappedFileWindow window, long offset, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        using (window)
        {
            try
            {
                _streamBytes = window.FileLength - offset;
                _origin = offset;
                _endOfStream = true;
                _mapped = window.Address;
                _base = window.Offset;
                _start = (int)(offset - window.Offset);
                _end = window.Length;
                _prefetched = _start;
                while (true)
                {
                    if (Parse(ref handler) == Step.Failed)
                    {
                        return _error;
                    }

                    if (window.AtEnd)
                    {
                        return Finish();
                    }

                    // The rest of this window is less than a record: slide to where that record starts.
                    var next = _base + _start;
                    window.MoveTo(next);
                    _mapped = window.Address;
                    _base = window.Offset;
                    _start = (int)(next - window.Offset);
                    _end = window.Length;
                    _prefetched = _start;
                }
            }
            finally
            {
                _mapped = null;
            }
        }
    }

    /// <summary>The bytes not parsed yet: the rest of the buffer, or of the mapped window.</summary>
    private unsafe ReadOnlySpan<byte> Available() => _mapped != null
        ? new ReadOnlySpan<byte>(_mapped + _start, _end - _start)
        : _buffer.AsSpan(_start, _end - _start);

    private CaptureError Finish()
    {
        if (_streamBytes == 0)
        {
            return CaptureError.Empty;
        }

        var c = CultureInfo.InvariantCulture;
        if (_format == Format.Unknown)
        {
            // Fewer bytes than a magic number, or a pcap header cut short.
            return _end - _start < 4 || Magic is PcapMicroMagic or PcapNanoMagic || IsSwappedPcapMagic(Magic)
                ? Fail(CaptureError.HeaderTruncated, OffsetOf(_end), 0, string.Create(c, $"the file ends after {OffsetOf(_end)} bytes, inside its {(_end - _start < 4 ? "magic number" : "24-byte pcap header")}"))
                : Fail(CaptureError.NotACapture, -1, 0, null);
        }

        if (_format == Format.Pcapng && !_sectionHeaderRead)
        {
            // A pcapng's file header is its first section header block.
            return Fail(CaptureError.HeaderTruncated, OffsetOf(_end), 1, string.Create(c, $"the file ends after {OffsetOf(_end)} bytes, inside its first Section Header Block"));
        }

        if (_start == _end)
        {
            return CaptureError.None;
        }

        var record = _format == Format.Pcap ? Packets + 1 : _blocks + 1;
        return Fail(CaptureError.RecordTruncated, OffsetOf(_start), record, string.Create(c, $"only {_end - _start} bytes of the {(_format == Format.Pcap ? "record" : "block")} are left in the file"));
    }

    /// <remarks>
    /// Pooled: a pipe that is drained suspends every call, and a fresh state machine box per refill
    /// would be garbage proportional to the number of reads.
    /// </remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            // Move the partial record to the front so it can be completed contiguously.
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _base += _start;
            _end -= _start;
            _start = 0;
        }

        if (_buffer.Length == 0)
        {
            _buffer = new byte[_bufferSize];
        }
        else if (_end == _buffer.Length)
        {
            // Only a pcapng block larger than the buffer gets here; blocks are bounded.
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxBlockLength + 16));
        }

        // A source that trickles (tcpdump -U -w - | ...) gets its packets handed over after every
        // small read, at once; a fast one (a pipe from cat, a file) is read until 1 MiB is
        // buffered, so parsing is not interrupted every few kilobytes.
        while (true)
        {
            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _endOfStream = true;
                return;
            }

            _end += read;
            _streamBytes += read;
            if (read < SmallRead || _end >= RefillTarget || _end == _buffer.Length)
            {
                return;
            }
        }
    }

    private Step Parse<THandler>(ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        if (_format == Format.Unknown && !TryReadFileHeader())
        {
            return _error != CaptureError.None ? Step.Failed : Step.NeedMore;
        }

        return _format == Format.Pcap ? ParsePcap(ref handler) : ParsePcapng(ref handler);
    }

    /// <summary>Offset from the capture's first byte of the byte at <paramref name="index"/> of the buffer or window.</summary>
    private long OffsetOf(int index) => _base + index - _origin;

    /// <summary>Records where and why reading stops; returns <paramref name="error"/>.</summary>
    private CaptureError Fail(CaptureError error, long offset, long record, string? detail)
    {
        _error = error;
        ErrorOffset = offset;
        ErrorRecord = record;
        ErrorDetail = detail;
        return error;
    }

    private bool TryReadFileHeader()
    {
        var available = Available();
        if (available.Length < 4)
        {
            return false;
        }

        Magic = BinaryPrimitives.ReadUInt32BigEndian(available);
        var littleEndianMagic = BinaryPrimitives.ReadUInt32LittleEndian(available);
        if (Magic == SectionHeaderType)
        {
            // The section header's own byte-order magic is read with the block.
            _format = Format.Pcapng;
            return true;
        }

        if (littleEndianMagic is PcapMicroMagic or PcapNanoMagic)
        {
            _bigEndian = false;
        }
        else if (Magic is PcapMicroMagic or PcapNanoMagic)
        {
            _bigEndian = true;
        }
        else
        {
            Fail(CaptureError.NotACapture, -1, 0, null);
            return false;
        }

        if (available.Length < PcapFileHeaderLength)
        {
            return false;
        }

        // draft-ietf-opsawg-pcap section 4: major version 2 (minor 4; older writers used lower
        // minors, which lay records out the same). Another major may lay them out differently.
        var major = ReadUInt16(available[4..]);
        if (major != PcapMajorVersion)
        {
            Fail(CaptureError.UnsupportedVersion, OffsetOf(_start + 4), 0, string.Create(CultureInfo.InvariantCulture, $"the file header says version {major}.{ReadUInt16(available[6..])}"));
            return false;
        }

        _pcapNanoseconds = ReadUInt32(available) == PcapNanoMagic;
        _pcapSnapLength = ReadUInt32(available[16..]);

        // LinkType and additional information field: the low 16 bits are the link type; the FCS
        // bits above them only say how many FCS bytes frames end with.
        _pcapLinkType = (LinkType)(ReadUInt32(available[20..]) & 0xFFFF);
        _start += PcapFileHeaderLength;
        _format = Format.Pcap;
        return true;
    }

    private Step ParsePcap<THandler>(ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        var nanosecondsPerFraction = _pcapNanoseconds ? 1L : 1_000L;
        var snapLength = _pcapSnapLength == 0 ? uint.MaxValue : _pcapSnapLength;
        while (true)
        {
            var available = Available();
            if (available.Length < PcapRecordHeaderLength)
            {
                return Step.NeedMore;
            }

            var capturedLength = ReadUInt32(available[8..]);
            if (capturedLength > MaxPacketLength || capturedLength > snapLength)
            {
                FailPcapRecord(capturedLength);
                return Step.Failed;
            }

            var recordLength = PcapRecordHeaderLength + (int)capturedLength;
            if (available.Length < recordLength)
            {
                return Step.NeedMore;
            }

            var timestamp = (ReadUInt32(available) * 1_000_000_000L) + (ReadUInt32(available[4..]) * nanosecondsPerFraction);
            var originalLength = (int)Math.Min(ReadUInt32(available[12..]), int.MaxValue);
            PrefetchAhead(_start + recordLength);
            handler.OnPacket(new CapturedPacket(timestamp, originalLength, _pcapLinkType), available.Slice(PcapRecordHeaderLength, (int)capturedLength));
            Packets++;
            CapturedBytes += capturedLength;
            _start += recordLength;
        }
    }

    /// <summary>Out of the loop: the error path formats a message, which the packet path must not carry.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FailPcapRecord(uint capturedLength)
    {
        var c = CultureInfo.InvariantCulture;
        var record = Packets + 1;
        if (capturedLength > MaxPacketLength)
        {
            Fail(CaptureError.RecordTooLarge, OffsetOf(_start + 8), record, string.Create(c, $"its captured length is {capturedLength} bytes"));
        }
        else
        {
            Fail(CaptureError.RecordExceedsSnapLength, OffsetOf(_start + 8), record, string.Create(c, $"its captured length is {capturedLength} bytes, the file header's snapshot length {_pcapSnapLength}"));
        }
    }

    private void Deliver<THandler>(in CapturedPacket packet, ReadOnlySpan<byte> data, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        handler.OnPacket(packet, data);
        Packets++;
        CapturedBytes += data.Length;
    }

    /// <summary>
    /// Asks every cache line up to <see cref="PrefetchDistance"/> past <paramref name="recordEnd"/>
    /// into the cache. Without it, the first load of every record's header missed the cache (a third
    /// of a replay's time): the handler reads only the first lines of each packet, a pattern too
    /// sparse for the hardware prefetcher, and a record's start is known only once the one before it
    /// is read, so prefetching "the next record" waits on memory just the same. Sweeping a fixed
    /// distance of bytes needs no header. The buffered path is not swept: its bytes were just
    /// copied in and are still in the cache.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void PrefetchAhead(int recordEnd)
    {
        if (Sse.IsSupported && _mapped != null)
        {
            var target = Math.Min(recordEnd + PrefetchDistance, _end);
            while (_prefetched < target)
            {
                Sse.Prefetch0(_mapped + _prefetched);
                _prefetched += CacheLineLength;
            }
        }
    }

    private static bool IsSwappedPcapMagic(uint magic) =>
        BinaryPrimitives.ReverseEndianness(magic) is PcapMicroMagic or PcapNanoMagic;

    private uint ReadUInt32(ReadOnlySpan<byte> source) =>
        _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(source) : BinaryPrimitives.ReadUInt32LittleEndian(source);

    private ushort ReadUInt16(ReadOnlySpan<byte> source) =>
        _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(source) : BinaryPrimitives.ReadUInt16LittleEndian(source);

    private ulong ReadUInt64(ReadOnlySpan<byte> source) =>
        _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(source) : BinaryPrimitives.ReadUInt64LittleEndian(source);
}
