using BenchmarkDotNet.Running;

namespace VtapCollector.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/VtapCollector.Benchmarks -- [BenchmarkDotNet args]</c>, or
/// <c>-- corpus --packets N --flows M --output FILE</c> to write the IMIX corpus as a pcap for
/// whole-program runs of <c>vtap-collector replay</c>, or <c>-- fuzz --iterations N</c> to push
/// millions of random and mutated frames through the decoder, or <c>-- kafka [--records N]</c> for
/// the Kafka sink's produce, spool write and replay rates against librdkafka's mock cluster, or
/// <c>-- read --input FILE [--rounds N] [--pipe]</c> to time the capture reader alone, or
/// <c>-- capture-cost [--rounds N]</c> for the ingress with and without capture sessions, interleaved.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "corpus")
        {
            return CorpusCommand.Run(args);
        }

        if (args.Length > 0 && args[0] == "fuzz")
        {
            return FuzzCommand.Run(args);
        }

        if (args.Length > 0 && args[0] == "read")
        {
            return ReadCommand.Run(args);
        }

        if (args.Length > 0 && args[0] == "handoff")
        {
            return HandoffCommand.Run(args);
        }

        if (args.Length > 0 && args[0] == "capture-cost")
        {
            return PacketCapture.CaptureCostCommand.Run(args);
        }

        if (args.Length > 0 && args[0] == "kafka")
        {
            return KafkaCommand.Run(args);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
