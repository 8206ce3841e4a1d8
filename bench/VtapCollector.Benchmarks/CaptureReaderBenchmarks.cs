using BenchmarkDotNet.Attributes;
using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Benchmarks;

/// <summary>
/// Per-packet cost of the capture reader alone over an IMIX pcap in the page cache (about 135 MB,
/// three mapping windows): the mapped path a regular file takes and the buffered path of a pipe.
/// </summary>
[MemoryDiagnoser]
public class CaptureReaderBenchmarks
{
    private const int Packets = 1 << 18;

    private string _path = null!;

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"vtap-reader-bench-{Environment.ProcessId}.pcap");
        var generator = new ImixCorpus.Generator(flows: 200_000);
        var frame = new byte[ImixCorpus.MaxFrameLength];
        using var stream = new FileStream(_path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var writer = new PcapWriter(stream, LinkType.Ethernet);
        for (var i = 0; i < Packets; i++)
        {
            var length = generator.Next(frame, out var timestamp);
            writer.Write(timestamp, frame.AsSpan(0, length));
        }
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(OperationsPerInvoke = Packets)]
    public ulong MappedFile()
    {
        using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Read(file);
    }

    [Benchmark(OperationsPerInvoke = Packets)]
    public ulong Pipe()
    {
        using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        using var pipe = new Capture.Tests.NonSeekableStream(file);
        return Read(pipe);
    }

    private static ulong Read(Stream stream)
    {
        var totals = new PacketTotals();
        var error = new CaptureReader(stream).ReadAllAsync(new TouchingHandler(totals)).GetAwaiter().GetResult();
        return error == CaptureError.None ? totals.Checksum : throw new InvalidOperationException(error.ToString());
    }
}
