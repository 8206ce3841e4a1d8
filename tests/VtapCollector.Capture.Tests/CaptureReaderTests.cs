using System.Buffers.Binary;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests;

/// <summary>
/// Classic pcap (draft-ietf-opsawg-pcap section 4) in all four flavours, and the reader's stream
/// handling: non-seekable streams, one-byte reads, records straddling its buffer, captures larger
/// than the buffer, memory-mapped files, and no per-packet allocation.
/// </summary>
public class CaptureReaderTests
{
    // Both fixtures hold the same two records: 2013-05-18 20:21:44.837063(123) UTC, 4 bytes, and
    // one second later a record snapped to 6 of 1514 bytes.

    /// <summary>Little-endian, microsecond magic, Ethernet with FCS bits set above the link type.</summary>
    public const string MicroLittleEndianHex =
        // ---- file header (24) ----
        "d4 c3 b2 a1" + // magic 0xA1B2C3D4 (microseconds), written little-endian
        "02 00" +       // major version 2
        "04 00" +       // minor version 4
        "00 00 00 00" + // reserved1 (was thiszone)
        "00 00 00 00" + // reserved2 (was sigfigs)
        "ff ff 00 00" + // snaplen 65535
        "01 00 00 24" + // linktype 0x24000001: Ethernet (1); F bit 0x04000000 + FCS length 2 (0x20000000) above it
        // ---- record 1 (16 + 4) ----
        "d8 e2 97 51" + // ts_sec 1368908504 = 2013-05-18 20:21:44 UTC
        "c7 c5 0c 00" + // ts_usec 837063
        "04 00 00 00" + // incl_len 4
        "04 00 00 00" + // orig_len 4
        "de ad be ef" + // packet data
        // ---- record 2 (16 + 6) ----
        "d9 e2 97 51" + // ts_sec 1368908505
        "3f 42 0f 00" + // ts_usec 999999
        "06 00 00 00" + // incl_len 6
        "ea 05 00 00" + // orig_len 1514 (snapped: more than captured)
        "01 02 03 04 05 06"; // packet data

    /// <summary>Big-endian, microsecond magic, raw IP, no FCS bits.</summary>
    public const string MicroBigEndianHex =
        // ---- file header (24) ----
        "a1 b2 c3 d4" + // magic 0xA1B2C3D4 (microseconds), written big-endian
        "00 02" +       // major version 2
        "00 04" +       // minor version 4
        "00 00 00 00" + // reserved1
        "00 00 00 00" + // reserved2
        "00 04 00 00" + // snaplen 262144
        "00 00 00 65" + // linktype 101 (raw IP)
        // ---- record 1 (16 + 4) ----
        "51 97 e2 d8" + // ts_sec 1368908504
        "00 0c c5 c7" + // ts_usec 837063
        "00 00 00 04" + // incl_len 4
        "00 00 00 04" + // orig_len 4
        "de ad be ef" + // packet data
        // ---- record 2 (16 + 6) ----
        "51 97 e2 d9" + // ts_sec 1368908505
        "00 0f 42 3f" + // ts_usec 999999
        "00 00 00 06" + // incl_len 6
        "00 00 05 ea" + // orig_len 1514
        "01 02 03 04 05 06"; // packet data

    /// <summary>Little-endian, nanosecond magic, Linux cooked v1 with FCS bits.</summary>
    public const string NanoLittleEndianHex =
        // ---- file header (24) ----
        "4d 3c b2 a1" + // magic 0xA1B23C4D (nanoseconds), written little-endian
        "02 00" +       // major version 2
        "04 00" +       // minor version 4
        "00 00 00 00" + // reserved1
        "00 00 00 00" + // reserved2
        "ff ff 00 00" + // snaplen 65535
        "71 00 00 24" + // linktype 0x24000071: Linux SLL (113) with FCS bits above it
        // ---- record 1 (16 + 4) ----
        "d8 e2 97 51" + // ts_sec 1368908504
        "d3 91 e4 31" + // ts_nsec 837063123
        "04 00 00 00" + // incl_len 4
        "04 00 00 00" + // orig_len 4
        "de ad be ef" + // packet data
        // ---- record 2 (16 + 6) ----
        "d9 e2 97 51" + // ts_sec 1368908505
        "ff c9 9a 3b" + // ts_nsec 999999999
        "06 00 00 00" + // incl_len 6
        "ea 05 00 00" + // orig_len 1514
        "01 02 03 04 05 06"; // packet data

