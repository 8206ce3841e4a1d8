using System.Buffers.Binary;
using System.Globalization;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests;

/// <summary>One delivered packet: the reader's metadata and a copy of its bytes.</summary>
internal sealed record RecordedPacket(long TimestampNanos, int OriginalLength, LinkType LinkType, byte[] Data)
{
    public override string ToString() =>
        $"ts={TimestampNanos} orig={OriginalLength} link={LinkType} data[{Data.Length}]={Convert.ToHexString(Data.AsSpan(0, Math.Min(Data.Length, 16)))}";
}

/// <summary>The class the (copied-by-value) handler struct writes into.</summary>
internal sealed class PacketLog
{
    public List<RecordedPacket> Packets { get; } = [];
}

/// <summary>
/// Records every packet. A struct is passed to the reader by value, so the list lives in a class
/// the struct only refers to.
/// </summary>
internal readonly struct RecordingHandler(PacketLog log) : IPacketHandler
{
    public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data) =>
        log.Packets.Add(new RecordedPacket(packet.TimestampNanos, packet.OriginalLength, packet.LinkType, data.ToArray()));
}

internal sealed class PacketCounter
{
    public long Count;
    public long Bytes;
    public long Checksum;
}

/// <summary>Counts packets without allocating (for the allocation and size tests).</summary>
internal readonly struct CountingHandler(PacketCounter counter) : IPacketHandler
{
    public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data)
    {
        counter.Count++;
        counter.Bytes += data.Length;
        counter.Checksum += packet.TimestampNanos ^ (data.Length > 0 ? data[0] : 0);
    }
}

/// <summary>The outcome of reading one capture to its end.</summary>
internal sealed record ReadResult(CaptureError Error, List<RecordedPacket> Packets, CaptureReader Reader);

internal static class Captures
{
    public static ReadResult Read(byte[] capture, int bufferSize = 4 * 1024 * 1024) =>
        Read(new MemoryStream(capture, writable: false), bufferSize);

    public static ReadResult Read(Stream stream, int bufferSize = 4 * 1024 * 1024)
    {
        var log = new PacketLog();
        var reader = new CaptureReader(stream, bufferSize);
        var error = reader.ReadAllAsync(new RecordingHandler(log)).GetAwaiter().GetResult();
        return new ReadResult(error, log.Packets, reader);
    }

    public static async Task<ReadResult> ReadAsync(Stream stream, int bufferSize = 4 * 1024 * 1024)
    {
        var log = new PacketLog();
        var reader = new CaptureReader(stream, bufferSize);
        var error = await reader.ReadAllAsync(new RecordingHandler(log));
        return new ReadResult(error, log.Packets, reader);
    }

    public static ReadResult ReadFile(string path)
    {
        using var file = File.OpenRead(path);
        return Read(file);
    }

    public static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "data", "tcpdump", name);

    /// <summary>Nanoseconds since the Unix epoch of a UTC date and time.</summary>
    public static long Nanos(int year, int month, int day, int hour, int minute, int second, long fractionNanos) =>
        ((new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc) - DateTime.UnixEpoch).Ticks * 100) + fractionNanos;

    public static void AssertSamePackets(IReadOnlyList<RecordedPacket> expected, IReadOnlyList<RecordedPacket> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            Assert.True(
                e.TimestampNanos == a.TimestampNanos && e.OriginalLength == a.OriginalLength && e.LinkType == a.LinkType && e.Data.AsSpan().SequenceEqual(a.Data),
                $"packet {i} differs: expected {e}, actual {a}");
        }
    }
}

/// <summary>Bytes from a hex string with spaces (fixtures are written field by field).</summary>
internal static class Hex
{
    public static byte[] Parse(string hex) =>
        Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
}

/// <summary>Appends integers in one byte order; the building block of the pcapng fixtures.</summary>
internal sealed class ByteWriter(bool bigEndian)
{
    private readonly List<byte> _bytes = [];

    public bool BigEndian { get; } = bigEndian;

    public int Length => _bytes.Count;

    public ByteWriter U8(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    public ByteWriter U16(ushort value)
    {
        Span<byte> span = stackalloc byte[2];
        if (BigEndian)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(span, value);
        }

        return Bytes(span);
    }

    public ByteWriter U32(uint value)
    {
        Span<byte> span = stackalloc byte[4];
        if (BigEndian)
        {
            BinaryPrimitives.WriteUInt32BigEndian(span, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span, value);
        }

        return Bytes(span);
    }

    public ByteWriter U64(ulong value)
    {
        Span<byte> span = stackalloc byte[8];
        if (BigEndian)
        {
            BinaryPrimitives.WriteUInt64BigEndian(span, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span, value);
        }

        return Bytes(span);
    }

