using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Capture;

/// <summary>
/// The capture filter against tshark's display filters on the same input: for each case, the packets
/// <c>replay --capture-filter</c> keeps (read back by tshark) are exactly those the equivalent display
/// filter selects in the mirrored capture, compared by their unique timestamps. Every term is
/// covered, IPv4 and IPv6, ports and ranges, VNI, tunnel source, and local/remote both ways.
/// </summary>
public sealed class CaptureFilterMatrixTests : IClassFixture<CaptureFilterMatrixTests.Corpus>
{
    private readonly Corpus _corpus;

    public CaptureFilterMatrixTests(Corpus corpus) => _corpus = corpus;

    public static TheoryData<string> Cases => new(
        "proto=tcp",
        "proto=udp",
        "proto=icmp",
        "proto=icmpv6",
        "proto=58",
        "vni=100",
        "vni=200",
        "tunnel=192.0.2.1",
        "tunnel=192.0.2.0/24",
        "tunnel=2001:db8:ffff::/48",
        "host=10.1.0.0/16",
        "host=2001:db8:2::/48",
        "port=443",
        "port=1000-1100",
        "local=10.1.0.0/16",
        "remote=10.1.0.0/16",
        "local=2001:db8:1::/48",
        "remote=2001:db8:2::5",
        "lport=443",
        "rport=443",
        "lport=40000-40100",
        "rport=1000-1100",
        "local=10.2.3.4,remote=10.1.0.0/16",
        "proto=tcp,local=10.1.0.0/16,rport=443,vni=100",
        "proto=udp,remote=2001:db8:2::/48,lport=40000-40100",
        "tunnel=192.0.2.2,proto=udp,port=53",
        "proto=icmp,host=172.16.5.1,vni=101");

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReplayCaptureFilter_KeepsExactlyWhatTheDisplayFilterSelects(string filter)
    {
        using var output = new TempCapture();
        var replay = ExternalTools.RunCollector(["replay", _corpus.Path, "--capture-filter", filter, "--capture-output", output.Path, "--output", "/dev/null", "--quiet"]);
        Assert.True(replay.ExitCode == 0, replay.StandardError);

        var kept = Timestamps(output.Path, null);
        var expected = Timestamps(_corpus.Path, TsharkCaptureFilter.Translate(filter));

        Assert.NotEmpty(expected);
        Assert.True(expected.Count < _corpus.Packets, $"the case '{filter}' selects every packet, so it proves nothing about its terms");
        Assert.Equal(expected, kept);
    }

    [Fact]
    public void ReplayCaptureFilter_EmptyFilterKeepsEveryPacket()
    {
        using var output = new TempCapture();
        var replay = ExternalTools.RunCollector(["replay", _corpus.Path, "--capture-output", output.Path, "--output", "/dev/null", "--quiet"]);
        Assert.True(replay.ExitCode == 0, replay.StandardError);

        Assert.Equal(Timestamps(_corpus.Path, null), Timestamps(output.Path, null));
    }

    private static List<string> Timestamps(string path, string? displayFilter)
    {
        var arguments = new List<string> { "-n", "-r", path, "-T", "fields", "-e", "frame.time_epoch" };
        if (displayFilter is not null)
        {
            arguments.AddRange(["-Y", displayFilter]);
        }

        var result = ExternalTools.Run(ExternalTools.Tshark, arguments, TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, $"tshark {string.Join(' ', arguments)}: {result.StandardError}");
        return [.. result.OutputLines];
    }

    /// <summary>The mixed corpus, written once for all cases.</summary>
    public sealed class Corpus : IDisposable
    {
        public Corpus()
        {
            CaptureCorpus.Write(Path, Packets, seed: 14);
        }

        public int Packets => 1500;

        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vtap-capture-corpus-{Guid.NewGuid():N}.pcap");

        public void Dispose() => File.Delete(Path);
    }
}

/// <summary>A temporary pcapng path, deleted afterwards.</summary>
internal sealed class TempCapture : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vtap-capture-{Guid.NewGuid():N}.pcapng");

    public void Dispose() => File.Delete(Path);
}