    /// <summary>Big-endian, nanosecond magic, Linux cooked v2 (276) with FCS bits.</summary>
    public const string NanoBigEndianHex =
        // ---- file header (24) ----
        "a1 b2 3c 4d" + // magic 0xA1B23C4D (nanoseconds), written big-endian
        "00 02" +       // major version 2
        "00 04" +       // minor version 4
        "00 00 00 00" + // reserved1
        "00 00 00 00" + // reserved2
        "00 00 ff ff" + // snaplen 65535
        "24 00 01 14" + // linktype 0x24000114: Linux SLL2 (276) with FCS bits above it
        // ---- record 1 (16 + 4) ----
        "51 97 e2 d8" + // ts_sec 1368908504
        "31 e4 91 d3" + // ts_nsec 837063123
        "00 00 00 04" + // incl_len 4
        "00 00 00 04" + // orig_len 4
        "de ad be ef" + // packet data
        // ---- record 2 (16 + 6) ----
        "51 97 e2 d9" + // ts_sec 1368908505
        "3b 9a c9 ff" + // ts_nsec 999999999
        "00 00 00 06" + // incl_len 6
        "00 00 05 ea" + // orig_len 1514
        "01 02 03 04 05 06"; // packet data

    private static readonly long FirstSecond = Captures.Nanos(2013, 5, 18, 20, 21, 44, 0);

    public static TheoryData<string, string, LinkType, long, long> Flavours => new()
    {
        { "micro LE", MicroLittleEndianHex, LinkType.Ethernet, 837_063_000, 999_999_000 },
        { "micro BE", MicroBigEndianHex, LinkType.Raw, 837_063_000, 999_999_000 },
        { "nano LE", NanoLittleEndianHex, LinkType.LinuxSll, 837_063_123, 999_999_999 },
        { "nano BE", NanoBigEndianHex, LinkType.LinuxSll2, 837_063_123, 999_999_999 },
    };

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Pcap_flavours_deliver_both_records_with_epoch_nanosecond_timestamps(string name, string hex, LinkType linkType, long firstFraction, long secondFraction)
    {
        var result = Captures.Read(Hex.Parse(hex));

        Assert.True(result.Error == CaptureError.None, $"{name}: {result.Error}");
        Assert.False(result.Reader.IsPcapng);
        Assert.Equal(2, result.Packets.Count);
        Assert.Equal(2, result.Reader.Packets);
        Assert.Equal(10, result.Reader.CapturedBytes);

        var first = result.Packets[0];
        Assert.Equal(FirstSecond + firstFraction, first.TimestampNanos);
        Assert.Equal(4, first.OriginalLength);
        Assert.Equal(linkType, first.LinkType);
        Assert.Equal(Hex.Parse("de ad be ef"), first.Data);

        var second = result.Packets[1];
        Assert.Equal(FirstSecond + 1_000_000_000 + secondFraction, second.TimestampNanos);
        Assert.Equal(1514, second.OriginalLength); // more than captured: preserved
        Assert.Equal(linkType, second.LinkType);
        Assert.Equal(Hex.Parse("01 02 03 04 05 06"), second.Data);
    }

    [Theory]
    [InlineData(MicroLittleEndianHex, 0xD4C3B2A1u)]
    [InlineData(MicroBigEndianHex, 0xA1B2C3D4u)]
    [InlineData(NanoLittleEndianHex, 0x4D3CB2A1u)]
    [InlineData(NanoBigEndianHex, 0xA1B23C4Du)]
    public void Magic_is_the_first_four_bytes_read_big_endian(string hex, uint magic) =>
        Assert.Equal(magic, Captures.Read(Hex.Parse(hex)).Reader.Magic);

