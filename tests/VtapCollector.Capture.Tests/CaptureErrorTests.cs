using System.Buffers.Binary;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests;

/// <summary>
/// Every way reading stops early: the error value, the packets delivered before it, and the
/// sentence the command line prints for it.
/// </summary>
public class CaptureErrorTests
{
    // ---------------------------------------------------------------- not a capture

    [Fact]
    public void Empty_stream_is_empty()
    {
        Assert.Equal(CaptureError.Empty, Captures.Read([]).Error);
        Assert.Equal(CaptureError.Empty, Captures.Read(new NonSeekableStream(new MemoryStream())).Error);
        var atEnd = new MemoryStream(Hex.Parse(CaptureReaderTests.MicroLittleEndianHex));
        atEnd.Seek(0, SeekOrigin.End);
        Assert.Equal(CaptureError.Empty, Captures.Read(atEnd).Error);
    }

    [Fact]
    public void Random_bytes_are_not_a_capture_and_the_message_names_their_magic()
    {
        var random = new Random(20130518);
        for (var i = 0; i < 50; i++)
        {
            var bytes = new byte[random.Next(4, 5000)];
            random.NextBytes(bytes);
            var magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            if (magic is 0x0A0D0D0A or 0xA1B2C3D4 or 0xD4C3B2A1 or 0xA1B23C4D or 0x4D3CB2A1)
            {
                continue;
            }

            var result = Captures.Read(bytes);

            Assert.Equal(CaptureError.NotACapture, result.Error);
            Assert.Empty(result.Packets);
            Assert.Equal(magic, result.Reader.Magic);
            Assert.Contains($"0x{magic:x8}", result.Error.Describe(result.Reader.Magic), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("47 49 46 38 39 61 01 00 01 00", 0x47494638u)]        // GIF89a
    [InlineData("7f 45 4c 46 02 01 01 00", 0x7F454C46u)]              // ELF
    [InlineData("a1 b2 c3 d5 02 00 04 00", 0xA1B2C3D5u)]              // one bit from a pcap magic
    [InlineData("0a 0d 0d 0b 1c 00 00 00 4d 3c 2b 1a", 0x0A0D0D0Bu)]  // one bit from a pcapng SHB
    [InlineData("00 00 00 00", 0u)]
    public void Near_misses_are_not_a_capture(string hex, uint magic)
    {
        var result = Captures.Read(Hex.Parse(hex));

        Assert.Equal(CaptureError.NotACapture, result.Error);
        Assert.Equal(magic, result.Reader.Magic);
        Assert.Contains($"0x{magic:x8}", result.Error.Describe(result.Reader.Magic), StringComparison.Ordinal);
        Assert.Equal(-1, result.Reader.ErrorOffset); // the magic says it all: no byte offset to add
        Assert.Equal(result.Error.Describe(result.Reader.Magic), result.Error.Describe(result.Reader));
    }

    // ---------------------------------------------------------------- cut short

    [Theory]
    [InlineData(CaptureReaderTests.MicroLittleEndianHex)]
    [InlineData(CaptureReaderTests.MicroBigEndianHex)]
    [InlineData(CaptureReaderTests.NanoLittleEndianHex)]
    [InlineData(CaptureReaderTests.NanoBigEndianHex)]
    public void Ten_byte_pcap_header_is_truncated(string hex)
    {
        var result = Captures.Read(Hex.Parse(hex)[..10]);

        Assert.Equal(CaptureError.HeaderTruncated, result.Error);
        Assert.Empty(result.Packets);
    }

    [Fact]
    public void Pcapng_cut_inside_its_section_header_is_truncated_in_the_header()
    {
        var capture = PcapngTests.MixedSample();

        foreach (var length in new[] { 4, 10, 12, 27 })
        {
            var result = Captures.Read(capture[..length]);
            Assert.True(result.Error == CaptureError.HeaderTruncated, $"{length} bytes: {result.Error}");
        }
    }

    [Theory]
    [InlineData(CaptureReaderTests.MicroLittleEndianHex)]
    [InlineData(CaptureReaderTests.NanoBigEndianHex)]
    public void Pcap_cut_anywhere_delivers_the_whole_records_before_the_cut(string hex)
    {
        // Header 24 bytes, record 1 ends at 44, record 2 at 66.
        var capture = Hex.Parse(hex);
        var all = Captures.Read(capture).Packets;
        Assert.Equal(66, capture.Length);

        for (var length = 0; length <= capture.Length; length++)
        {
            var (error, count) = length switch
            {
                0 => (CaptureError.Empty, 0),
                < 24 => (CaptureError.HeaderTruncated, 0),
                24 => (CaptureError.None, 0),
                < 44 => (CaptureError.RecordTruncated, 0),
                44 => (CaptureError.None, 1),
                < 66 => (CaptureError.RecordTruncated, 1),
                _ => (CaptureError.None, 2),
            };

            foreach (var delivery in new[] { CaptureReaderTests.Delivery.Memory, CaptureReaderTests.Delivery.OneBytePerRead })
            {
                var result = CaptureReaderTests.ReadVia(delivery, capture[..length]);
                Assert.True(result.Error == error, $"{length} bytes via {delivery}: {result.Error}, expected {error}");
                Captures.AssertSamePackets(all.Take(count).ToList(), result.Packets);
            }
        }
    }

    [Fact]
    public void Pcapng_cut_anywhere_delivers_the_whole_blocks_before_the_cut()
    {
        var builder = PcapngTests.MixedSampleBuilder();
        var capture = builder.ToArray();
        var blockEnds = builder.BlockStarts.Skip(1).Append(capture.Length).ToHashSet();
        var sectionHeaderEnd = builder.BlockStarts[1];
        var all = PcapngTests.MixedSampleExpected();

        for (var length = 0; length <= capture.Length; length++)
        {
            var error = length == 0 ? CaptureError.Empty
                : length < sectionHeaderEnd ? CaptureError.HeaderTruncated
                : blockEnds.Contains(length) ? CaptureError.None
                : CaptureError.RecordTruncated;
            var count = builder.PacketEnds.Count(end => end <= length);

            var result = Captures.Read(capture[..length]);

            Assert.True(result.Error == error, $"{length} bytes: {result.Error}, expected {error}");
            Captures.AssertSamePackets(all.Take(count).ToList(), result.Packets);
        }
    }

    [Fact]
    public void Cut_mid_record_in_a_file_delivers_earlier_packets()
    {
        var capture = File.ReadAllBytes(Captures.DataFile("vxlan.pcap"));
        using var temp = new TempFile();
        File.WriteAllBytes(temp.Path, capture[..^50]);

        var result = Captures.ReadFile(temp.Path);

        Assert.Equal(CaptureError.RecordTruncated, result.Error);
        Captures.AssertSamePackets(Captures.Read(capture).Packets.Take(9).ToList(), result.Packets);
    }

    // ---------------------------------------------------------------- versions

    [Theory]
    [InlineData(CaptureReaderTests.MicroLittleEndianHex, false, (ushort)1)]
    [InlineData(CaptureReaderTests.MicroLittleEndianHex, false, (ushort)3)]
    [InlineData(CaptureReaderTests.NanoBigEndianHex, true, (ushort)1)]
    [InlineData(CaptureReaderTests.NanoBigEndianHex, true, (ushort)0x0200)] // 2 written in the wrong byte order
    public void Pcap_with_another_major_version_is_unsupported(string hex, bool bigEndian, ushort majorVersion)
    {
        var capture = Hex.Parse(hex);
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt16BigEndian(capture.AsSpan(4), majorVersion);       // version_major, bytes 4-5
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(capture.AsSpan(4), majorVersion);
        }

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.UnsupportedVersion, result.Error);
        Assert.Empty(result.Packets);
        Assert.Contains("version", result.Error.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Pcap_with_an_older_minor_version_is_read()
    {
        var capture = Hex.Parse(CaptureReaderTests.MicroLittleEndianHex);
        BinaryPrimitives.WriteUInt16LittleEndian(capture.AsSpan(6), 2); // version_minor 2 (libpcap before 0.4 wrote 2.2/2.3)

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(2, result.Packets.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pcapng_section_with_major_version_2_is_unsupported(bool bigEndian)
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian, majorVersion: 2, minorVersion: 0)
            .Idb(LinkType.Ethernet)
            .Epb(0, 1, [1])
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.UnsupportedVersion, result.Error);
        Assert.Empty(result.Packets);
    }

    [Fact]
    public void Pcapng_second_section_with_an_unknown_major_version_stops_after_the_first_sections_packets()
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet)
            .Epb(0, 1, [1])
            .Shb(bigEndian: true, majorVersion: 3, minorVersion: 0)
            .Idb(LinkType.Raw)
            .Epb(0, 2, [2])
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.UnsupportedVersion, result.Error);
        Assert.Single(result.Packets);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pcapng_minor_version_2_from_old_writers_is_read(bool bigEndian)
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian, majorVersion: 1, minorVersion: 2)
            .Idb(LinkType.Ethernet)
            .Epb(0, 1, [1])
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Single(result.Packets);
    }

    // ---------------------------------------------------------------- too large

    [Theory]
    [InlineData(10_000_000u)]
    [InlineData(CaptureReader.MaxPacketLength + 1u)]
    [InlineData(uint.MaxValue)]
    public void Pcap_record_claiming_too_many_bytes_is_too_large(uint capturedLength)
    {
        var capture = new ByteWriter(bigEndian: true)
            .U32(0xA1B2C3D4).U16(2).U16(4).U32(0).U32(0).U32(65535).U32(1) // file header
            .U32(1).U32(0).U32(2).U32(2).U8(0xAB).U8(0xCD)                   // a good record
            .U32(2).U32(0).U32(capturedLength).U32(capturedLength)           // incl_len too large
            .Bytes(new byte[100])
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.RecordTooLarge, result.Error);
        Assert.Equal([0xAB, 0xCD], Assert.Single(result.Packets).Data);
    }

    [Fact]
    public void Pcapng_packets_claiming_too_many_bytes_are_too_large()
    {
        var epb = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet)
            .Epb(0, 1, [1])
            .Epb(0, 2, new byte[8], capturedLength: 10_000_000)
            .ToArray();
        var result = Captures.Read(epb);
        Assert.Equal(CaptureError.RecordTooLarge, result.Error);
        Assert.Single(result.Packets);

        var spb = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet) // no snap length
            .Spb(new byte[CaptureReader.MaxPacketLength + 4])
            .ToArray();
        Assert.Equal(CaptureError.RecordTooLarge, Captures.Read(spb).Error);
    }

    // ---------------------------------------------------------------- corrupt blocks

    public static TheoryData<string, byte[], CaptureError> CorruptBlocks()
    {
        var data = new TheoryData<string, byte[], CaptureError>();

        PcapngBuilder Start(bool bigEndian = false) => new PcapngBuilder()
            .Shb(bigEndian)
            .Idb(LinkType.Ethernet)
            .Epb(0, 1, [1]);

        var notMultipleOf4 = new ByteWriter(bigEndian: false)
            .U32(0x00000BAD)   // block type: custom
            .U32(30)           // block total length 30: not a multiple of 4
            .Bytes(new byte[18])
            .U32(30)           // repeated
            .ToArray();
        data.Add("length not a multiple of 4", Start().Raw(notMultipleOf4).ToArray(), CaptureError.BlockLengthNotMultipleOf4);

        var tooShort = new ByteWriter(bigEndian: false).U32(0x00000BAD).U32(8).U32(8).ToArray();
        data.Add("length below 12", Start().Raw(tooShort).ToArray(), CaptureError.BlockTooShort);

        var tooLong = new ByteWriter(bigEndian: false).U32(0x00000BAD).U32(CaptureReader.MaxBlockLength + 4).U32(0).ToArray();
        data.Add("length above the maximum", Start().Raw(tooLong).ToArray(), CaptureError.BlockTooLarge);

        var trailer = Start().Block(0x00000BAD, new byte[16]);
        var bytes = trailer.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), 32); // the block is 28 bytes
        data.Add("trailer disagrees", bytes, CaptureError.BlockTrailerMismatch);

        var bigTrailer = Start(bigEndian: true).Epb(0, 2, [2, 2]);
        bytes = bigTrailer.ToArray();
        bytes[^1] ^= 0x04;
        data.Add("trailer disagrees (big-endian)", bytes, CaptureError.BlockTrailerMismatch);

        var badByteOrder = new ByteWriter(bigEndian: false)
            .U32(0x0A0D0D0A)   // block type: Section Header Block
            .U32(28)
            .U32(0x1A2B3C4E)   // byte-order magic off by one
            .U16(1).U16(0).U64(ulong.MaxValue)
            .U32(28)
            .ToArray();
        data.Add("second section with a bad byte-order magic", Start().Raw(badByteOrder).ToArray(), CaptureError.ByteOrderMagicInvalid);

        var shortSection = new ByteWriter(bigEndian: false)
            .U32(0x0A0D0D0A)   // block type: Section Header Block
            .U32(20)           // 20: no room for the section length the draft requires
            .U32(0x1A2B3C4D)   // byte-order magic
            .U16(1).U16(0)     // version 1.0
            .U32(20)           // repeated length
            .ToArray();
        data.Add("second section header shorter than its fixed fields", Start().Raw(shortSection).ToArray(), CaptureError.BlockTooShort);

        data.Add("EPB captured length beyond its block", Start().Epb(0, 2, [1, 2, 3, 4], capturedLength: 8).ToArray(), CaptureError.PacketOverrunsBlock);
        data.Add("EPB body shorter than its fixed fields", Start().Block(6, new byte[16]).ToArray(), CaptureError.BlockTooShort);
        data.Add("PB body shorter than its fixed fields", Start().Block(2, new byte[16]).ToArray(), CaptureError.BlockTooShort);
        data.Add("IDB body shorter than its fixed fields", Start().Block(1, new byte[4]).ToArray(), CaptureError.BlockTooShort);
        data.Add("SPB body shorter than its length field", Start().Block(3, []).ToArray(), CaptureError.BlockTooShort);
        return data;
    }

    [Theory]
    [MemberData(nameof(CorruptBlocks))]
    public void Corrupt_block_stops_reading_after_the_good_packets(string name, byte[] capture, CaptureError expected)
    {
        var result = Captures.Read(capture);

        Assert.True(result.Error == expected, $"{name}: {result.Error}, expected {expected}");
        Assert.Single(result.Packets);
    }

    [Fact]
    public void First_section_header_with_a_bad_byte_order_magic_is_invalid()
    {
        var capture = new ByteWriter(bigEndian: false)
            .U32(0x0A0D0D0A).U32(28).U32(0xDEADBEEF).U16(1).U16(0).U64(ulong.MaxValue).U32(28)
            .ToArray();

        Assert.Equal(CaptureError.ByteOrderMagicInvalid, Captures.Read(capture).Error);
    }

    // ---------------------------------------------------------------- unknown interface

    [Fact]
    public void Enhanced_packet_naming_interface_3_of_1_is_an_unknown_interface()
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet)
            .Epb(0, 1, [1])
            .Epb(3, 2, [2])
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.UnknownInterface, result.Error);
        Assert.Single(result.Packets);
    }

    [Fact]
    public void Packets_before_any_interface_are_unknown_interfaces()
    {
        Assert.Equal(CaptureError.UnknownInterface, Captures.Read(new PcapngBuilder().Shb(false).Epb(0, 1, [1]).ToArray()).Error);
        Assert.Equal(CaptureError.UnknownInterface, Captures.Read(new PcapngBuilder().Shb(true).Spb([1]).ToArray()).Error);
        Assert.Equal(CaptureError.UnknownInterface, Captures.Read(new PcapngBuilder().Shb(true).Idb(LinkType.Raw).Pb(1, 1, [1]).ToArray()).Error);
    }

    // ---------------------------------------------------------------- real captures damaged at one byte

    /// <summary>
    /// vxlan-commented.pcapng, as editcap wrote it (little-endian): block 1, the SHB at 0 (option
    /// shb_userappl at 24, major version at 12); block 2, the IDB at 108 (snap length at 120, option
    /// if_tsresol at 124); blocks 3 to 12, the ten packets' EPBs at 140, 320, 444 (comment option at
    /// 564), 596, 776 (comment option at 952, opt_endofopt at 972), 980, 1160, 1340, 1520 and 1700.
    /// </summary>
    private const string CommentedPcapng = "vxlan-commented.pcapng";

    public static TheoryData<string, string, int, byte[], CaptureError, long, long> DamagedCaptures()
    {
        static byte[] U16(ushort value) => BitConverter.GetBytes(value);
        static byte[] U32(uint value) => BitConverter.GetBytes(value);

        // name, capture, byte changed, new little-endian bytes there, error, where, block or record
        return new TheoryData<string, string, int, byte[], CaptureError, long, long>
        {
            { "SHB option length past its block", CommentedPcapng, 26, U16(200), CaptureError.OptionOverrunsBlock, 24, 1 },
            { "SHB major version 2", CommentedPcapng, 12, U16(2), CaptureError.UnsupportedVersion, 12, 1 },
            { "SHB byte-order magic off by one", CommentedPcapng, 8, U32(0x1A2B3C4E), CaptureError.ByteOrderMagicInvalid, 8, 1 },
            { "IDB option length past its block", CommentedPcapng, 126, U16(20), CaptureError.OptionOverrunsBlock, 124, 2 },
            { "IDB snap length below its packets", CommentedPcapng, 120, U32(100), CaptureError.RecordExceedsSnapLength, 160, 3 },
            { "EPB comment length past its block", CommentedPcapng, 566, U16(40), CaptureError.OptionOverrunsBlock, 564, 5 },
            { "EPB ends mid-option, no end-of-options", CommentedPcapng, 972, [1, 0, 8, 0], CaptureError.OptionOverrunsBlock, 972, 7 },
            { "block length not a multiple of 4", CommentedPcapng, 324, U32(122), CaptureError.BlockLengthNotMultipleOf4, 324, 4 },
            { "block length below an EPB's fixed fields", CommentedPcapng, 600, U32(28), CaptureError.BlockTooShort, 600, 6 },
            { "block length above 16 MiB", CommentedPcapng, 324, U32(0x0200_0000), CaptureError.BlockTooLarge, 324, 4 },
            { "trailing length differs", CommentedPcapng, 1156, U32(184), CaptureError.BlockTrailerMismatch, 1156, 8 },
            { "EPB captured length past its block", CommentedPcapng, 1180, U32(200), CaptureError.PacketOverrunsBlock, 1180, 9 },
            { "EPB names interface 1 of 1", CommentedPcapng, 1348, U32(1), CaptureError.UnknownInterface, 1348, 10 },
            { "EPB captured length above 256 KiB", CommentedPcapng, 1540, U32(0x0010_0000), CaptureError.RecordTooLarge, 1540, 11 },

            // vxlan.pcap (little-endian, snap length 1500): header 24 bytes (major version at 4),
            // records 1 to 10 at 24, 188, 296, 404, 568, 732, 896, 1060, 1224 and 1388.
            { "pcap major version 3", "vxlan.pcap", 4, U16(3), CaptureError.UnsupportedVersion, 4, 0 },
            { "pcap record above the snap length", "vxlan.pcap", 404 + 8, U32(1501), CaptureError.RecordExceedsSnapLength, 412, 4 },
            { "pcap record above 256 KiB", "vxlan.pcap", 732 + 8, U32(0x0010_0000), CaptureError.RecordTooLarge, 740, 6 },
        };
    }

    [Theory]
    [MemberData(nameof(DamagedCaptures))]
    public void Damaged_real_capture_names_the_damage_where_it_is_and_delivers_the_packets_before(
        string name, string file, int at, byte[] bytes, CaptureError error, long offset, long record)
    {
        var original = File.ReadAllBytes(Captures.DataFile(file));
        var expected = Captures.Read(original).Packets;
        var damaged = original.ToArray();
        bytes.CopyTo(damaged, at);
        // Packets before the damaged record or block: pcap records are packets; pcapng blocks 3 on are.
        var before = file.EndsWith(".pcapng", StringComparison.Ordinal) ? (int)Math.Max(0, record - 3) : (int)Math.Max(0, record - 1);

        foreach (var delivery in new[] { CaptureReaderTests.Delivery.Memory, CaptureReaderTests.Delivery.OneBytePerRead, CaptureReaderTests.Delivery.MappedFileAtOffset })
        {
            var result = CaptureReaderTests.ReadVia(delivery, damaged);

            Assert.True(
                (result.Error, result.Reader.ErrorOffset, result.Reader.ErrorRecord) == (error, offset, record),
                $"{name} via {delivery}: {result.Error} at {result.Reader.ErrorOffset} in {result.Reader.ErrorRecord}, expected {error} at {offset} in {record}");
            Captures.AssertSamePackets(expected.Take(before).ToList(), result.Packets);
            var sentence = result.Error.Describe(result.Reader);
            Assert.StartsWith(error.Describe(), sentence, StringComparison.Ordinal);
            Assert.Contains($"At byte {offset}", sentence, StringComparison.Ordinal);
            if (record > 0)
            {
                Assert.Contains($"{(file.EndsWith(".pcapng", StringComparison.Ordinal) ? "block" : "record")} {record}", sentence, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData(CommentedPcapng, 1750, 1700, 12, 9)] // 50 bytes into the last EPB
    [InlineData("vxlan.pcap", 1400, 1388, 10, 9)]    // 12 bytes into the last record's header
    public void Real_capture_cut_short_says_where_the_cut_record_starts(string file, int length, long offset, long record, int before)
    {
        var original = File.ReadAllBytes(Captures.DataFile(file));

        var result = Captures.Read(original[..length]);

        Assert.Equal((CaptureError.RecordTruncated, offset, record), (result.Error, result.Reader.ErrorOffset, result.Reader.ErrorRecord));
        Captures.AssertSamePackets(Captures.Read(original).Packets.Take(before).ToList(), result.Packets);
        Assert.Contains($"At byte {offset}", result.Error.Describe(result.Reader), StringComparison.Ordinal);
        Assert.Contains($"the {before} packets before it were read", result.Error.Describe(result.Reader), StringComparison.Ordinal);
    }

    [Fact]
    public void Commented_pcapng_delivers_the_packets_of_the_pcap_it_was_converted_from()
    {
        var pcap = Captures.ReadFile(Captures.DataFile("vxlan.pcap"));
        var pcapng = Captures.ReadFile(Captures.DataFile(CommentedPcapng));

        Assert.Equal(CaptureError.None, pcapng.Error);
        Assert.Equal(-1, pcapng.Reader.ErrorOffset);
        Assert.Equal(10, pcapng.Packets.Count);
        Captures.AssertSamePackets(pcap.Packets, pcapng.Packets);
    }

    // ---------------------------------------------------------------- messages

    [Fact]
    public void Every_error_has_a_distinct_sentence()
    {
        var sentences = new HashSet<string>();
        foreach (var error in Enum.GetValues<CaptureError>())
        {
            var sentence = error.Describe(0x12345678);
            Assert.False(string.IsNullOrWhiteSpace(sentence), $"{error} has no description");
            Assert.NotEqual("unknown error.", sentence);
            Assert.EndsWith(".", sentence, StringComparison.Ordinal);
            Assert.True(sentences.Add(sentence), $"{error} shares its sentence: {sentence}");
        }

        Assert.Contains("0x12345678", CaptureError.NotACapture.Describe(0x12345678), StringComparison.Ordinal);
    }
}
