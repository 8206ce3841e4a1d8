using System.Globalization;

namespace VtapCollector.Capture;

/// <summary>
/// Why reading a capture stopped early. Packets before the problem were all delivered; the reader's
/// <see cref="CaptureReader.ErrorOffset"/>, <see cref="CaptureReader.ErrorRecord"/> and
/// <see cref="CaptureReader.ErrorDetail"/> say where and what exactly.
/// </summary>
public enum CaptureError
{
    /// <summary>The capture was read to its end.</summary>
    None = 0,
    /// <summary>The stream held no bytes at all.</summary>
    Empty,
    /// <summary>The first bytes are neither a pcap nor a pcapng magic number.</summary>
    NotACapture,
    /// <summary>The stream ended inside the file header.</summary>
    HeaderTruncated,
    /// <summary>The stream ended inside a packet record or block.</summary>
    RecordTruncated,
    /// <summary>A record claims more captured bytes than any real capture holds (corrupt file).</summary>
    RecordTooLarge,
    /// <summary>
    /// A pcapng block's total length is smaller than the fixed fields of its type (12 bytes for any
    /// block, 28 for a section header, 32 for an enhanced packet, ...).
    /// </summary>
    BlockTooShort,
    /// <summary>A pcapng packet names an interface that no Interface Description Block declared.</summary>
    UnknownInterface,
    /// <summary>
    /// The file header or a pcapng section header carries a major version this reader does not know
    /// (pcap 2 and pcapng 1 are the only ones defined): its records may be laid out differently.
    /// </summary>
    UnsupportedVersion,
    /// <summary>A pcapng block's total length is not a multiple of 4 (draft-ietf-opsawg-pcapng section 3.1).</summary>
    BlockLengthNotMultipleOf4,
    /// <summary>A pcapng block claims more than <see cref="CaptureReader.MaxBlockLength"/> bytes.</summary>
    BlockTooLarge,
    /// <summary>A pcapng block's trailing total length differs from its leading one.</summary>
    BlockTrailerMismatch,
    /// <summary>A pcapng section header's byte-order magic is neither 0x1A2B3C4D nor its byte swap.</summary>
    ByteOrderMagicInvalid,
    /// <summary>
    /// A pcapng option's length runs past the end of its block, or the block ends inside an
    /// option's header (draft-ietf-opsawg-pcapng section 3.5).
    /// </summary>
    OptionOverrunsBlock,
    /// <summary>A pcapng packet block's captured length runs past the end of the block.</summary>
    PacketOverrunsBlock,
    /// <summary>
    /// A packet has more captured bytes than the snapshot length its pcap file header or pcapng
    /// interface declares (0 meaning no limit): writers never capture past it.
    /// </summary>
    RecordExceedsSnapLength,
}

/// <summary>One-sentence explanations of <see cref="CaptureError"/>, for the command line.</summary>
public static class CaptureErrorMessages
{
    /// <summary>
    /// The reason sentence for <paramref name="error"/>, starting lower-case so the caller can prefix
    /// the input's name (<c>'x.pcap': this is not a pcap or pcapng capture ...</c>).
    /// </summary>
    /// <param name="error">The value <see cref="CaptureReader.ReadAllAsync"/> returned.</param>
    /// <param name="magic">The stream's first four bytes (<see cref="CaptureReader.Magic"/>), named for <see cref="CaptureError.NotACapture"/>.</param>
    public static string Describe(this CaptureError error, uint magic = 0) => error switch
    {
        CaptureError.None => "the capture was read completely.",
        CaptureError.Empty => "the file is empty; expected a pcap or pcapng capture.",
        CaptureError.NotACapture => $"this is not a pcap or pcapng capture (it starts with 0x{magic:x8}); give a file written by tcpdump, tshark or dumpcap.",
        CaptureError.HeaderTruncated => "the capture ends inside its file header; the file is cut short.",
        CaptureError.RecordTruncated => "the capture ends in the middle of a packet; the file is cut short (the packets before it were read).",
        CaptureError.RecordTooLarge => "a packet record claims more than 256 KiB of captured data; the file is corrupt.",
        CaptureError.BlockTooShort => "a pcapng block's total length is too small for its fixed fields; the file is corrupt.",
        CaptureError.UnknownInterface => "a pcapng packet refers to an interface the file never described; the file is corrupt.",
        CaptureError.UnsupportedVersion => "the capture has a format version this reader does not know (it reads pcap 2.x and pcapng 1.x).",
        CaptureError.BlockLengthNotMultipleOf4 => "a pcapng block's total length is not a multiple of 4; the file is corrupt.",
        CaptureError.BlockTooLarge => "a pcapng block claims more than 16 MiB; the file is corrupt.",
        CaptureError.BlockTrailerMismatch => "a pcapng block's trailing total length differs from its leading one; the file is corrupt.",
        CaptureError.ByteOrderMagicInvalid => "a pcapng section header has an invalid byte-order magic; the file is corrupt.",
        CaptureError.OptionOverrunsBlock => "a pcapng option runs past the end of its block; the file is corrupt.",
        CaptureError.PacketOverrunsBlock => "a pcapng packet's captured length runs past the end of its block; the file is corrupt.",
        CaptureError.RecordExceedsSnapLength => "a packet holds more captured bytes than the snapshot length its file or interface declares; the file is corrupt.",
        _ => "unknown error.",
    };

    /// <summary>
    /// The reason sentence followed by where the reader found the problem: the byte offset (from the
    /// capture's first byte), the pcap record or pcapng block number, what was found there, and how
    /// many packets before it were delivered. For example: <c>a pcapng option runs past the end of
    /// its block; the file is corrupt. At byte 564, in block 5 (Enhanced Packet Block): option 1
    /// declares 40 bytes but 24 remain in the block; the 2 packets before it were read.</c> The
    /// command line should print this rather than <see cref="Describe(CaptureError, uint)"/>.
    /// </summary>
    /// <param name="error">The value <paramref name="reader"/>'s <see cref="CaptureReader.ReadAllAsync"/> returned.</param>
    /// <param name="reader">The reader that returned it.</param>
    public static string Describe(this CaptureError error, CaptureReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var sentence = error.Describe(reader.Magic);
        if (error == CaptureError.None || reader.ErrorOffset < 0)
        {
            return sentence;
        }

        var c = CultureInfo.InvariantCulture;
        var where = reader.ErrorRecord > 0
            ? string.Create(c, $", in {(reader.IsPcapng ? "block" : "record")} {reader.ErrorRecord}{(reader.ErrorBlockName is null ? string.Empty : $" ({reader.ErrorBlockName})")}")
            : string.Empty;
        var detail = reader.ErrorDetail is null ? string.Empty : ": " + reader.ErrorDetail;
        var packets = reader.Packets == 1 ? "the packet before it was read" : string.Create(c, $"the {reader.Packets} packets before it were read");
        return string.Create(c, $"{sentence} At byte {reader.ErrorOffset}{where}{detail}; {(reader.Packets == 0 ? "no packet came before it" : packets)}.");
    }
}
