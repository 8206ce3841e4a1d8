using System.Buffers.Binary;
using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Fuzz.Targets;

/// <summary>
/// The pcap/pcapng reader, the input being the whole capture file, read three ways: from a
/// MemoryStream in one go (the buffered path), from a non-seekable stream that hands out a few
/// bytes per read (the pipe path: refills, compaction, records straddling reads), and from a file
/// (the memory-mapped path of replay). All three must deliver the same packets and end the same way,
/// with the same account of where and why, and that account must make a sentence.
/// </summary>
internal sealed class CaptureTarget : IFuzzTarget
{
    private readonly string _file = Scratch.File("capture.pcap");

    public string Name => "capture";

    public IReadOnlyList<string> Instrument =>
        ["VtapCollector.Capture.dll VtapCollector.Capture.CaptureReader VtapCollector.Capture.MappedFileWindow VtapCollector.Capture.CaptureErrorMessages"];

    public IEnumerable<string>? Dictionary =>
    [
        "pcap_micro_le=\"\\xd4\\xc3\\xb2\\xa1\"",
        "pcap_micro_be=\"\\xa1\\xb2\\xc3\\xd4\"",
        "pcap_nano_le=\"\\x4d\\x3c\\xb2\\xa1\"",
        "pcap_nano_be=\"\\xa1\\xb2\\x3c\\x4d\"",
        "pcapng_shb=\"\\x0a\\x0d\\x0d\\x0a\"",
        "pcapng_bom_le=\"\\x4d\\x3c\\x2b\\x1a\"",
        "pcapng_bom_be=\"\\x1a\\x2b\\x3c\\x4d\"",
        "block_idb=\"\\x01\\x00\\x00\\x00\"",
        "block_pb=\"\\x02\\x00\\x00\\x00\"",
        "block_spb=\"\\x03\\x00\\x00\\x00\"",
        "block_epb=\"\\x06\\x00\\x00\\x00\"",
        "opt_tsresol=\"\\x09\\x00\\x01\\x00\"",
        "opt_tsoffset=\"\\x0e\\x00\\x08\\x00\"",
    ];

    public void Run(ReadOnlySpan<byte> input)
    {
        var data = input.ToArray();
        var whole = Read(new MemoryStream(data, writable: false));
        var trickled = Read(new TrickleStream(data));
        File.WriteAllBytes(_file, data);
        Outcome mapped;
        using (var file = new FileStream(_file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
        {
            mapped = Read(file);
        }

        if (trickled != whole || mapped != whole)
        {
            throw new InvalidOperationException($"The read paths disagree: buffered {whole}, a few bytes per read {trickled}, memory-mapped {mapped}.");
        }
    }

    private static Outcome Read(Stream stream)
    {
        var digest = new Digest();
        var reader = new CaptureReader(stream, bufferSize: 2 * CaptureReader.MaxPacketLength);
        var error = reader.ReadAllAsync(new Digester(digest)).GetAwaiter().GetResult();
        if (digest.Packets != reader.Packets || digest.Bytes != reader.CapturedBytes)
        {
            throw new InvalidOperationException($"The reader counts {reader.Packets} packets of {reader.CapturedBytes} bytes but delivered {digest.Packets} of {digest.Bytes}.");
        }

        return new Outcome(error, digest.Packets, digest.Bytes, digest.Hash, reader.ErrorOffset, reader.ErrorRecord, reader.ErrorBlockName, error.Describe(reader));
    }

    public IEnumerable<Seed> Seeds(string repositoryRoot)
    {
        foreach (var path in CaptureFrames.Files(repositoryRoot))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            var bytes = File.ReadAllBytes(path);
            var frames = CaptureFrames.Read(path);
            if (bytes.Length <= 4096)
            {
                yield return new Seed(name + ".pcap", bytes);
            }

            // The large captures' first packets only: afl mutates small files far faster.
            var few = frames.Take(2).ToList();
            if (few.Count == 0)
            {
                continue;
            }

            yield return new Seed(name + "-head.pcap", SeedCaptures.Pcap(few, bigEndian: false, nanoseconds: false));
            if (name.StartsWith("vxlan", StringComparison.Ordinal) || name.StartsWith("geneve", StringComparison.Ordinal))
            {
                yield return new Seed(name + "-be-ns.pcap", SeedCaptures.Pcap(few, bigEndian: true, nanoseconds: true));
                yield return new Seed(name + ".pcapng", SeedCaptures.Pcapng(few, bigEndian: false));
                yield return new Seed(name + "-be.pcapng", SeedCaptures.Pcapng(few, bigEndian: true));
            }
        }
    }

    private readonly record struct Outcome(CaptureError Error, long Packets, long Bytes, ulong Hash, long ErrorOffset, long ErrorRecord, string? ErrorBlock, string Sentence);

    /// <summary>What was delivered: counts and a hash of every packet's metadata and bytes.</summary>
    private sealed class Digest
    {
        public long Packets;
        public long Bytes;
        public ulong Hash = 14695981039346656037UL;

        public void Add(ulong value) => Hash = (Hash ^ value) * 1099511628211UL;
    }

    private readonly struct Digester(Digest digest) : IPacketHandler
    {
        public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data)
        {
            digest.Packets++;
            digest.Bytes += data.Length;
            digest.Add((ulong)packet.TimestampNanos);
            digest.Add((ulong)packet.OriginalLength);
            digest.Add((ulong)packet.LinkType);
            digest.Add((ulong)data.Length);
            while (data.Length >= 8)
            {
                digest.Add(BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }

            foreach (var value in data)
            {
                digest.Add(value);
            }
        }
    }
}
