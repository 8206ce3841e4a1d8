using System.Globalization;

namespace VtapCollector.Tests.Oracle;

/// <summary>A capture with tshark's rows and oracle for it, and the collector's replay of it.</summary>
internal sealed class AnalysedCapture
{
    private readonly Lazy<List<TsharkConversations.Row>> conversations;

    public AnalysedCapture(string name, string path, string scratchDirectory, string reproduce, GeneratorManifest? manifest = null)
    {
        Name = name;
        Path = path;
        Reproduce = reproduce;
        Manifest = manifest;
        TsharkRows = TsharkOracle.RunTshark(path, scratchDirectory);
        Oracle = TsharkOracle.FromRows(TsharkRows);
        Replay = CollectorRun.Replay(path);
        conversations = new Lazy<List<TsharkConversations.Row>>(() => TsharkConversations.Run(path, scratchDirectory));
    }

    public string Name { get; }

    public string Path { get; }

    /// <summary>How to make the capture and replay it by hand, for failure messages.</summary>
    public string Reproduce { get; }

    /// <summary>Name and how to reproduce: the first line of a failure message.</summary>
    public string Description => $"{Name} ({Reproduce})";

    /// <summary>What the scenario generator says each flow must give (null for the other captures).</summary>
    public GeneratorManifest? Manifest { get; }

    public IReadOnlyList<string> TsharkRows { get; }

    public TsharkOracle Oracle { get; }

    public CollectorRun Replay { get; }

    /// <summary>tshark's TCP and UDP conversation tables of the capture, read on first use.</summary>
    public IReadOnlyList<TsharkConversations.Row> Conversations => conversations.Value;
}

/// <summary>
/// The captures of the oracle tests, each decoded by tshark and replayed by the collector once per
/// test run, however many test classes use them: the bundled sample, two random mixes of
/// tests/tools/gen_oracle_capture.py (seed 1: VXLAN only; seed 2: 40 % of the flows over Geneve;
/// seed 3: 70 % over ERSPAN II, ERSPAN III or Ethernet bridged over GRE)
/// and the named scenarios of tests/tools/gen_oracle_scenarios.py with their manifest (seed
/// <see cref="DefaultScenarioSeed"/>, or VTAP_ORACLE_SEED). A capture is prepared on first use, in
/// the background; <see cref="StartAll"/> starts them all in parallel. A failure to prepare one
/// (tshark or scapy missing, for example) fails the tests that use it with the reason. The scratch
/// folder is deleted when the test process exits, unless VTAP_ORACLE_KEEP=1.
/// </summary>
public sealed class OracleCaptures
{
    /// <summary>The scenario capture's default seed; VTAP_ORACLE_SEED picks another to explore.</summary>
    public const int DefaultScenarioSeed = 20261123;

    private static readonly string SharedDirectory = CreateDirectory();
    private static readonly Lazy<Task<AnalysedCapture>> SharedSample = Start(() =>
        new AnalysedCapture("bundled sample-vxlan.pcap", ExternalTools.BundledSample, ScratchFor("sample"),
            "replay: dotnet run --project src/VtapCollector -- replay src/VtapCollector/Samples/sample-vxlan.pcap --output -"));

    private static readonly Lazy<Task<AnalysedCapture>> SharedVxlan = Start(() => GenerateMixed("generated-vxlan.pcap", 1));
    private static readonly Lazy<Task<AnalysedCapture>> SharedMixed = Start(() => GenerateMixed("generated-vxlan-geneve.pcap", 2, "--geneve-share", "0.4"));
    private static readonly Lazy<Task<AnalysedCapture>> SharedGre = Start(() => GenerateMixed("generated-erspan-gre.pcap", 3, "--gre-share", "0.7"));
    private static readonly Lazy<Task<AnalysedCapture>> SharedScenarios = Start(GenerateScenarios);

    /// <summary>The scratch folder of this test run.</summary>
    public string Directory => SharedDirectory;