    public ByteWriter Bytes(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            _bytes.Add(b);
        }

        return this;
    }

    /// <summary>Zero bytes up to the next multiple of 4 (pcapng pads every field to 32 bits).</summary>
    public ByteWriter Pad4()
    {
        while (_bytes.Count % 4 != 0)
        {
            _bytes.Add(0);
        }

        return this;
    }

    public byte[] ToArray() => [.. _bytes];
}

/// <summary>One pcapng option: code, value (padded on write), as in draft-ietf-opsawg-pcapng section 3.5.</summary>
internal readonly record struct PcapngOption(ushort Code, byte[] Value)
{
    /// <summary>if_tsresol (code 9): 10^-n seconds, or 2^-n with the high bit set.</summary>
    public static PcapngOption TsResol(byte resolution) => new(9, [resolution]);

    /// <summary>if_tsoffset (code 14): signed seconds added to every timestamp; value in the section's byte order.</summary>
    public static PcapngOption TsOffset(long seconds, bool bigEndian)
    {
        var value = new byte[8];
        if (bigEndian)
        {
            BinaryPrimitives.WriteInt64BigEndian(value, seconds);
        }
        else
        {
            BinaryPrimitives.WriteInt64LittleEndian(value, seconds);
        }

        return new(14, value);
    }

    /// <summary>if_name (code 2), a UTF-8 string, to have an option the reader skips.</summary>
    public static PcapngOption Name(string name) => new(2, System.Text.Encoding.UTF8.GetBytes(name));
}

/// <summary>
/// Builds pcapng streams block by block (draft-ietf-opsawg-pcapng section 4). Every block is
/// type, total length, body, total length again; the byte order is the current section's.
/// </summary>
internal sealed class PcapngBuilder
{
    private readonly List<byte> _stream = [];
    private bool _bigEndian;

    /// <summary>Block offsets, so tests can cut or corrupt a chosen block.</summary>
    public List<int> BlockStarts { get; } = [];

    /// <summary>Where each packet block (EPB, SPB, PB) ends: a cut there keeps exactly the packets before.</summary>
    public List<int> PacketEnds { get; } = [];

    public int Length => _stream.Count;

    /// <summary>Section Header Block: starts a section in the given byte order.</summary>
    public PcapngBuilder Shb(bool bigEndian, params PcapngOption[] options) => Shb(bigEndian, 1, 0, options);

    /// <summary>Section Header Block with a chosen format version (1.0 is the current one).</summary>
    public PcapngBuilder Shb(bool bigEndian, ushort majorVersion, ushort minorVersion, params PcapngOption[] options)
    {
        _bigEndian = bigEndian;
        var body = new ByteWriter(bigEndian)
            .U32(0x1A2B3C4D)               // byte-order magic, written in the section's byte order
            .U16(majorVersion)             // major version
            .U16(minorVersion)             // minor version
            .U64(ulong.MaxValue);          // section length: -1, not given
        return Block(0x0A0D0D0A, WithOptions(body, options));
    }

    /// <summary>Interface Description Block.</summary>
    public PcapngBuilder Idb(LinkType linkType, uint snapLength = 0, params PcapngOption[] options) =>
        Idb((ushort)linkType, snapLength, options);

    public PcapngBuilder Idb(ushort linkType, uint snapLength, params PcapngOption[] options)
    {
        var body = new ByteWriter(_bigEndian)
            .U16(linkType)                 // LinkType
            .U16(0)                        // reserved
            .U32(snapLength);              // SnapLen (0 = no limit)
        return Block(1, WithOptions(body, options));
    }

    /// <summary>Enhanced Packet Block: interface, 64-bit timestamp in the interface's units, lengths, data.</summary>
    public PcapngBuilder Epb(uint interfaceId, ulong timestamp, byte[] data, uint? originalLength = null, uint? capturedLength = null, params PcapngOption[] options)
    {
        var body = new ByteWriter(_bigEndian)
            .U32(interfaceId)                          // Interface ID
            .U32((uint)(timestamp >> 32))              // Timestamp (upper 32 bits)
            .U32((uint)timestamp)                      // Timestamp (lower 32 bits)
            .U32(capturedLength ?? (uint)data.Length)  // Captured Packet Length
            .U32(originalLength ?? (uint)data.Length)  // Original Packet Length
            .Bytes(data)                               // Packet Data
            .Pad4();                                   // padding to 32 bits
        Block(6, WithOptions(body, options));
        PacketEnds.Add(Length);
        return this;
    }

