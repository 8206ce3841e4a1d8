using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests;

/// <summary>
/// pcapng (draft-ietf-opsawg-pcapng): section headers in both byte orders, interface descriptions
/// with timestamp resolutions and offsets, the three packet blocks, skipped blocks, several sections
/// and interfaces, and blocks larger than the reader's buffer.
/// </summary>
public class PcapngTests
{
    /// <summary>2013-05-18 20:21:44 UTC, the first packet of vxlan.pcap.</summary>
    private const long Seconds = 1_368_908_504;

    private static readonly byte[] Payload5 = [0x45, 0x00, 0x00, 0x05, 0xAB];

    /// <summary>
    /// Two sections. The first (little-endian) has interface 0 (Ethernet, microseconds) and
    /// interface 1 (raw IP, nanoseconds, named), an EPB on each, skipped blocks, an SPB and an
    /// obsolete PB. The second (big-endian) has one interface (Linux SLL, 2^-10 s) and an EPB.
    /// </summary>
    internal static byte[] MixedSample() => MixedSampleBuilder().ToArray();

    internal static PcapngBuilder MixedSampleBuilder() => new PcapngBuilder()
        .Shb(bigEndian: false)
        .Idb(LinkType.Ethernet, 65535)
        .Idb(LinkType.Raw, 0, PcapngOption.Name("tun0"), PcapngOption.TsResol(9))
        .Epb(0, (Seconds * 1_000_000) + 837_063, [1, 2, 3, 4, 5, 6, 7], originalLength: 60)
        .Block(4, [0, 0, 0, 0])                        // Name Resolution Block, only nrb_record_end
        .Epb(1, (Seconds * 1_000_000_000) + 900_000_001, Payload5)
        .Block(0x00000BAD, [0x00, 0x00, 0x7E, 0xD9, 1, 2, 3, 4, 5]) // Custom Block: PEN 32473, data
        .Spb([9, 9, 9], originalLength: 3)
        .Pb(1, (Seconds * 1_000_000_000) + 950_000_000, [8, 8])
        .Block(5, new byte[20])                        // Interface Statistics Block
        .Shb(bigEndian: true)
        .Idb(LinkType.LinuxSll, 0, PcapngOption.TsResol(0x8A))
        .Epb(0, ((Seconds + 1) * 1024) + 256, [0xC0, 0xFF, 0xEE]);

    internal static List<RecordedPacket> MixedSampleExpected() =>
    [
        new((Seconds * 1_000_000_000) + 837_063_000, 60, LinkType.Ethernet, [1, 2, 3, 4, 5, 6, 7]),
        new((Seconds * 1_000_000_000) + 900_000_001, 5, LinkType.Raw, Payload5),
        new((Seconds * 1_000_000_000) + 900_000_001, 3, LinkType.Ethernet, [9, 9, 9]), // SPB: last timestamp, interface 0
        new((Seconds * 1_000_000_000) + 950_000_000, 2, LinkType.Raw, [8, 8]),
        new(((Seconds + 1) * 1_000_000_000) + 250_000_000, 3, LinkType.LinuxSll, [0xC0, 0xFF, 0xEE]),
    ];

    [Fact]
    public void Mixed_sample_reads_every_packet_of_both_sections()
    {
        var result = Captures.Read(MixedSample());

        Assert.Equal(CaptureError.None, result.Error);
        Assert.True(result.Reader.IsPcapng);
        Assert.Equal(0x0A0D0D0Au, result.Reader.Magic);
        Captures.AssertSamePackets(MixedSampleExpected(), result.Packets);
        Assert.Equal(5, result.Reader.Packets);
        Assert.Equal(7 + 5 + 3 + 2 + 3, result.Reader.CapturedBytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Section_header_in_either_byte_order(bool bigEndian)
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian)
            .Idb(LinkType.Ethernet, 262144)
            .Epb(0, (Seconds * 1_000_000) + 837_063, Payload5, originalLength: 1514)
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        var packet = Assert.Single(result.Packets);
        Assert.Equal((Seconds * 1_000_000_000) + 837_063_000, packet.TimestampNanos);
        Assert.Equal(1514, packet.OriginalLength);
        Assert.Equal(LinkType.Ethernet, packet.LinkType);
        Assert.Equal(Payload5, packet.Data); // without the block's padding
    }