    internal AnalysedCapture Sample => SharedSample.Value.GetAwaiter().GetResult();

    internal AnalysedCapture Vxlan => SharedVxlan.Value.GetAwaiter().GetResult();

    internal AnalysedCapture Mixed => SharedMixed.Value.GetAwaiter().GetResult();

    internal AnalysedCapture Gre => SharedGre.Value.GetAwaiter().GetResult();

    internal AnalysedCapture Scenarios => SharedScenarios.Value.GetAwaiter().GetResult();

    internal AnalysedCapture ByName(string name) => name switch
    {
        "sample" => Sample,
        "vxlan" => Vxlan,
        "mixed" => Mixed,
        "gre" => Gre,
        "scenarios" => Scenarios,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "sample, vxlan, mixed, gre or scenarios"),
    };

    /// <summary>Starts preparing every capture (once per test run), so they are made in parallel.</summary>
    public void StartAll()
    {
        foreach (var capture in new[] { SharedSample, SharedVxlan, SharedMixed, SharedGre, SharedScenarios })
        {
            _ = capture.Value;
        }
    }

    /// <summary>A fresh path in the scratch folder.</summary>
    public string NewPath(string name) => System.IO.Path.Combine(SharedDirectory, $"{Guid.NewGuid():N}-{name}");

    private static Lazy<Task<AnalysedCapture>> Start(Func<AnalysedCapture> prepare) =>
        new(() => Task.Run(prepare), LazyThreadSafetyMode.ExecutionAndPublication);

    private static AnalysedCapture GenerateMixed(string name, int seed, params string[] options)
    {
        var path = System.IO.Path.Combine(SharedDirectory, name);
        string[] arguments = [seed.ToString(CultureInfo.InvariantCulture), path, .. options];
        ExternalTools.Generate(ExternalTools.MixedGeneratorScript, arguments, path);
        return new AnalysedCapture($"{name} (seed {seed})", path, ScratchFor(name),
            $"reproduce: /usr/bin/python3 tests/tools/gen_oracle_capture.py {string.Join(' ', [arguments[0], "x.pcap", .. options])}" + ReplayHint);
    }

    private static AnalysedCapture GenerateScenarios()
    {
        var text = Environment.GetEnvironmentVariable("VTAP_ORACLE_SEED");
        var seed = string.IsNullOrEmpty(text) ? DefaultScenarioSeed : int.Parse(text, CultureInfo.InvariantCulture);
        var path = System.IO.Path.Combine(SharedDirectory, "generated-scenarios.pcap");
        var manifest = System.IO.Path.Combine(SharedDirectory, "generated-scenarios.json");
        var seedText = seed.ToString(CultureInfo.InvariantCulture);
        ExternalTools.Generate(ExternalTools.ScenarioGeneratorScript, ["--seed", seedText, "--pcap", path, "--manifest", manifest], path);
        return new AnalysedCapture($"generated-scenarios.pcap (seed {seed})", path, ScratchFor("scenarios"),
            $"reproduce: /usr/bin/python3 tests/tools/gen_oracle_scenarios.py --seed {seedText} --pcap x.pcap --manifest x.json" + ReplayHint,
            GeneratorManifest.Load(manifest));
    }

    private static string ReplayHint =>
        $" && dotnet run --project src/VtapCollector -- replay x.pcap --output -; VTAP_ORACLE_KEEP=1 keeps {SharedDirectory}";

    private static string ScratchFor(string name)
    {
        var path = System.IO.Path.Combine(SharedDirectory, "scratch-" + name);
        System.IO.Directory.CreateDirectory(path);
        return path;
    }

    private static string CreateDirectory()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("vtap-oracle-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            if (Environment.GetEnvironmentVariable("VTAP_ORACLE_KEEP") == "1")
            {
                return;
            }

            try
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: the folder is under the system temporary directory.
            }
        };
        return directory;
    }
}
