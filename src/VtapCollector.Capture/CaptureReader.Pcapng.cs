using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using VtapCollector.Decoding;

namespace VtapCollector.Capture;

/// <summary>The pcapng half of <see cref="CaptureReader"/> (draft-ietf-opsawg-pcapng): blocks, options, interfaces and the three packet blocks.</summary>
public sealed partial class CaptureReader
{
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
                    FailBlock(CaptureError.ByteOrderMagicInvalid, 8, type, string.Create(CultureInfo.InvariantCulture, $"its byte-order magic is 0x{BinaryPrimitives.ReadUInt32BigEndian(available[8..]):x8}"));
                    return Step.Failed;
                }

                _interfaces.Clear();
            }
            else
            {
                type = ReadUInt32(available);
            }

            // draft-ietf-opsawg-pcapng section 3.1: the total length counts the whole block, is a
            // multiple of 4, and is repeated at the block's end.
            var length = ReadUInt32(available[4..]);
            var error = length < MinimumBlockLength(type) ? CaptureError.BlockTooShort
                : length % 4 != 0 ? CaptureError.BlockLengthNotMultipleOf4
                : length > MaxBlockLength ? CaptureError.BlockTooLarge
                : CaptureError.None;
            if (error != CaptureError.None)
            {
                FailBlock(error, 4, type, string.Create(CultureInfo.InvariantCulture, $"its total length is {length} bytes"));
                return Step.Failed;
            }

            if (available.Length < length)
            {
                return Step.NeedMore;
            }

            PrefetchAhead(_start + (int)length);
            var block = available[..(int)length];
            var trailer = ReadUInt32(block[^4..]);
            if (trailer != length)
            {
                FailBlock(CaptureError.BlockTrailerMismatch, (int)length - 4, type, string.Create(CultureInfo.InvariantCulture, $"its total length is {length} bytes at its start and {trailer} at its end"));
                return Step.Failed;
            }

            var body = block[8..^4];
            error = type switch
            {
                SectionHeaderType => ReadSectionHeader(body),
                InterfaceDescriptionType => ReadInterface(body),
                EnhancedPacketType => ReadEnhancedPacket(body, ref handler),
                SimplePacketType => ReadSimplePacket(body, ref handler),
                ObsoletePacketType => ReadObsoletePacket(body, ref handler),
                _ => CaptureError.None, // other blocks (name resolution, statistics, custom) are skipped unread
            };
            if (error != CaptureError.None)
            {
                return Step.Failed;
            }

            _blocks++;
            _start += (int)length;
            _sectionHeaderRead |= type == SectionHeaderType;
        }
    }

    /// <summary>
    /// The smallest total length of a block of <paramref name="type"/>: 12 bytes of framing plus the
    /// fixed fields of its body (draft-ietf-opsawg-pcapng sections 4.1 to 4.6).
    /// </summary>
    private static uint MinimumBlockLength(uint type) => type switch
    {
        SectionHeaderType => 12 + 16,        // byte-order magic, major, minor, section length
        InterfaceDescriptionType => 12 + 8,  // link type, reserved, snap length
        EnhancedPacketType => 12 + 20,       // interface, timestamp (2), captured, original lengths
        ObsoletePacketType => 12 + 20,       // interface, drops, timestamp (2), captured, original lengths
        SimplePacketType => 12 + 4,          // original length
        _ => 12,
    };

    /// <summary>A block's name, for error messages.</summary>
    private static string BlockName(uint type) => type switch
    {
        SectionHeaderType => "Section Header Block",
        InterfaceDescriptionType => "Interface Description Block",
        EnhancedPacketType => "Enhanced Packet Block",
        ObsoletePacketType => "Packet Block",
        SimplePacketType => "Simple Packet Block",
        _ => string.Create(CultureInfo.InvariantCulture, $"block type 0x{type:x8}"),
    };

    /// <summary>
    /// Records a problem in the block that starts at <c>_start</c>, at <paramref name="fieldOffset"/>
    /// bytes into it, and returns <paramref name="error"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private CaptureError FailBlock(CaptureError error, int fieldOffset, uint type, string detail)
    {
        ErrorBlockName = BlockName(type);
        return Fail(error, OffsetOf(_start + fieldOffset), _blocks + 1, detail);
    }

    private enum OptionStep
    {
        Option,
        End,
        Overrun,
    }

    /// <summary>
    /// Reads the next option of a block's option list (draft-ietf-opsawg-pcapng section 3.5: code,
    /// length, value padded to 32 bits). The list ends with opt_endofopt or, since that may be left
    /// out, with the block; an option whose header or value runs past the block is an overrun.
    /// </summary>
    private OptionStep NextOption(ref ReadOnlySpan<byte> options, out ushort code, out ushort length, out ReadOnlySpan<byte> value)
    {
        code = 0;
        length = 0;
        value = default;
        if (options.IsEmpty)
        {
            return OptionStep.End;
        }

        if (options.Length < 4)
        {
            return OptionStep.Overrun;
        }

        code = ReadUInt16(options);
        length = ReadUInt16(options[2..]);
        if (code == 0)
        {
            return OptionStep.End;
        }

        if (options.Length < 4 + length)
        {
            return OptionStep.Overrun;
        }

        value = options.Slice(4, length);
        options = options[Math.Min(options.Length, 4 + ((length + 3) & ~3))..];
        return OptionStep.Option;
    }

    /// <summary>
    /// Checks that the options of a block whose body is <paramref name="body"/> and whose fixed
    /// fields take <paramref name="fixedLength"/> bytes all lie inside it.
    /// </summary>
    private CaptureError CheckOptions(ReadOnlySpan<byte> body, int fixedLength, uint type)
    {
        var options = body[fixedLength..];
        while (true)
        {
            var at = body.Length - options.Length;
            switch (NextOption(ref options, out var code, out var length, out _))
            {
                case OptionStep.End:
                    return CaptureError.None;
                case OptionStep.Overrun:
                    return FailOption(type, at, code, length, options.Length);
            }
        }
    }

    /// <summary>An option at <paramref name="at"/> bytes into the body runs past the block.</summary>
    private CaptureError FailOption(uint type, int at, ushort code, ushort length, int remaining) =>
        FailBlock(CaptureError.OptionOverrunsBlock, 8 + at, type, remaining < 4
            ? string.Create(CultureInfo.InvariantCulture, $"the block ends {remaining} bytes into an option's 4-byte header")
            : string.Create(CultureInfo.InvariantCulture, $"option {code} declares {length} bytes but {remaining - 4} remain in the block"));

    private CaptureError ReadSectionHeader(ReadOnlySpan<byte> body)
    {
        // draft-ietf-opsawg-pcapng section 4.1: byte-order magic, major, minor, section length.
        // Major version 1 is the only one defined; a reader of one major cannot read another's
        // blocks. Minor versions (1.0, and 1.2 from old writers) share the layout.
        var major = ReadUInt16(body[4..]);
        if (major != PcapngMajorVersion)
        {
            return FailBlock(CaptureError.UnsupportedVersion, 12, SectionHeaderType, string.Create(CultureInfo.InvariantCulture, $"the section says version {major}.{ReadUInt16(body[6..])}"));
        }

        return CheckOptions(body, 16, SectionHeaderType);
    }

    private CaptureError ReadInterface(ReadOnlySpan<byte> body)
    {
        var linkType = (LinkType)ReadUInt16(body);
        var snapLength = ReadUInt32(body[4..]);
        long unitsPerSecond = 1_000_000;
        long offsetNanos = 0;
        var options = body[8..];
        while (true)
        {
            var at = body.Length - options.Length;
            var step = NextOption(ref options, out var code, out var length, out var value);
            if (step == OptionStep.End)
            {
                break;
            }

            if (step == OptionStep.Overrun)
            {
                return FailOption(InterfaceDescriptionType, at, code, length, options.Length);
            }

            if (code == 9 && value.Length >= 1)
            {
                // if_tsresol: high bit clear = 10^-n seconds, set = 2^-n seconds.
                var resolution = value[0];
                var exponent = resolution & 0x7F;
                unitsPerSecond = (resolution & 0x80) != 0
                    ? 1L << Math.Min(exponent, 62)
                    : (long)Math.Pow(10, Math.Min(exponent, 18));
            }
            else if (code == 14 && value.Length >= 8)
            {
                // if_tsoffset: seconds to add to every timestamp of this interface.
                offsetNanos = (long)ReadUInt64(value) * 1_000_000_000L;
            }
        }

        _interfaces.Add(new Interface(linkType, unitsPerSecond, offsetNanos, snapLength));
        return CaptureError.None;
    }

    private CaptureError ReadEnhancedPacket<THandler>(ReadOnlySpan<byte> body, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        var interfaceId = ReadUInt32(body);
        var timestamp = ((ulong)ReadUInt32(body[4..]) << 32) | ReadUInt32(body[8..]);
        return DeliverTimed(EnhancedPacketType, interfaceId, timestamp, ReadUInt32(body[12..]), ReadUInt32(body[16..]), body, ref handler);
    }

    private CaptureError ReadObsoletePacket<THandler>(ReadOnlySpan<byte> body, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        var interfaceId = ReadUInt16(body);
        var timestamp = ((ulong)ReadUInt32(body[4..]) << 32) | ReadUInt32(body[8..]);
        return DeliverTimed(ObsoletePacketType, interfaceId, timestamp, ReadUInt32(body[12..]), ReadUInt32(body[16..]), body, ref handler);
    }

    /// <summary>The EPB and PB layout after their first fields: 20 bytes, the data padded to 32 bits, options.</summary>
    private CaptureError DeliverTimed<THandler>(uint type, uint interfaceId, ulong timestamp, uint capturedLength, uint originalLength, ReadOnlySpan<byte> body, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        const int DataStart = 20;
        if (interfaceId >= (uint)_interfaces.Count)
        {
            return FailBlock(CaptureError.UnknownInterface, 8, type, string.Create(CultureInfo.InvariantCulture, $"it names interface {interfaceId}, and the section describes {_interfaces.Count}"));
        }

        if (capturedLength > MaxPacketLength)
        {
            return FailBlock(CaptureError.RecordTooLarge, 8 + 12, type, string.Create(CultureInfo.InvariantCulture, $"its captured length is {capturedLength} bytes"));
        }

        var dataRoom = body.Length - DataStart;
        if (capturedLength > (uint)dataRoom)
        {
            return FailBlock(CaptureError.PacketOverrunsBlock, 8 + 12, type, string.Create(CultureInfo.InvariantCulture, $"its captured length is {capturedLength} bytes and the block has room for {dataRoom}"));
        }

        var description = _interfaces[(int)interfaceId];
        if (description.SnapLength != 0 && capturedLength > description.SnapLength)
        {
            return FailBlock(CaptureError.RecordExceedsSnapLength, 8 + 12, type, string.Create(CultureInfo.InvariantCulture, $"its captured length is {capturedLength} bytes, interface {interfaceId}'s snapshot length {description.SnapLength}"));
        }

        // The options follow the data padded to 32 bits; a damaged list means a damaged block, so
        // they are checked before its packet is delivered.
        if (body.Length > DataStart + (((int)capturedLength + 3) & ~3))
        {
            var error = CheckOptions(body, DataStart + (((int)capturedLength + 3) & ~3), type);
            if (error != CaptureError.None)
            {
                return error;
            }
        }

        _lastTimestamp = description.ToNanoseconds(timestamp);
        Deliver(new CapturedPacket(_lastTimestamp, (int)Math.Min(originalLength, int.MaxValue), description.LinkType), body.Slice(DataStart, (int)capturedLength), ref handler);
        return CaptureError.None;
    }

    private CaptureError ReadSimplePacket<THandler>(ReadOnlySpan<byte> body, ref THandler handler)
        where THandler : struct, IPacketHandler
    {
        if (_interfaces.Count == 0)
        {
            return FailBlock(CaptureError.UnknownInterface, 8, SimplePacketType, "a Simple Packet Block belongs to interface 0, and the section describes none");
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
            return FailBlock(CaptureError.RecordTooLarge, 8, SimplePacketType, string.Create(CultureInfo.InvariantCulture, $"it holds {captured} bytes of packet data"));
        }

        Deliver(new CapturedPacket(_lastTimestamp, (int)Math.Min(originalLength, int.MaxValue), description.LinkType), body.Slice(4, (int)captured), ref handler);
        return CaptureError.None;
    }

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