    [Fact]
    public void First_fixture_timestamp_is_the_documented_date() =>
        // 1368908504 s after the epoch is the date tcpdump prints for vxlan.pcap's first packet.
        Assert.Equal(1_368_908_504L * 1_000_000_000L, FirstSecond);

    [Fact]
    public void Header_only_capture_is_complete_and_empty()
    {
        var result = Captures.Read(Hex.Parse(MicroLittleEndianHex)[..24]);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Empty(result.Packets);
    }

    [Fact]
    public void Zero_length_record_is_delivered_with_empty_data()
    {
        var capture = new ByteWriter(bigEndian: false)
            .U32(0xA1B2C3D4).U16(2).U16(4).U32(0).U32(0).U32(65535).U32(1) // file header
            .U32(10).U32(20).U32(0).U32(60)                                  // ts 10 s 20 us, incl 0, orig 60
            .U32(11).U32(0).U32(1).U32(1).U8(0xAA)                           // ts 11 s, 1 byte
            .ToArray();

        var result = Captures.Read(capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(2, result.Packets.Count);
        Assert.Empty(result.Packets[0].Data);
        Assert.Equal(60, result.Packets[0].OriginalLength);
        Assert.Equal(10_000_020_000L, result.Packets[0].TimestampNanos);
        Assert.Equal([0xAA], result.Packets[1].Data);
    }

    [Fact]
    public void Largest_allowed_record_is_accepted()
    {
        var data = new byte[CaptureReader.MaxPacketLength];
        data[^1] = 0x5A;
        var result = Captures.Read(WritePcap(w => w.Write(1_000, data)));

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(data, Assert.Single(result.Packets).Data);
    }

    [Fact]
    public void Constructor_rejects_null_stream_and_tiny_buffer()
    {
        Assert.Throws<ArgumentNullException>(() => new CaptureReader(null!));
        using var stream = new MemoryStream();
        Assert.Throws<ArgumentOutOfRangeException>(() => new CaptureReader(stream, (2 * CaptureReader.MaxPacketLength) - 1));
        _ = new CaptureReader(stream, 2 * CaptureReader.MaxPacketLength);
    }

    [Fact]
    public void Reading_starts_at_the_stream_position()
    {
        var capture = Hex.Parse(MicroLittleEndianHex);
        var stream = new MemoryStream([.. new byte[100], .. capture]) { Position = 100 };

        var result = Captures.Read(stream);

        Assert.Equal(CaptureError.None, result.Error);
        Captures.AssertSamePackets(Captures.Read(capture).Packets, result.Packets);
    }

    // ---------------------------------------------------------------- streams

    /// <summary>How a capture reaches the reader.</summary>
    public enum Delivery
    {
        Memory,
        NonSeekable,
        OneBytePerRead,
        OddChunks,
        AsyncOddChunks,
        MappedFile,
        MappedFileAtOffset,
    }

    public static TheoryData<Delivery> Deliveries => new(Enum.GetValues<Delivery>());

    /// <summary>Reads <paramref name="capture"/> through the given kind of stream.</summary>
    internal static ReadResult ReadVia(Delivery delivery, byte[] capture, int bufferSize = 4 * 1024 * 1024)
    {
        switch (delivery)
        {
            case Delivery.Memory:
                return Captures.Read(new MemoryStream(capture, writable: false), bufferSize);
            case Delivery.NonSeekable:
                return Captures.Read(new NonSeekableStream(new MemoryStream(capture, writable: false)), bufferSize);
            case Delivery.OneBytePerRead:
                return Captures.Read(new ChunkedStream(new MemoryStream(capture, writable: false), 1), bufferSize);
            case Delivery.OddChunks:
                return Captures.Read(new ChunkedStream(new MemoryStream(capture, writable: false), [4093, 1, 3, 65537, 17, 1_000_003]), bufferSize);
            case Delivery.AsyncOddChunks:
                // Every read completes asynchronously, on another thread.
                return Task.Run(() => Captures.ReadAsync(new ChunkedStream(new MemoryStream(capture, writable: false), [100_003, 7, 65536, 262_147], yieldEachRead: true), bufferSize)).GetAwaiter().GetResult();
            case Delivery.MappedFile:
            case Delivery.MappedFileAtOffset:
            {
                using var temp = new TempFile();
                var prefix = delivery == Delivery.MappedFileAtOffset ? 1000 : 0;
                File.WriteAllBytes(temp.Path, [.. new byte[prefix], .. capture]);
                using var file = File.OpenRead(temp.Path);
                file.Position = prefix;
                return Captures.Read(file, bufferSize);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(delivery));
        }
    }

    [Theory]
    [MemberData(nameof(Deliveries))]
    public void Every_stream_kind_yields_the_same_packets_as_a_memory_stream(Delivery delivery)
    {
        var captures = new Dictionary<string, byte[]>
        {
            ["micro LE"] = Hex.Parse(MicroLittleEndianHex),
            ["nano BE"] = Hex.Parse(NanoBigEndianHex),
            ["pcapng"] = PcapngTests.MixedSample(),
            ["vxlan.pcap"] = File.ReadAllBytes(Captures.DataFile("vxlan.pcap")),
            ["geneve.pcap"] = File.ReadAllBytes(Captures.DataFile("geneve.pcap")),
            ["bigtcp-ipv6.pcap"] = File.ReadAllBytes(Captures.DataFile("bigtcp-ipv6.pcap")),
        };

        foreach (var (name, capture) in captures)
        {
            var expected = Captures.Read(capture);
            Assert.True(expected.Error == CaptureError.None, $"{name}: {expected.Error}");
            Assert.NotEmpty(expected.Packets);

            var actual = ReadVia(delivery, capture);

            Assert.True(actual.Error == CaptureError.None, $"{name} via {delivery}: {actual.Error}");
            Captures.AssertSamePackets(expected.Packets, actual.Packets);
            Assert.Equal(expected.Reader.CapturedBytes, actual.Reader.CapturedBytes);
        }
    }

    [Fact]
    public void One_byte_reads_complete_every_straddling_record()
    {
        var capture = Hex.Parse(MicroLittleEndianHex);
        using var stream = new ChunkedStream(new MemoryStream(capture, writable: false), 1);

        var result = Captures.Read(stream);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(2, result.Packets.Count);
        Assert.True(stream.Reads >= capture.Length, $"only {stream.Reads} reads for {capture.Length} bytes");
    }

    [Fact]
    public async Task Packets_in_a_pipe_are_delivered_before_the_reader_waits_for_more()
    {
        // tcpdump -U -w - | vtap-collector replay -: the writer hands over one record at a time and
        // then waits for traffic. Each record must reach the handler before the reader blocks on
        // the next read, not once a buffer's worth has piled up.
        var capture = Hex.Parse(MicroLittleEndianHex);
        byte[][] chunks = [capture[..44], capture[44..]]; // file header + record 1 (24 + 20), record 2 (22)
        var log = new PacketLog();
        var deliveredBeforeRead = new List<int>();
        var stream = new ScriptedStream(chunks, _ => deliveredBeforeRead.Add(log.Packets.Count));

        var error = await new CaptureReader(stream).ReadAllAsync(new RecordingHandler(log));

        Assert.Equal(CaptureError.None, error);
        Assert.Equal([0, 1, 2], deliveredBeforeRead); // reads 0, 1 and the end-of-stream read
    }

    [Theory]
    [MemberData(nameof(Deliveries))]
    public void Capture_larger_than_the_buffer_is_read_completely(Delivery delivery)
    {
        // 20 000 packets of 1 KiB: about 20 MiB, five times the default 4 MiB buffer.
        const int count = 20_000;
        var capture = WritePcap(w =>
        {
            var data = new byte[1024];
            for (var i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteInt32BigEndian(data, i);
                data[^1] = (byte)i;
                w.Write(1_700_000_000_000_000_000L + (i * 1_000L), data);
            }
        });
        Assert.True(capture.Length > 4 * 4 * 1024 * 1024);

        var result = ReadVia(delivery, capture);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(count, result.Packets.Count);
        Assert.Equal(count * 1024L, result.Reader.CapturedBytes);
        for (var i = 0; i < count; i++)
        {
            var packet = result.Packets[i];
            Assert.True(
                BinaryPrimitives.ReadInt32BigEndian(packet.Data) == i && packet.Data.Length == 1024 && packet.Data[^1] == (byte)i
                && packet.TimestampNanos == 1_700_000_000_000_000_000L + (i * 1_000L) && packet.OriginalLength == 1024,
                $"packet {i}: {packet}");
        }
    }

    [Theory]
    [InlineData(Delivery.NonSeekable)]
    [InlineData(Delivery.OddChunks)]
    [InlineData(Delivery.AsyncOddChunks)]
    [InlineData(Delivery.MappedFile)]
    public void Largest_records_straddle_the_smallest_buffer(Delivery delivery)
    {
        // The smallest buffer holds two largest records; small records in between shift every
        // large one across the buffer's end, so each is completed after moving it to the front.
        var expected = new List<RecordedPacket>();
        var capture = WritePcap(w =>
        {
            for (var i = 0; i < 12; i++)
            {
                var size = i % 3 == 0 ? CaptureReader.MaxPacketLength : 1 + (i * 37);
                var data = new byte[size];
                for (var j = 0; j < data.Length; j += 97)
                {
                    data[j] = (byte)(i + j);
                }

                w.Write(i * 1_000L, data, size + 4);
                expected.Add(new RecordedPacket(i * 1_000L, size + 4, LinkType.Ethernet, data));
            }
        });

        var result = ReadVia(delivery, capture, bufferSize: 2 * CaptureReader.MaxPacketLength);

        Assert.Equal(CaptureError.None, result.Error);
        Captures.AssertSamePackets(expected, result.Packets);
    }

    [Theory]
    [InlineData(Delivery.NonSeekable)]
    [InlineData(Delivery.OneBytePerRead)]
    [InlineData(Delivery.MappedFile)]
    public void Truncated_capture_delivers_earlier_packets_whatever_the_stream(Delivery delivery)
    {
        var capture = Hex.Parse(MicroLittleEndianHex);

        var result = ReadVia(delivery, capture[..^3]);

        Assert.Equal(CaptureError.RecordTruncated, result.Error);
        Assert.Single(result.Packets);
    }

    [Theory]
    [InlineData(Delivery.NonSeekable)]
    [InlineData(Delivery.MappedFile)]
    public void Header_cut_short_is_reported_whatever_the_stream(Delivery delivery)
    {
        Assert.Equal(CaptureError.HeaderTruncated, ReadVia(delivery, Hex.Parse(MicroLittleEndianHex)[..10]).Error);
        Assert.Equal(CaptureError.HeaderTruncated, ReadVia(delivery, Hex.Parse(MicroLittleEndianHex)[..2]).Error);
        Assert.Equal(CaptureError.NotACapture, ReadVia(delivery, "hello, world"u8.ToArray()).Error);
    }

    [Fact]
    public void Empty_file_is_empty()
    {
        using var temp = new TempFile();
        File.WriteAllBytes(temp.Path, []);

        Assert.Equal(CaptureError.Empty, Captures.ReadFile(temp.Path).Error);
    }

    [Fact]
    public async Task Stream_errors_propagate_as_exceptions()
    {
        var capture = File.ReadAllBytes(Captures.DataFile("geneve.pcap"));
        var reader = new CaptureReader(new FailingStream(new MemoryStream(capture), failAt: 1000));

        var exception = await Assert.ThrowsAsync<IOException>(() => reader.ReadAllAsync(new RecordingHandler(new PacketLog())));

        Assert.Equal("the device went away", exception.Message);
    }

    [Fact]
    public async Task Cancellation_reaches_the_stream()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var reader = new CaptureReader(new NonSeekableStream(new MemoryStream(Hex.Parse(MicroLittleEndianHex))));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.ReadAllAsync(new RecordingHandler(new PacketLog()), cancelled.Token));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void File_larger_than_one_mapped_window_reads_as_a_pipe_does(bool pcapng)
    {
        // About 72 MiB of packets of 1 to 2047 bytes: more than one 64 MiB window, so records
        // straddle a window's end and the reader must slide the mapping to the record's start.
        using var temp = new TempFile(pcapng ? ".pcapng" : ".pcap");
        var written = WriteLargeCapture(temp.Path, pcapng, 72L * 1024 * 1024);
        Assert.True(new FileInfo(temp.Path).Length > MappedFileWindowBytes);

        var mapped = HashAll(File.OpenRead(temp.Path));
        var piped = HashAll(new NonSeekableStream(File.OpenRead(temp.Path)));

        Assert.Equal((CaptureError.None, written.Packets, written.Bytes), (mapped.Error, mapped.Packets, mapped.Bytes));
        Assert.Equal(piped, mapped);
    }

