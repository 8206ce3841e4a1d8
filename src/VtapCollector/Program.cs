using VtapCollector.Cli;

namespace VtapCollector;

/// <summary>Entry point: picks the command and turns usage mistakes into one sentence and exit code 2.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                await Console.Out.WriteAsync(Usage.Text).ConfigureAwait(false);
                return args.Length == 0 ? 2 : 0;
            }

            if (args[0] is "--version" or "version")
            {
                Console.Out.WriteLine($"vtap-collector {BuildInfo.Version}");
                return 0;
            }

            return args[0] switch
            {
                "replay" => await Replay.ReplayCommand.RunAsync(ReplayOptions.Parse(args), Console.Error).ConfigureAwait(false),
                "run" => await Service.RunCommand.RunAsync(args, Console.Error).ConfigureAwait(false),
                "send" => await Send.SendCommand.RunAsync(Send.SendOptions.Parse(args), Console.Error).ConfigureAwait(false),
                "capture" => await CaptureClient.CaptureCommand.RunAsync(CaptureOptions.Parse(args), Console.Out, Console.Error).ConfigureAwait(false),
                _ => throw new UsageException($"Unknown command '{args[0]}'; run 'vtap-collector --help' for the commands."),
            };
        }
        catch (UsageException error)
        {
            await Console.Error.WriteLineAsync($"vtap-collector: {error.Message}").ConfigureAwait(false);
            return 2;
        }
    }
}
