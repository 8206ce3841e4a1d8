using System.Buffers.Binary;
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
/// straight into our own buffer is simpler and as fast. Errors are values (<see cref="CaptureError"/>);
/// only the stream's own I/O exceptions propagate.
/// </remarks>
public sealed class CaptureReader
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
    private byte[] _buffer;
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
    private LinkType _pcapLinkType;
    private long _lastTimestamp;

    /// <param name="stream">The capture; read from its current position to its end.</param>
    /// <param name="bufferSize">Read buffer; large reads keep system calls rare. Default 4 MiB.</param>
    public CaptureReader(Stream stream, int bufferSize = 4 * 1024 * 1024)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 2 * MaxPacketLength);
        _stream = stream;
        _buffer = new byte[bufferSize];
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

        if (_format == Format.Unknown)
        {
            // Fewer bytes than a magic number, or a pcap header cut short.
            return _end - _start < 4 || Magic is PcapMicroMagic or PcapNanoMagic || IsSwappedPcapMagic(Magic)
                ? CaptureError.HeaderTruncated
                : CaptureError.NotACapture;
        }

        if (_format == Format.Pcapng && !_sectionHeaderRead)
        {
            // A pcapng's file header is its first section header block.
            return CaptureError.HeaderTruncated;
        }

        return _start == _end ? CaptureError.None : CaptureError.RecordTruncated;
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

        if (_end == _buffer.Length)
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
            _error = CaptureError.NotACapture;
            return false;
        }

        if (available.Length < PcapFileHeaderLength)
        {
            return false;
        }

        // draft-ietf-opsawg-pcap section 4: major version 2 (minor 4; older writers used lower
        // minors, which lay records out the same). Another major may lay them out differently.
        if (ReadUInt16(available[4..]) != PcapMajorVersion)
        {
            _error = CaptureError.UnsupportedVersion;
            return false;
        }

        _pcapNanoseconds = ReadUInt32(available) == PcapNanoMagic;

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
        while (true)
        {
            var available = Available();
            if (available.Length < PcapRecordHeaderLength)
            {
                return Step.NeedMore;
            }

            var capturedLength = ReadUInt32(available[8..]);
            if (capturedLength > MaxPacketLength)
            {
                _error = CaptureError.RecordTooLarge;
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

    private Step ParsePcapng<THandler>(ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        while (true)
        {
            var available = Available();
            if (available.Length < 12)
            {
                return Step.NeedMore;
            }

            var type = BinaryPrimitives.ReadUInt32BigEndian(available);
            if (type == SectionHeaderType)
            {
                // A new section: its byte-order magic decides how everything after it is read,
                // and its interfaces replace the previous section's.
                var byteOrder = BinaryPrimitives.ReadUInt32LittleEndian(available[8..]);
                if (byteOrder == ByteOrderMagic)
                {
                    _bigEndian = false;
                }
                else if (BinaryPrimitives.ReverseEndianness(byteOrder) == ByteOrderMagic)
                {
                    _bigEndian = true;
                }
                else
                {
                    _error = CaptureError.BlockCorrupt;
                    return Step.Failed;
                }

                _interfaces.Clear();
            }
            else
            {
                type = ReadUInt32(available);
            }

            var length = ReadUInt32(available[4..]);
            if (length < 12 || length % 4 != 0 || length > MaxBlockLength)
            {
                _error = CaptureError.BlockCorrupt;
                return Step.Failed;
            }

            if (available.Length < length)
            {
                return Step.NeedMore;
            }

            PrefetchAhead(_start + (int)length);
            var block = available[..(int)length];
            if (ReadUInt32(block[^4..]) != length)
            {
                _error = CaptureError.BlockCorrupt;
                return Step.Failed;
            }

            var body = block[8..^4];
            var error = type switch
            {
                SectionHeaderType => ReadSectionHeader(body),
                InterfaceDescriptionType => ReadInterface(body),
                EnhancedPacketType => ReadEnhancedPacket(body, ref handler),
                SimplePacketType => ReadSimplePacket(body, ref handler),
                ObsoletePacketType => ReadObsoletePacket(body, ref handler),
                _ => CaptureError.None, // other blocks (name resolution, statistics, custom) are skipped
            };
            if (error != CaptureError.None)
            {
                _error = error;
                return Step.Failed;
            }

            _start += (int)length;
            _sectionHeaderRead |= type == SectionHeaderType;
        }
    }

    private CaptureError ReadSectionHeader(ReadOnlySpan<byte> body)
    {
        // draft-ietf-opsawg-pcapng section 4.1: byte-order magic, major, minor, section length.
        if (body.Length < 16)
        {
            return CaptureError.BlockCorrupt;
        }

        // Major version 1 is the only one defined; a reader of one major cannot read another's
        // blocks. Minor versions (1.0, and 1.2 from old writers) share the layout.
        return ReadUInt16(body[4..]) == PcapngMajorVersion ? CaptureError.None : CaptureError.UnsupportedVersion;
    }

    private CaptureError ReadInterface(ReadOnlySpan<byte> body)
    {
        if (body.Length < 8)
        {
            return CaptureError.BlockCorrupt;
        }

        var linkType = (LinkType)ReadUInt16(body);
        var snapLength = ReadUInt32(body[4..]);
        long unitsPerSecond = 1_000_000;
        long offsetNanos = 0;
        var options = body[8..];
        while (options.Length >= 4)
        {
            var code = ReadUInt16(options);
            var valueLength = ReadUInt16(options[2..]);
            if (code == 0 || options.Length < 4 + valueLength)
            {
                break;
            }

            var value = options.Slice(4, valueLength);
            if (code == 9 && valueLength >= 1)
            {
                // if_tsresol: high bit clear = 10^-n seconds, set = 2^-n seconds.
                var resolution = value[0];
                var exponent = resolution & 0x7F;
                unitsPerSecond = (resolution & 0x80) != 0
                    ? 1L << Math.Min(exponent, 62)
                    : (long)Math.Pow(10, Math.Min(exponent, 18));
            }
            else if (code == 14 && valueLength >= 8)
            {
                // if_tsoffset: seconds to add to every timestamp of this interface.
                offsetNanos = (long)ReadUInt64(value) * 1_000_000_000L;
            }

            options = options[Math.Min(options.Length, 4 + ((valueLength + 3) & ~3))..];
        }

        _interfaces.Add(new Interface(linkType, unitsPerSecond, offsetNanos, snapLength));
        return CaptureError.None;
    }

    private CaptureError ReadEnhancedPacket<THandler>(ReadOnlySpan<byte> body, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        if (body.Length < 20)
        {
            return CaptureError.BlockCorrupt;
        }

        var interfaceId = ReadUInt32(body);
        var timestamp = ((ulong)ReadUInt32(body[4..]) << 32) | ReadUInt32(body[8..]);
        return DeliverTimed(interfaceId, timestamp, ReadUInt32(body[12..]), ReadUInt32(body[16..]), body[20..], ref handler);
    }

    private CaptureError ReadObsoletePacket<THandler>(ReadOnlySpan<byte> body, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        if (body.Length < 20)
        {
            return CaptureError.BlockCorrupt;
        }

        var interfaceId = ReadUInt16(body);
        var timestamp = ((ulong)ReadUInt32(body[4..]) << 32) | ReadUInt32(body[8..]);
        return DeliverTimed(interfaceId, timestamp, ReadUInt32(body[12..]), ReadUInt32(body[16..]), body[20..], ref handler);
    }

    private CaptureError DeliverTimed<THandler>(uint interfaceId, ulong timestamp, uint capturedLength, uint originalLength, ReadOnlySpan<byte> data, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        if (interfaceId >= (uint)_interfaces.Count)
        {
            return CaptureError.UnknownInterface;
        }

        if (capturedLength > MaxPacketLength)
        {
            return CaptureError.RecordTooLarge;
        }

        if (capturedLength > (uint)data.Length)
        {
            return CaptureError.BlockCorrupt;
        }

        var description = _interfaces[(int)interfaceId];
        _lastTimestamp = description.ToNanoseconds(timestamp);
        Deliver(new CapturedPacket(_lastTimestamp, (int)Math.Min(originalLength, int.MaxValue), description.LinkType), data[..(int)capturedLength], ref handler);
        return CaptureError.None;
    }

    private CaptureError ReadSimplePacket<THandler>(ReadOnlySpan<byte> body, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        if (body.Length < 4)
        {
            return CaptureError.BlockCorrupt;
        }

        if (_interfaces.Count == 0)
        {
            return CaptureError.UnknownInterface;
        }

        // A simple packet block belongs to interface 0 and has no timestamp: it inherits the last
        // one seen, which keeps packet time monotonic for the flow table.
        var description = _interfaces[0];
        var originalLength = ReadUInt32(body);
        var captured = (uint)(body.Length - 4);
        if (originalLength < captured)
        {
            captured = originalLength;
        }

        if (description.SnapLength != 0 && description.SnapLength < captured)
        {
            captured = description.SnapLength;
        }

        if (captured > MaxPacketLength)
        {
            return CaptureError.RecordTooLarge;
        }

        Deliver(new CapturedPacket(_lastTimestamp, (int)Math.Min(originalLength, int.MaxValue), description.LinkType), body.Slice(4, (int)captured), ref handler);
        return CaptureError.None;
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

    private readonly record struct Interface(LinkType LinkType, long UnitsPerSecond, long OffsetNanos, uint SnapLength)
    {
        public long ToNanoseconds(ulong units) => UnitsPerSecond switch
        {
            1_000_000_000 => (long)units + OffsetNanos,
            1_000_000 => ((long)units * 1_000) + OffsetNanos,
            _ => (long)((UInt128)units * 1_000_000_000UL / (ulong)UnitsPerSecond) + OffsetNanos,
        };
    }
}