    [Fact]
    public void Block_longer_than_the_read_ahead_overlap_straddling_a_window_end_reads_as_a_pipe_does()
    {
        // The next window is mapped ahead to start 1 MiB before this one's end; a 2 MiB custom block
        // (which the reader skips) that starts 1.5 MiB before the end is not in it, so the reader maps
        // the window it needs then, and the packets after it are read as through a pipe.
        using var temp = new TempFile(".pcapng");
        var written = WriteLargeCapture(temp.Path, pcapng: true, 68L * 1024 * 1024, customBlock: 2 * 1024 * 1024, customBlockAt: MappedFileWindowBytes - (1536 * 1024));

        var mapped = HashAll(File.OpenRead(temp.Path));
        var piped = HashAll(new NonSeekableStream(File.OpenRead(temp.Path)));

        Assert.Equal((CaptureError.None, written.Packets, written.Bytes), (mapped.Error, mapped.Packets, mapped.Bytes));
        Assert.Equal(piped, mapped);
    }

    /// <summary>The reader's mapping window (MappedFileWindow.DefaultWindowBytes, internal).</summary>
    private const long MappedFileWindowBytes = 64L * 1024 * 1024;

    private static (long Packets, long Bytes) WriteLargeCapture(string path, bool pcapng, long size, int customBlock = 0, long customBlockAt = long.MaxValue)
    {
        var random = new Random(4789);
        var data = new byte[2048];
        long packets = 0;
        long bytes = 0;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var output = new BinaryWriter(file);
        if (pcapng)
        {
            // SHB (28 bytes, little-endian, version 1.0, no options) and an Ethernet IDB (20 bytes).
            output.Write(0x0A0D0D0Au); output.Write(28u); output.Write(0x1A2B3C4Du); output.Write((ushort)1); output.Write((ushort)0); output.Write(-1L); output.Write(28u);
            output.Write(1u); output.Write(20u); output.Write((ushort)LinkType.Ethernet); output.Write((ushort)0); output.Write(0u); output.Write(20u);
        }
        else
        {
            // pcap header: magic, version 2.4, thiszone, sigfigs, snaplen, Ethernet.
            output.Write(0xA1B2C3D4u); output.Write((ushort)2); output.Write((ushort)4); output.Write(0); output.Write(0u); output.Write(65535u); output.Write(1u);
        }

        while (file.Position < size)
        {
            if (pcapng && file.Position >= customBlockAt)
            {
                // Once, where the caller wants it: a Custom Block (type 0xBAD, pcapng section 4.8:
                // type, total length, PEN, data, total length) of customBlock bytes in all.
                output.Write(0xBADu); output.Write((uint)customBlock); output.Write(32473u);
                output.Write(new byte[customBlock - 16]); output.Write((uint)customBlock);
                customBlockAt = long.MaxValue;
            }

            var length = random.Next(1, data.Length);
            random.NextBytes(data.AsSpan(0, length));
            if (pcapng)
            {
                // EPB: type, total length, interface 0, timestamp high/low, captured, original, data padded to 4, total length.
                var padded = (length + 3) & ~3;
                var total = (uint)(32 + padded);
                output.Write(6u); output.Write(total); output.Write(0u); output.Write(0u); output.Write((uint)packets); output.Write((uint)length); output.Write((uint)length);
                output.Write(data, 0, length); output.Write(new byte[padded - length]); output.Write(total);
            }
            else
            {
                // Record: seconds, microseconds, captured length, original length, data.
                output.Write((uint)packets); output.Write(0u); output.Write((uint)length); output.Write((uint)length); output.Write(data, 0, length);
            }

            packets++;
            bytes += length;
        }

        return (packets, bytes);
    }

