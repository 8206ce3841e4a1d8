using System.Diagnostics;
using System.Globalization;
using VtapCollector.Decoding;

namespace VtapCollector.Benchmarks;

/// <summary>
/// The "never throws" property at scale: millions of random frames and mutations of valid ones
/// through the decoder on every link type, with a histogram of the statuses they produced. The
/// test suite runs a fast subset of the same property on every build.
/// </summary>
internal static class FuzzCommand
{
    private static readonly LinkType[] LinkTypes = Enum.GetValues<LinkType>();

    public static int Run(string[] args)
    {
        var iterations = 10_000_000L;
        var seed = 1;
        for (var i = 1; i < args.Length - 1; i += 2)
        {
            switch (args[i])
            {
                case "--iterations":
                    iterations = long.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    break;
                case "--seed":
                    seed = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    break;
                default:
                    Console.Error.WriteLine($"Unknown option {args[i]}.");
                    return 2;
            }
        }

        var random = new Random(seed);
        var decoder = new PacketDecoder();
        var valid = ImixCorpus.Build(1024, 1024, seed);

        // Every third valid frame as ERSPAN type II, so mutations reach the GRE and ERSPAN headers too.
        ErspanDecodeBenchmarks.RewriteAsErspan(valid, every: 3);
        var frame = new byte[ImixCorpus.MaxFrameLength + 64];
        var counts = new long[(int)DecodeStatus.Count];
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0L; i < iterations; i++)
        {
            int length;
            if ((i & 1) == 0)
            {
                // Pure noise of any length up to a jumbo frame's headers.
                length = random.Next(0, 256);
                random.NextBytes(frame.AsSpan(0, length));
            }
            else
            {
                // A valid VXLAN or ERSPAN frame with a few bytes flipped and its length cut or extended:
                // the inputs that reach deep into the tunnel and inner headers.
                var source = valid.Frame(random.Next(valid.Count));
                source.CopyTo(frame);
                for (var flips = random.Next(1, 5); flips > 0; flips--)
                {
                    frame[random.Next(source.Length)] = (byte)random.Next(256);
                }

                length = Math.Clamp(source.Length + random.Next(-64, 16), 0, frame.Length);
            }

            var linkType = (i & 7) == 0 ? LinkTypes[random.Next(LinkTypes.Length)] : LinkType.Ethernet;
            var status = decoder.Decode(linkType, frame.AsSpan(0, length), out _);
            counts[(int)status]++;
        }

        stopwatch.Stop();
        Console.WriteLine($"{iterations:N0} frames decoded without an exception in {stopwatch.Elapsed.TotalSeconds:F1} s ({iterations / stopwatch.Elapsed.TotalSeconds:N0} frames/s); statuses:");
        for (var status = 0; status < counts.Length; status++)
        {
            if (counts[status] > 0)
            {
                Console.WriteLine($"  {((DecodeStatus)status).ToLabel(),-34} {counts[status],14:N0}");
            }
        }

        return 0;
    }
}
