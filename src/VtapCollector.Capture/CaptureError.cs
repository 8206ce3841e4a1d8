namespace VtapCollector.Capture;

/// <summary>Why reading a capture stopped early. Packets before the problem were all delivered.</summary>
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
    /// <summary>A pcapng block length is not a multiple of 4, too small, or its trailer disagrees.</summary>
    BlockCorrupt,
    /// <summary>A pcapng packet names an interface that no Interface Description Block declared.</summary>
    UnknownInterface,
    /// <summary>
    /// The file header or a pcapng section header carries a major version this reader does not know
    /// (pcap 2 and pcapng 1 are the only ones defined): its records may be laid out differently.
    /// </summary>
    UnsupportedVersion,
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
        CaptureError.BlockCorrupt => "a pcapng block has an invalid length; the file is corrupt.",
        CaptureError.UnknownInterface => "a pcapng packet refers to an interface the file never described; the file is corrupt.",
        CaptureError.UnsupportedVersion => "the capture has a format version this reader does not know (it reads pcap 2.x and pcapng 1.x).",
        _ => "unknown error.",
    };
}
