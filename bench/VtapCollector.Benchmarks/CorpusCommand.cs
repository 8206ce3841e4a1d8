using System.Globalization;
using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Benchmarks;

/// <summary>Writes the IMIX corpus as a pcap, for whole-program replay measurements.</summary>
internal static class CorpusCommand
{
    public static int Run(string[] args)
    {
        var packets = 5_000_000;
        var flows = 200_000;
        string? output = null;
        for (var i = 1; i < args.Length - 1; i += 2)
        {
            switch (args[i])
            {
                case "--packets":
                    packets = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    break;
                case "--flows":
                    flows = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    break;
                case "--output":
                    output = args[i + 1];
                    break;
                default:
                    Console.Error.WriteLine($"Unknown option {args[i]}.");
                    return 2;
            }
        }

        if (output is null)
        {
            Console.Error.WriteLine("Usage: corpus --packets N --flows M --output FILE");
            return 2;
        }

        var generator = new ImixCorpus.Generator(flows);
        var frame = new byte[ImixCorpus.MaxFrameLength];
        using var stream = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var writer = new PcapWriter(stream, LinkType.Ethernet);
        for (var i = 0; i < packets; i++)
        {
            var length = generator.Next(frame, out var timestamp);
            writer.Write(timestamp, frame.AsSpan(0, length));
        }

        Console.Error.WriteLine($"Wrote {packets:N0} packets over {flows:N0} flows to {output}.");
        return 0;
    }
}
