using System.Globalization;

namespace VtapCollector.Tests.CrossCheck;

/// <summary>Everything one cross-check run produced: the generated capture, both oracles and the collector's records.</summary>
internal sealed class CrossCheckRun
{
    public required string Directory { get; init; }

    public required int Seed { get; init; }

    public required string Pcap { get; init; }

    public required string Pcapng { get; init; }

    public required GeneratorManifest Manifest { get; init; }

    public required List<TsharkOracle.Packet> OraclePackets { get; init; }

    public required Dictionary<FlowKey, OracleFlow> Oracle { get; init; }

    public required List<TsharkConversations.Row> Conversations { get; init; }

    public required string RecordsFromPcap { get; init; }

    public required string RecordsFromPcapng { get; init; }

    public required Dictionary<string, CollectorFlow> Collector { get; init; }

    /// <summary>The pcap replayed with --active-timeout 1: long flows give update records whose deltas must add up.</summary>
    public required Dictionary<string, CollectorFlow> CollectorWithActiveTimeout { get; init; }

    /// <summary>How to reproduce the run by hand, appended to failure messages.</summary>
    public string Reproduce =>
        $"(seed {Seed}; reproduce: /usr/bin/python3 tests/tools/gen_crosscheck.py --seed {Seed} --pcap x.pcap --manifest x.json && "
        + "dotnet run --project src/VtapCollector -- replay x.pcap; set VTAP_CROSSCHECK_KEEP=1 to keep "
        + $"{Directory})";
}

/// <summary>
/// Generates the capture once per test class, then runs tshark (fields and conversation tables) and the
/// collector (on the pcap and on its pcapng copy) concurrently. Failures are kept and rethrown by
/// every test that asks for the run: a missing tool fails the tests, naming the apt package.
/// </summary>
public sealed class CrossCheckFixture : IDisposable
{
    /// <summary>The default seed; VTAP_CROSSCHECK_SEED picks another to explore.</summary>
    public const int DefaultSeed = 20261123;

    private static readonly TimeSpan GeneratorTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan TsharkTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan ReplayTimeout = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _directory = System.IO.Directory.CreateTempSubdirectory("vtap-crosscheck-");
    private readonly Lazy<CrossCheckRun> _run;

    public CrossCheckFixture()
    {
        _run = new Lazy<CrossCheckRun>(Execute, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    internal CrossCheckRun Run => _run.Value;

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("VTAP_CROSSCHECK_KEEP") != "1")
        {
            try
            {
                _directory.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }
        }
    }

    private CrossCheckRun Execute()
    {
        var seedText = Environment.GetEnvironmentVariable("VTAP_CROSSCHECK_SEED");
        var seed = string.IsNullOrEmpty(seedText) ? DefaultSeed : int.Parse(seedText, CultureInfo.InvariantCulture);
        var repository = ExternalTool.RepositoryRoot();
        var script = Path.Combine(repository, "tests", "tools", "gen_crosscheck.py");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"the generator {script} is missing.");
        }

        var collector = ExternalTool.CollectorDll();
        var pcap = Path.Combine(_directory.FullName, "crosscheck.pcap");
        var pcapng = Path.Combine(_directory.FullName, "crosscheck.pcapng");
        var manifestPath = Path.Combine(_directory.FullName, "crosscheck.json");

        var generated = ExternalTool.Run(ExternalTool.Python(),
            [script, "--seed", seed.ToString(CultureInfo.InvariantCulture), "--pcap", pcap, "--pcapng", pcapng, "--manifest", manifestPath],
            GeneratorTimeout, "install Python 3 and scapy: apt-get install python3 python3-scapy");
        if (generated.ExitCode != 0)
        {
            var hint = generated.ExitCode switch
            {
                3 => " scapy is missing: apt-get install python3-scapy (the test runs /usr/bin/python3).",
                4 => " editcap is missing or failed: apt-get install tshark (editcap comes with it, in wireshark-common).",
                _ => "",
            };
            throw new InvalidOperationException($"gen_crosscheck.py exited with {generated.ExitCode}.{hint}\n{generated.Stderr}");
        }

        // tshark reads no user profile (a personal "decode as" would change the oracle) and resolves no names.
        var wiresharkConfig = System.IO.Directory.CreateDirectory(Path.Combine(_directory.FullName, "wireshark-config")).FullName;
        var tsharkEnvironment = new Dictionary<string, string> { ["WIRESHARK_CONFIG_DIR"] = wiresharkConfig };
        const string tsharkHint = "install tshark: apt-get install tshark";

        var fields = Task.Run(() => ExternalTool.Run("tshark", TsharkOracle.FieldArguments(pcap), TsharkTimeout, tsharkHint, tsharkEnvironment));
        var conversations = Task.Run(() => ExternalTool.Run("tshark", TsharkConversations.Arguments(pcap), TsharkTimeout, tsharkHint, tsharkEnvironment));
        var fromPcap = Task.Run(() => Replay(collector, pcap));
        var fromPcapng = Task.Run(() => Replay(collector, pcapng));
        var withActiveTimeout = Task.Run(() => Replay(collector, pcap, "--active-timeout", "1"));
        Task.WaitAll(fields, conversations, fromPcap, fromPcapng, withActiveTimeout);

        foreach (var tshark in new[] { fields.Result, conversations.Result })
        {
            if (tshark.ExitCode != 0)
            {
                throw new InvalidOperationException($"tshark exited with {tshark.ExitCode}: {tshark.Stderr}");
            }
        }

        var packets = TsharkOracle.ParsePackets(fields.Result.Stdout);
        return new CrossCheckRun
        {
            Directory = _directory.FullName,
            Seed = seed,
            Pcap = pcap,
            Pcapng = pcapng,
            Manifest = GeneratorManifest.Load(manifestPath),
            OraclePackets = packets,
            Oracle = TsharkOracle.Aggregate(packets),
            Conversations = TsharkConversations.Parse(conversations.Result.Stdout),
            RecordsFromPcap = fromPcap.Result,
            RecordsFromPcapng = fromPcapng.Result,
            Collector = CollectorRecords.Parse(fromPcap.Result),
            CollectorWithActiveTimeout = CollectorRecords.Parse(withActiveTimeout.Result),
        };
    }

    private static string Replay(string collector, string capture, params string[] options)
    {
        var result = ExternalTool.Run(ExternalTool.DotnetHost(), [collector, "replay", capture, "--output", "-", .. options], ReplayTimeout,
            "the dotnet host that runs the tests was not found to run vtap-collector.dll");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"vtap-collector replay {Path.GetFileName(capture)} {string.Join(' ', options)} exited with {result.ExitCode}: {result.Stderr}");
        }

        return result.Stdout;
    }
}