    [Fact]
    public void Section_header_bytes_are_as_the_draft_lays_them_out()
    {
        // The builder itself, checked once byte by byte: a big-endian SHB with no options.
        var expected = Hex.Parse(
            "0a 0d 0d 0a" +             // block type: Section Header Block
            "00 00 00 1c" +             // block total length 28
            "1a 2b 3c 4d" +             // byte-order magic (big-endian)
            "00 01" +                   // major version 1
            "00 00" +                   // minor version 0
            "ff ff ff ff ff ff ff ff" + // section length -1 (unknown)
            "00 00 00 1c");             // block total length again

        Assert.Equal(expected, new PcapngBuilder().Shb(bigEndian: true).ToArray());
    }

    public static TheoryData<byte, ulong, long> Resolutions => new()
    {
        // if_tsresol, timestamp in the interface's units, nanoseconds since the epoch
        { 6, (Seconds * 1_000_000) + 837_063, (Seconds * 1_000_000_000) + 837_063_000 },             // 10^-6 (the default, given explicitly)
        { 9, (Seconds * 1_000_000_000) + 837_063_123, (Seconds * 1_000_000_000) + 837_063_123 },     // 10^-9
        { 3, (Seconds * 1_000) + 837, (Seconds * 1_000_000_000) + 837_000_000 },                     // 10^-3
        { 0, Seconds, Seconds * 1_000_000_000 },                                                     // 10^0
        { 0x8A, (Seconds * 1024) + 512, (Seconds * 1_000_000_000) + 500_000_000 },                   // 2^-10: 512/1024 s
        { 0x8A, (Seconds * 1024) + 1, (Seconds * 1_000_000_000) + 976_562 },                         // 2^-10: 976 562.5 ns, truncated
        { 0x80, Seconds, Seconds * 1_000_000_000 },                                                  // 2^0
        { 0x94, (Seconds << 20) + (1 << 19), (Seconds * 1_000_000_000) + 500_000_000 },              // 2^-20
    };

    [Theory]
    [MemberData(nameof(Resolutions))]
    public void Interface_timestamp_resolution(byte resolution, ulong units, long expectedNanos)
    {
        foreach (var bigEndian in new[] { false, true })
        {
            var capture = new PcapngBuilder()
                .Shb(bigEndian)
                .Idb(LinkType.Ethernet, 0, PcapngOption.TsResol(resolution))
                .Epb(0, units, Payload5)
                .ToArray();

            var result = Captures.Read(capture);

            Assert.Equal(CaptureError.None, result.Error);
            Assert.Equal(expectedNanos, Assert.Single(result.Packets).TimestampNanos);
        }
    }

