using System.Diagnostics;
using System.Globalization;
using VtapCollector.Capture;

namespace VtapCollector.Benchmarks;

/// <summary>
/// <c>read --input FILE [--rounds N] [--pipe]</c>: the capture reader alone, over a whole file, with
/// a handler that only counts and touches the header bytes a decoder reads. Prints each round's
/// time, rate and the bytes allocated, so a change to the reader is measured without decoding or
/// flow-table noise. <c>--pipe</c> hides the file's seekability, to time the buffered path that
/// stdin and pipes take instead of the mapped one.
/// </summary>
internal static class ReadCommand
{
    public static int Run(string[] args)
    {
        string? input = null;
        var rounds = 3;
        var pipe = false;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--input" when i + 1 < args.Length:
                    input = args[++i];
                    break;
                case "--rounds" when i + 1 < args.Length:
                    rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--pipe":
                    pipe = true;
                    break;
                default:
                    Console.Error.WriteLine($"Unknown option {args[i]}.");
                    return 2;
            }
        }

        if (input is null)
        {
            Console.Error.WriteLine("Usage: read --input FILE [--rounds N] [--pipe]");
            return 2;
        }

        var times = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            var totals = new PacketTotals();
            using var file = new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            using Stream stream = pipe ? new Capture.Tests.NonSeekableStream(file) : file;
            var reader = new CaptureReader(stream);
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var stopwatch = Stopwatch.StartNew();
            var error = reader.ReadAllAsync(new TouchingHandler(totals)).GetAwaiter().GetResult();
            stopwatch.Stop();
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            var seconds = stopwatch.Elapsed.TotalSeconds;
            times.Add(seconds);
            if (error != CaptureError.None)
            {
                Console.WriteLine(error.Describe(reader));
            }

            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"round {round}: {reader.Packets:N0} packets, {seconds:F3} s, {reader.Packets / seconds / 1e6:F2} Mpackets/s, {reader.CapturedBytes / seconds / 1e9:F2} GB/s, {allocated:N0} bytes allocated, {error}, checksum {totals.Checksum:x}"));
        }

        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median {times[times.Count / 2]:F3} s over {rounds} rounds ({(pipe ? "buffered" : "mapped")} path)"));
        return 0;
    }
}
