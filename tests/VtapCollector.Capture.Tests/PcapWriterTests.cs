using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests;

/// <summary>What <see cref="PcapWriter"/> writes, <see cref="CaptureReader"/> reads back unchanged.</summary>
public class PcapWriterTests
{
    private static List<RecordedPacket> Packets(bool nanoseconds)
    {
        var random = new Random(nanoseconds ? 9 : 6);
        var packets = new List<RecordedPacket>();
        var timestamp = 1_700_000_000_123_456_789L;
        foreach (var size in new[] { 0, 1, 3, 14, 60, 1500, 9000, 65535, CaptureReader.MaxPacketLength })
        {
            var data = new byte[size];
            random.NextBytes(data);
            // A microsecond file keeps whole microseconds only.
            var written = nanoseconds ? timestamp : timestamp - (timestamp % 1_000);
            packets.Add(new RecordedPacket(written, size + (size % 3 == 0 ? 0 : 100), LinkType.Ethernet, data));
            timestamp += 1_000_000_007L * size;
        }

        return packets;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Written_capture_reads_back_identically(bool nanoseconds)
    {
        var expected = Packets(nanoseconds);
        var capture = CaptureReaderTests.WritePcap(
            w =>
            {
                foreach (var packet in expected)
                {
                    w.Write(packet.TimestampNanos, packet.Data, packet.OriginalLength);
                }
            },
            LinkType.Ethernet,
            nanoseconds);

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Captures.AssertSamePackets(expected, result.Packets);
        Assert.Equal(nanoseconds ? 0xA1B23C4Du : 0xA1B2C3D4u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(capture));
    }

    [Theory]
    [InlineData(LinkType.Raw)]
    [InlineData(LinkType.LinuxSll2)]
    [InlineData(LinkType.Ipv6)]
    public void Link_type_is_written_and_read_back(LinkType linkType)
    {
        var capture = CaptureReaderTests.WritePcap(w => w.Write(5, [1, 2, 3]), linkType, nanoseconds: true);

        var packet = Assert.Single(Captures.Read(capture).Packets);

        Assert.Equal(linkType, packet.LinkType);
        Assert.Equal(5, packet.TimestampNanos);
        Assert.Equal(3, packet.OriginalLength); // defaults to the data's length
    }

    [Fact]
    public void Microsecond_file_truncates_to_whole_microseconds()
    {
        var capture = CaptureReaderTests.WritePcap(w => w.Write(1_368_908_504_837_063_999, [1]));

        Assert.Equal(1_368_908_504_837_063_000, Assert.Single(Captures.Read(capture).Packets).TimestampNanos);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void File_header_is_byte_exact(bool nanoseconds)
    {
        using var stream = new MemoryStream();
        using (new PcapWriter(stream, LinkType.LinuxSll, nanoseconds, snapLength: 65535))
        {
        }

        var expected = Hex.Parse(
            (nanoseconds ? "4d 3c b2 a1" : "d4 c3 b2 a1") + // magic, little-endian
            "02 00" +                                      // major version 2
            "04 00" +                                      // minor version 4
            "00 00 00 00" +                                // reserved1
            "00 00 00 00" +                                // reserved2
            "ff ff 00 00" +                                // snaplen 65535
            "71 00 00 00");                                // linktype 113
        Assert.Equal(expected, stream.ToArray());
    }

    [Fact]
    public void Record_is_byte_exact()
    {
        var capture = CaptureReaderTests.WritePcap(w => w.Write(1_368_908_504_837_063_123, [0xDE, 0xAD], 1514), nanoseconds: true);

        var expected = Hex.Parse(
            "d8 e2 97 51" + // ts_sec 1368908504
            "d3 91 e4 31" + // ts_nsec 837063123
            "02 00 00 00" + // incl_len 2
            "ea 05 00 00" + // orig_len 1514
            "de ad");       // data
        Assert.Equal(expected, capture[24..]);
    }

    [Fact]
    public void Written_capture_reads_back_from_a_file()
    {
        var expected = Packets(nanoseconds: true);
        using var temp = new TempFile();
        using (var file = File.Create(temp.Path))
        using (var writer = new PcapWriter(file, LinkType.Ethernet, nanoseconds: true))
        {
            foreach (var packet in expected)
            {
                writer.Write(packet.TimestampNanos, packet.Data, packet.OriginalLength);
            }
        }

        var result = Captures.ReadFile(temp.Path);

        Assert.Equal(CaptureError.None, result.Error);
        Captures.AssertSamePackets(expected, result.Packets);
    }
}
