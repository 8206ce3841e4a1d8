using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using VtapCollector.Decoding;

namespace VtapCollector.Capture;

/// <summary>
/// Writes pcapng (draft-ietf-opsawg-pcapng), little-endian: a Section Header Block, one Interface
/// Description Block per link type the first time a packet of that type comes (section 4.2 allows an
/// IDB anywhere before its first use), and an Enhanced Packet Block per packet with nanosecond
/// timestamps (if_tsresol 9) and an optional comment (opt_comment, section 3.5), which Wireshark,
/// tshark and tcpdump all display. Each block is framed in place in the caller's buffer (one copy of
/// the packet, no stream call per field); nothing is allocated per packet.
/// </summary>
public sealed class PcapngWriter
{
    private const uint SectionHeaderType = 0x0A0D0D0A;
    private const uint InterfaceDescriptionType = 0x00000001;
    private const uint EnhancedPacketType = 0x00000006;
    private const uint ByteOrderMagic = 0x1A2B3C4D;
    private const ushort OptEndOfOptions = 0;
    private const ushort OptComment = 1;
    private const ushort IfTsResol = 9;
    private const int MaxComment = 256;

    private readonly IBufferWriter<byte> _output;
    private readonly int _snapLength;
    private readonly LinkType[] _interfaces = new LinkType[8];
    private int _interfaceCount;

    /// <summary>Starts a section: writes the Section Header Block (with <paramref name="application"/> as shb_userappl when given).</summary>
    public PcapngWriter(IBufferWriter<byte> output, int snapLength = CaptureReader.MaxPacketLength, string? application = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _snapLength = snapLength;
        var appBytes = application is null ? [] : Encoding.UTF8.GetBytes(application);
        var optionsLength = appBytes.Length == 0 ? 0 : 4 + Pad4(appBytes.Length) + 4;
        var total = 28 + optionsLength;
        var s = output.GetSpan(total)[..total];
        s.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(s, SectionHeaderType);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)total);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], ByteOrderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(s[12..], 1);             // major version
        BinaryPrimitives.WriteUInt16LittleEndian(s[14..], 0);             // minor version
        BinaryPrimitives.WriteInt64LittleEndian(s[16..], -1);             // section length: not given
        if (appBytes.Length > 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s[24..], 4);         // shb_userappl
            BinaryPrimitives.WriteUInt16LittleEndian(s[26..], (ushort)appBytes.Length);
            appBytes.CopyTo(s[28..]);
            // opt_endofopt is the zeroed word after the padded value.
        }

        BinaryPrimitives.WriteUInt32LittleEndian(s[(total - 4)..], (uint)total);
        output.Advance(total);
        BytesWritten = total;
    }

    /// <summary>Bytes written so far (all blocks).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>
    /// Appends one packet: <paramref name="data"/> as captured (already cut to the snap length),
    /// <paramref name="originalLength"/> its length on the wire, and an optional ASCII/UTF-8 comment of
    /// at most 256 bytes (longer is cut).
    /// </summary>
    public void Write(LinkType linkType, long timestampNanos, ReadOnlySpan<byte> data, int originalLength, ReadOnlySpan<byte> comment = default)
    {
        var interfaceId = InterfaceOf(linkType);
        if (comment.Length > MaxComment)
        {
            comment = comment[..MaxComment];
        }

        var dataPadded = Pad4(data.Length);
        var optionsLength = comment.IsEmpty ? 0 : 4 + Pad4(comment.Length) + 4;
        var total = 28 + dataPadded + optionsLength + 4;
        var block = _output.GetSpan(total)[..total];
        var ticks = (ulong)timestampNanos;
        BinaryPrimitives.WriteUInt32LittleEndian(block, EnhancedPacketType);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], (uint)total);
        BinaryPrimitives.WriteUInt32LittleEndian(block[8..], (uint)interfaceId);
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], (uint)(ticks >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(block[16..], (uint)ticks);
        BinaryPrimitives.WriteUInt32LittleEndian(block[20..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(block[24..], (uint)originalLength);

        // The padding's word zeroed first (a reused buffer holds old bytes), then the packet over it.
        if (dataPadded != data.Length)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(block[(24 + dataPadded)..], 0);
        }

        data.CopyTo(block[28..]);
        var tail = block[(28 + dataPadded)..];
        if (!comment.IsEmpty)
        {
            var padded = Pad4(comment.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(tail, OptComment);
            BinaryPrimitives.WriteUInt16LittleEndian(tail[2..], (ushort)comment.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(tail[padded..], 0);
            comment.CopyTo(tail[4..]);
            BinaryPrimitives.WriteUInt32LittleEndian(tail[(4 + padded)..], OptEndOfOptions);
            tail = tail[(4 + padded + 4)..];
        }

        BinaryPrimitives.WriteUInt32LittleEndian(tail, (uint)total);
        _output.Advance(total);
        BytesWritten += total;
    }

    /// <summary>The interface of a link type, writing its IDB the first time (snap length, if_tsresol 9: nanoseconds).</summary>
    private int InterfaceOf(LinkType linkType)
    {
        for (var i = 0; i < _interfaceCount; i++)
        {
            if (_interfaces[i] == linkType)
            {
                return i;
            }
        }

        if (_interfaceCount == _interfaces.Length)
        {
            throw new InvalidOperationException("A capture file holds at most eight link types.");
        }

        var block = _output.GetSpan(32)[..32];
        BinaryPrimitives.WriteUInt32LittleEndian(block, InterfaceDescriptionType);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], 32);
        BinaryPrimitives.WriteUInt16LittleEndian(block[8..], (ushort)linkType);
        BinaryPrimitives.WriteUInt16LittleEndian(block[10..], 0);            // reserved
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], (uint)_snapLength);
        BinaryPrimitives.WriteUInt16LittleEndian(block[16..], IfTsResol);
        BinaryPrimitives.WriteUInt16LittleEndian(block[18..], 1);
        block[20] = 9;                                                     // 10^-9 s
        block[21] = 0; block[22] = 0; block[23] = 0;                       // padding
        BinaryPrimitives.WriteUInt32LittleEndian(block[24..], OptEndOfOptions);
        BinaryPrimitives.WriteUInt32LittleEndian(block[28..], 32);
        _output.Advance(32);
        BytesWritten += 32;
        _interfaces[_interfaceCount] = linkType;
        return _interfaceCount++;
    }

    private static int Pad4(int length) => (length + 3) & ~3;
}
