using System.Buffers.Binary;
using VtapCollector.Decoding;

namespace VtapCollector.Capture;

/// <summary>
/// Writes classic pcap (draft-ietf-opsawg-pcap section 4), little-endian, with microsecond or
/// nanosecond timestamps. Used to build test captures and benchmark corpora.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _nanoseconds;
    private readonly byte[] _header = new byte[16];

    public PcapWriter(Stream stream, LinkType linkType, bool nanoseconds = false, int snapLength = CaptureReader.MaxPacketLength)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _nanoseconds = nanoseconds;
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, nanoseconds ? 0xA1B23C4Du : 0xA1B2C3D4u);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);   // major version
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);   // minor version
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], 0);   // reserved (was thiszone)
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);  // reserved (was sigfigs)
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)linkType);
        _stream.Write(header);
    }

    /// <summary>Appends one packet; <paramref name="originalLength"/> defaults to the data's length.</summary>
    public void Write(long timestampNanos, ReadOnlySpan<byte> data, int originalLength = -1)
    {
        var seconds = timestampNanos / 1_000_000_000L;
        var fraction = timestampNanos % 1_000_000_000L;
        BinaryPrimitives.WriteUInt32LittleEndian(_header, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(4), (uint)(_nanoseconds ? fraction : fraction / 1_000));
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(12), (uint)(originalLength < 0 ? data.Length : originalLength));
        _stream.Write(_header);
        _stream.Write(data);
    }

    public void Dispose() => _stream.Flush();
}
