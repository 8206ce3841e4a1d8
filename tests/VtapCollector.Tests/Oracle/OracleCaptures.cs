namespace VtapCollector.Tests.Oracle;

/// <summary>A capture with tshark's rows and oracle for it, and the collector's replay of it.</summary>
internal sealed class AnalysedCapture
{
    private readonly Lazy<IReadOnlyDictionary<int, string>> communityIds;

    public AnalysedCapture(string name, string path, string scratchDirectory)
    {
        Name = name;
        Path = path;
        TsharkRows = TsharkOracle.RunTshark(path, scratchDirectory);
        Oracle = TsharkOracle.FromRows(TsharkRows);
        Replay = CollectorRun.Replay(path);
        communityIds = new Lazy<IReadOnlyDictionary<int, string>>(() => ReadCommunityIds(path, scratchDirectory));
    }

    public string Name { get; }

    public string Path { get; }

    public IReadOnlyList<string> TsharkRows { get; }

    public TsharkOracle Oracle { get; }

    public CollectorRun Replay { get; }

    /// <summary>tshark's Community ID (its communityid post-dissector) of every frame that has one.</summary>
    public IReadOnlyDictionary<int, string> CommunityIds => communityIds.Value;

    private static Dictionary<int, string> ReadCommunityIds(string path, string scratchDirectory)
    {
        var rows = TsharkOracle.RunTshark(path, scratchDirectory, ["--enable-protocol", "communityid"], ["frame.number", "communityid"]);
        var ids = new Dictionary<int, string>();
        foreach (var row in rows)
        {
            var columns = row.Split('\t');
            if (columns.Length == 2 && columns[1].Length > 0)
            {
                ids[int.Parse(columns[0], System.Globalization.CultureInfo.InvariantCulture)] = columns[1];
            }
        }

        return ids;
    }
}

/// <summary>
/// Shared by the oracle tests: a scratch folder (deleted at the end), the bundled sample and two
/// generated captures (seed 1: VXLAN only; seed 2: 40 % of the flows over Geneve), each decoded by
/// tshark and replayed by the collector once. The three are prepared in parallel, starting when
/// the fixture is created; a test that needs one waits for it, and a failure to prepare one
/// (tshark or scapy missing, for example) fails the tests that use it with the reason.
/// </summary>
public sealed class OracleCaptures : IDisposable
{
    private readonly Task<AnalysedCapture> sample;
    private readonly Task<AnalysedCapture> vxlan;
    private readonly Task<AnalysedCapture> mixed;

    public OracleCaptures()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vtap-oracle-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        sample = Task.Run(() => new AnalysedCapture("bundled sample-vxlan.pcap", ExternalTools.BundledSample, ScratchFor("sample")));
        vxlan = Task.Run(() => Generated("generated-vxlan.pcap", 1));
        mixed = Task.Run(() => Generated("generated-vxlan-geneve.pcap", 2, "--geneve-share", "0.4"));
    }

    /// <summary>The scratch folder of this test run.</summary>
    public string Directory { get; }

    internal AnalysedCapture Sample => sample.GetAwaiter().GetResult();

    internal AnalysedCapture Vxlan => vxlan.GetAwaiter().GetResult();

    internal AnalysedCapture Mixed => mixed.GetAwaiter().GetResult();

    internal AnalysedCapture ByName(string name) => name switch
    {
        "sample" => Sample,
        "vxlan" => Vxlan,
        "mixed" => Mixed,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "sample, vxlan or mixed"),
    };

    /// <summary>A fresh path in the scratch folder.</summary>
    public string NewPath(string name) => System.IO.Path.Combine(Directory, $"{Guid.NewGuid():N}-{name}");

    public void Dispose()
    {
        try
        {
            Task.WaitAll([sample, vxlan, mixed], TimeSpan.FromSeconds(120));
        }
        catch (AggregateException)
        {
            // Already reported by the tests that used the failed capture.
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the folder is under the system temporary directory.
        }
    }

    private AnalysedCapture Generated(string name, int seed, params string[] options)
    {
        var path = System.IO.Path.Combine(Directory, name);
        ExternalTools.Generate(seed, path, options);
        return new AnalysedCapture($"{name} (seed {seed})", path, ScratchFor(name));
    }

    private string ScratchFor(string name)
    {
        var path = System.IO.Path.Combine(Directory, "scratch-" + name);
        System.IO.Directory.CreateDirectory(path);
        return path;
    }
}
