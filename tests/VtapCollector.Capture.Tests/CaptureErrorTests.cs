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

    public static TheoryData<string, byte[]> CorruptBlocks()
    {
        var data = new TheoryData<string, byte[]>();

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
        data.Add("length not a multiple of 4", Start().Raw(notMultipleOf4).ToArray());

        var tooShort = new ByteWriter(bigEndian: false).U32(0x00000BAD).U32(8).U32(8).ToArray();
        data.Add("length below 12", Start().Raw(tooShort).ToArray());

        var tooLong = new ByteWriter(bigEndian: false).U32(0x00000BAD).U32(CaptureReader.MaxBlockLength + 4).U32(0).ToArray();
        data.Add("length above the maximum", Start().Raw(tooLong).ToArray());

        var trailer = Start().Block(0x00000BAD, new byte[16]);
        var bytes = trailer.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), 32); // the block is 28 bytes
        data.Add("trailer disagrees", bytes);

        var bigTrailer = Start(bigEndian: true).Epb(0, 2, [2, 2]);
        bytes = bigTrailer.ToArray();
        bytes[^1] ^= 0x04;
        data.Add("trailer disagrees (big-endian)", bytes);

        var badByteOrder = new ByteWriter(bigEndian: false)
            .U32(0x0A0D0D0A)   // block type: Section Header Block
            .U32(28)
            .U32(0x1A2B3C4E)   // byte-order magic off by one
            .U16(1).U16(0).U64(ulong.MaxValue)
            .U32(28)
            .ToArray();
        data.Add("second section with a bad byte-order magic", Start().Raw(badByteOrder).ToArray());

        var shortSection = new ByteWriter(bigEndian: false)
            .U32(0x0A0D0D0A)   // block type: Section Header Block
            .U32(20)           // 20: no room for the section length the draft requires
            .U32(0x1A2B3C4D)   // byte-order magic
            .U16(1).U16(0)     // version 1.0
            .U32(20)           // repeated length
            .ToArray();
        data.Add("second section header shorter than its fixed fields", Start().Raw(shortSection).ToArray());

        data.Add("EPB captured length beyond its block", Start().Epb(0, 2, [1, 2, 3, 4], capturedLength: 8).ToArray());
        data.Add("EPB body shorter than its fixed fields", Start().Block(6, new byte[16]).ToArray());
        data.Add("PB body shorter than its fixed fields", Start().Block(2, new byte[16]).ToArray());
        data.Add("IDB body shorter than its fixed fields", Start().Block(1, new byte[4]).ToArray());
        data.Add("SPB body shorter than its length field", Start().Block(3, []).ToArray());
        return data;
    }

    [Theory]
    [MemberData(nameof(CorruptBlocks))]
    public void Corrupt_block_stops_reading_after_the_good_packets(string name, byte[] capture)
    {
        var result = Captures.Read(capture);

        Assert.True(result.Error == CaptureError.BlockCorrupt, $"{name}: {result.Error}");
        Assert.Single(result.Packets);
    }

    [Fact]
    public void First_section_header_with_a_bad_byte_order_magic_is_corrupt()
    {
        var capture = new ByteWriter(bigEndian: false)
            .U32(0x0A0D0D0A).U32(28).U32(0xDEADBEEF).U16(1).U16(0).U64(ulong.MaxValue).U32(28)
            .ToArray();

        Assert.Equal(CaptureError.BlockCorrupt, Captures.Read(capture).Error);
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