    private static (CaptureError Error, long Packets, long Bytes, ulong Hash) HashAll(Stream stream)
    {
        using (stream)
        {
            var hash = new PacketHash();
            var reader = new CaptureReader(stream);
            var error = reader.ReadAllAsync(new HashingHandler(hash)).GetAwaiter().GetResult();
            return (error, reader.Packets, reader.CapturedBytes, hash.Value);
        }
    }

    private sealed class PacketHash
    {
        public ulong Value = 14_695_981_039_346_656_037UL;
    }

    /// <summary>FNV-1a over every packet's timestamp and bytes, in order.</summary>
    private readonly struct HashingHandler(PacketHash hash) : IPacketHandler
    {
        public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data)
        {
            var value = (hash.Value ^ (ulong)packet.TimestampNanos) * 1_099_511_628_211UL;
            foreach (var b in data)
            {
                value = (value ^ b) * 1_099_511_628_211UL;
            }

            hash.Value = value;
        }
    }

    // ---------------------------------------------------------------- allocation

    [Fact]
    public void Reading_allocates_nothing_per_packet()
    {
        var small = BuildSmallPackets(10_000);
        var large = BuildSmallPackets(100_000);

        // Warm up: JIT compilation and type loading allocate once.
        MeasureAllocation(small, 10_000);
        MeasureAllocation(large, 100_000);

        // The least of a few runs: a garbage collection started by another thread retires this
        // thread's allocation context, and its unused remainder (up to ~8 KiB) counts as allocated.
        var smallBytes = Enumerable.Range(0, 5).Min(_ => MeasureAllocation(small, 10_000));
        var largeBytes = Enumerable.Range(0, 5).Min(_ => MeasureAllocation(large, 100_000));

        // 90 000 more packets: one allocation per packet would show as megabytes. A few hundred
        // bytes of slack allow for one more buffer refill (an async state machine in Debug builds).
        Assert.True(Math.Abs(largeBytes - smallBytes) <= 1024, $"10 000 packets: {smallBytes} B, 100 000 packets: {largeBytes} B allocated");
        Assert.True(largeBytes <= 16 * 1024, $"100 000 packets allocated {largeBytes} B");
    }

    private static byte[] BuildSmallPackets(int count) => WritePcap(w =>
    {
        var data = new byte[60];
        for (var i = 0; i < count; i++)
        {
            data[0] = (byte)i;
            w.Write(i * 1_000L, data);
        }
    });

    private static long MeasureAllocation(byte[] capture, int count)
    {
        var counter = new PacketCounter();
        var reader = new CaptureReader(new MemoryStream(capture, writable: false));
        var handler = new CountingHandler(counter);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = reader.ReadAllAsync(handler).GetAwaiter().GetResult();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(CaptureError.None, error);
        Assert.Equal(count, counter.Count);
        return allocated;
    }

    internal static byte[] WritePcap(Action<PcapWriter> write, LinkType linkType = LinkType.Ethernet, bool nanoseconds = false)
    {
        using var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, linkType, nanoseconds))
        {
            write(writer);
        }

        return stream.ToArray();
    }
}