    /// <summary>Simple Packet Block: interface 0, no timestamp, original length then data.</summary>
    public PcapngBuilder Spb(byte[] data, uint? originalLength = null)
    {
        var body = new ByteWriter(_bigEndian)
            .U32(originalLength ?? (uint)data.Length)  // Original Packet Length
            .Bytes(data)                               // Packet Data
            .Pad4();                                   // padding to 32 bits
        Block(3, body.ToArray());
        PacketEnds.Add(Length);
        return this;
    }

    /// <summary>Obsolete Packet Block (type 2): 16-bit interface ID and drops count.</summary>
    public PcapngBuilder Pb(ushort interfaceId, ulong timestamp, byte[] data, uint? originalLength = null)
    {
        var body = new ByteWriter(_bigEndian)
            .U16(interfaceId)                          // Interface ID
            .U16(7)                                    // Drops Count
            .U32((uint)(timestamp >> 32))              // Timestamp (upper 32 bits)
            .U32((uint)timestamp)                      // Timestamp (lower 32 bits)
            .U32((uint)data.Length)                    // Captured Packet Length
            .U32(originalLength ?? (uint)data.Length)  // Original Packet Length
            .Bytes(data)                               // Packet Data
            .Pad4();                                   // padding to 32 bits
        Block(2, body.ToArray());
        PacketEnds.Add(Length);
        return this;
    }

    /// <summary>Any block: type, total length, body (padded to 32 bits), total length.</summary>
    public PcapngBuilder Block(uint type, byte[] body)
    {
        var padded = (body.Length + 3) & ~3;
        var total = (uint)(12 + padded);
        var block = new ByteWriter(_bigEndian)
            .U32(type)                     // Block Type
            .U32(total)                    // Block Total Length
            .Bytes(body)                   // Block Body
            .Pad4()
            .U32(total);                   // Block Total Length, repeated
        BlockStarts.Add(_stream.Count);
        _stream.AddRange(block.ToArray());
        return this;
    }

    /// <summary>Raw bytes, for hand-made broken blocks.</summary>
    public PcapngBuilder Raw(byte[] bytes)
    {
        BlockStarts.Add(_stream.Count);
        _stream.AddRange(bytes);
        return this;
    }

    public byte[] ToArray() => [.. _stream];

    private byte[] WithOptions(ByteWriter body, PcapngOption[] options)
    {
        if (options.Length == 0)
        {
            return body.ToArray();
        }

        foreach (var option in options)
        {
            body.U16(option.Code)                      // Option Code
                .U16((ushort)option.Value.Length)      // Option Length
                .Bytes(option.Value)                   // Option Value
                .Pad4();                               // padding to 32 bits
        }

        return body.U16(0).U16(0).ToArray();           // opt_endofopt
    }
}

/// <summary>
/// Returns at most a few bytes per read, cycling through <paramref name="chunkSizes"/>, and
/// optionally completes each read asynchronously (a pipe that trickles).
/// </summary>
internal sealed class ChunkedStream(Stream inner, int[] chunkSizes, bool yieldEachRead = false) : Stream
{
    private int _next;

    public ChunkedStream(Stream inner, int chunkSize)
        : this(inner, [chunkSize])
    {
    }

    public int Reads { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var size = chunkSizes[_next];
        _next = (_next + 1) % chunkSizes.Length;
        Reads++;
        return inner.Read(buffer[..Math.Min(buffer.Length, size)]);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        yieldEachRead ? ReadLaterAsync(buffer) : new ValueTask<int>(Read(buffer.Span));

    private async ValueTask<int> ReadLaterAsync(Memory<byte> buffer)
    {
        await Task.Yield();
        return Read(buffer.Span);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// A pipe whose writer hands over one chunk at a time: each read returns the next chunk (or the end
/// once they are used up), and first calls <paramref name="beforeRead"/> with the read's index so a
/// test can see what the reader had delivered by then.
/// </summary>
internal sealed class ScriptedStream(byte[][] chunks, Action<int> beforeRead) : Stream
{
    private int _reads;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        beforeRead(_reads);
        if (_reads >= chunks.Length)
        {
            _reads++;
            return 0;
        }

        var chunk = chunks[_reads++];
        if (chunk.Length > buffer.Length)
        {
            throw new InvalidOperationException("the test's chunk is larger than the reader's free space");
        }

        chunk.CopyTo(buffer);
        return chunk.Length;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(Read(buffer.Span));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Reads normally, then fails as a broken pipe or disk would.</summary>
internal sealed class FailingStream(Stream inner, long failAt) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= failAt)
        {
            throw new IOException("the device went away");
        }

        var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, failAt - _position)]);
        _position += read;
        return read;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(Read(buffer.Span));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>A temporary file deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(string extension = ".pcap")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vtapcapture-" + Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture) + extension);
    }

    public string Path { get; }

    public void Dispose()
    {
        if (File.Exists(Path))
        {
            File.Delete(Path);
        }
    }
}