    [Fact]
    public void Default_resolution_is_microseconds()
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet, 0, PcapngOption.Name("eth0")) // options, but no if_tsresol
            .Epb(0, (Seconds * 1_000_000) + 1, Payload5)
            .ToArray();

        Assert.Equal((Seconds * 1_000_000_000) + 1_000, Assert.Single(Captures.Read(capture).Packets).TimestampNanos);
    }

    [Theory]
    [InlineData(false, 6, 1_000_000L)]
    [InlineData(true, 6, 1_000_000L)]
    [InlineData(false, 9, -3_600L)]
    [InlineData(true, 9, -3_600L)]
    [InlineData(false, 0x8A, 86_400L)]
    public void Interface_timestamp_offset_is_added_in_seconds(bool bigEndian, byte resolution, long offsetSeconds)
    {
        // The stored timestamp is relative to the offset: 2013-05-18 20:21:44.5 minus the offset.
        var unitsPerSecond = resolution switch { 6 => 1_000_000UL, 9 => 1_000_000_000UL, _ => 1024UL };
        var units = ((ulong)(Seconds - offsetSeconds) * unitsPerSecond) + (unitsPerSecond / 2);
        var capture = new PcapngBuilder()
            .Shb(bigEndian)
            .Idb(LinkType.Ethernet, 0, PcapngOption.TsResol(resolution), PcapngOption.TsOffset(offsetSeconds, bigEndian))
            .Epb(0, units, Payload5)
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal((Seconds * 1_000_000_000) + 500_000_000, Assert.Single(result.Packets).TimestampNanos);
    }

    [Fact]
    public void Enhanced_packet_options_and_padding_are_not_packet_data()
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet)
            .Epb(0, 1, Payload5, originalLength: 9000, options: [new PcapngOption(2, [0, 0, 0, 1]), new PcapngOption(1, "comment"u8.ToArray())]) // epb_flags, opt_comment
            .Epb(0, 2, [])                                                              // zero captured bytes
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(2, result.Packets.Count);
        Assert.Equal(Payload5, result.Packets[0].Data);
        Assert.Equal(9000, result.Packets[0].OriginalLength);
        Assert.Equal(1_000, result.Packets[0].TimestampNanos);
        Assert.Empty(result.Packets[1].Data);
    }

    [Fact]
    public void Enhanced_packet_with_a_64_bit_timestamp_uses_both_halves()
    {
        // Nanoseconds since the epoch overflow 32 bits: the upper half carries most of them.
        var units = (ulong)((Seconds * 1_000_000_000) + 123);
        Assert.True(units >> 32 != 0);
        var capture = new PcapngBuilder().Shb(bigEndian: true).Idb(LinkType.Raw, 0, PcapngOption.TsResol(9)).Epb(0, units, Payload5).ToArray();

        Assert.Equal((long)units, Assert.Single(Captures.Read(capture).Packets).TimestampNanos);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Simple_packet_belongs_to_interface_0_and_inherits_the_last_timestamp(bool bigEndian)
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian)
            .Idb(LinkType.LinuxSll2, snapLength: 6)
            .Idb(LinkType.Raw, 0, PcapngOption.TsResol(9))
            .Epb(1, 5_000_000_007, Payload5)
            .Spb([1, 2, 3, 4, 5, 6], originalLength: 1500) // snapped: min(1500, snap length 6) bytes, then 2 of padding
            .Spb([7, 7, 7, 7, 7, 7, 7, 7], originalLength: 5) // original shorter than the body: 5 bytes, the rest padding
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(3, result.Packets.Count);
        var first = result.Packets[1];
        Assert.Equal(5_000_000_007, first.TimestampNanos);
        Assert.Equal(LinkType.LinuxSll2, first.LinkType);
        Assert.Equal(1500, first.OriginalLength);
        Assert.Equal([1, 2, 3, 4, 5, 6], first.Data);
        var second = result.Packets[2];
        Assert.Equal(5_000_000_007, second.TimestampNanos);
        Assert.Equal(5, second.OriginalLength);
        Assert.Equal([7, 7, 7, 7, 7], second.Data);
    }

    [Fact]
    public void Simple_packet_is_cut_to_the_interface_snap_length()
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet, snapLength: 4)
            .Spb([1, 2, 3, 4, 5, 6, 7, 8], originalLength: 8)
            .ToArray();

        var packet = Assert.Single(Captures.Read(capture).Packets);

        Assert.Equal([1, 2, 3, 4], packet.Data);
        Assert.Equal(8, packet.OriginalLength);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Obsolete_packet_block_is_read(bool bigEndian)
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian)
            .Idb(LinkType.Ethernet)
            .Idb(LinkType.Ipv6, 0, PcapngOption.TsResol(9))
            .Pb(1, 7_000_000_001, Payload5, originalLength: 100)
            .Pb(0, 3_000_000, [1])
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(2, result.Packets.Count);
        Assert.Equal(new RecordedPacket(7_000_000_001, 100, LinkType.Ipv6, Payload5).ToString(), result.Packets[0].ToString());
        Assert.Equal(new RecordedPacket(3_000_000_000, 1, LinkType.Ethernet, [1]).ToString(), result.Packets[1].ToString());
    }

    [Theory]
    [InlineData(4u)]           // Name Resolution Block
    [InlineData(5u)]           // Interface Statistics Block
    [InlineData(0x0Au)]        // Decryption Secrets Block
    [InlineData(0x00000BADu)]  // Custom Block (may be copied)
    [InlineData(0x40000BADu)]  // Custom Block (must not be copied)
    [InlineData(0x12345678u)]  // a type nobody defined
    [InlineData(0x80000001u)]  // local use
    public void Other_blocks_are_skipped(uint type)
    {
        foreach (var bigEndian in new[] { false, true })
        {
            var capture = new PcapngBuilder()
                .Shb(bigEndian)
                .Block(type, [1, 2, 3, 4, 5, 6, 7]) // before any interface
                .Idb(LinkType.Ethernet)
                .Epb(0, 1, [1])
                .Block(type, new byte[64])
                .Block(type, [])
                .Epb(0, 2, [2])
                .ToArray();

            var result = Captures.Read(capture);

            Assert.Equal(CaptureError.None, result.Error);
            Assert.Equal(new byte[][] { [1], [2] }, result.Packets.Select(p => p.Data));
        }
    }

    [Fact]
    public void Second_section_has_its_own_byte_order_and_interfaces()
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet)
            .Idb(LinkType.Ethernet)
            .Epb(1, 1_000_000, [1])
            .Shb(bigEndian: true)
            .Idb(LinkType.Raw, 0, PcapngOption.TsResol(9))
            .Epb(0, 2_000_000_000, [2])
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(2, result.Packets.Count);
        Assert.Equal((1_000_000_000, LinkType.Ethernet), (result.Packets[0].TimestampNanos, result.Packets[0].LinkType));
        Assert.Equal((2_000_000_000, LinkType.Raw), (result.Packets[1].TimestampNanos, result.Packets[1].LinkType));
    }

    [Fact]
    public void Interfaces_of_an_earlier_section_are_forgotten()
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian: true)
            .Idb(LinkType.Ethernet)
            .Idb(LinkType.Ethernet)
            .Epb(1, 1, [1])
            .Shb(bigEndian: false)
            .Idb(LinkType.Raw)
            .Epb(1, 2, [2]) // interface 1 existed only in the first section
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.UnknownInterface, result.Error);
        Assert.Single(result.Packets);
    }

    [Fact]
    public void Packets_from_two_interfaces_keep_their_link_types_and_resolutions()
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet)                                   // interface 0: microseconds
            .Idb(LinkType.LinuxSll, 0, PcapngOption.TsResol(9))       // interface 1: nanoseconds
            .Epb(0, 10, [0])
            .Epb(1, 20, [1])
            .Epb(0, 30, [2])
            .Epb(1, 40, [3])
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(
            new[] { (10_000L, LinkType.Ethernet), (20L, LinkType.LinuxSll), (30_000L, LinkType.Ethernet), (40L, LinkType.LinuxSll) },
            result.Packets.Select(p => (p.TimestampNanos, p.LinkType)));
    }

    [Theory]
    [InlineData(CaptureReaderTests.Delivery.Memory)]
    [InlineData(CaptureReaderTests.Delivery.NonSeekable)]
    [InlineData(CaptureReaderTests.Delivery.OddChunks)]
    [InlineData(CaptureReaderTests.Delivery.AsyncOddChunks)]
    [InlineData(CaptureReaderTests.Delivery.MappedFile)]
    [InlineData(CaptureReaderTests.Delivery.MappedFileAtOffset)]
    public void Block_larger_than_the_buffer_is_skipped(CaptureReaderTests.Delivery delivery)
    {
        // A 9 MiB custom block: more than twice the default 4 MiB buffer.
        var body = new byte[9 * 1024 * 1024];
        body[2] = 0x7E;
        body[3] = 0xD9;   // PEN 32473
        body[^1] = 0x55;
        var capture = new PcapngBuilder()
            .Shb(bigEndian: false)
            .Idb(LinkType.Ethernet)
            .Epb(0, 1, [1, 1, 1])
            .Block(0x00000BAD, body)
            .Epb(0, 2, [2, 2])
            .ToArray();

        var result = CaptureReaderTests.ReadVia(delivery, capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(new byte[][] { [1, 1, 1], [2, 2] }, result.Packets.Select(p => p.Data));
        Assert.Equal(new[] { 1_000L, 2_000L }, result.Packets.Select(p => p.TimestampNanos));
    }

    [Theory]
    [InlineData(CaptureReaderTests.Delivery.NonSeekable)]
    [InlineData(CaptureReaderTests.Delivery.OddChunks)]
    [InlineData(CaptureReaderTests.Delivery.MappedFile)]
    public void Block_of_the_largest_accepted_length_is_skipped(CaptureReaderTests.Delivery delivery)
    {
        var capture = new PcapngBuilder()
            .Shb(bigEndian: true)
            .Idb(LinkType.Ethernet)
            .Epb(0, 1, [1])
            .Block(0x00000BAD, new byte[CaptureReader.MaxBlockLength - 12])
            .Epb(0, 2, [2])
            .ToArray();

        var result = CaptureReaderTests.ReadVia(delivery, capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(2, result.Packets.Count);
    }
}
