using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests;

/// <summary>
/// Real captures from tcpdump's test suite, checked against two independent readers: tcpdump's
/// own printout (the .out files: one numbered, timestamped line per packet) and tshark.
/// </summary>
public partial class RealCaptureTests
{
    private static readonly string DataDirectory = Path.Combine(AppContext.BaseDirectory, "data", "tcpdump");

    /// <summary>Every capture of the tcpdump corpus (vxlan, geneve, nsh, gso, bigtcp, erspan).</summary>
    public static TheoryData<string> RealCaptures => new(
        Directory.GetFiles(DataDirectory, "*.pcap").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    [Fact]
    public void Corpus_holds_the_named_captures()
    {
        var names = Directory.GetFiles(DataDirectory, "*.pcap").Select(Path.GetFileName).ToHashSet();

        foreach (var name in new[] { "vxlan.pcap", "vxlan_port_8472.pcap", "geneve.pcap", "geneve-gcp.pcap", "nsh-over-vxlan-gpe.pcap" })
        {
            Assert.Contains(name, names);
        }

        Assert.Equal(10, names.Count(n => n!.StartsWith("gso-", StringComparison.Ordinal)));
        Assert.Equal(11, names.Count(n => n!.StartsWith("bigtcp-", StringComparison.Ordinal)));
        Assert.Equal(10, names.Count(n => n!.StartsWith("erspan-", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(RealCaptures))]
    public void Packet_count_and_timestamps_match_tcpdump(string name)
    {
        var printout = TcpdumpPrintout(name);
        var result = Captures.ReadFile(Path.Combine(DataDirectory, name));

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(printout.Count, result.Packets.Count);

        // The first packet, then all of them: tcpdump prints UTC to the microsecond.
        Assert.Equal(printout[0], result.Packets[0].TimestampNanos / 1_000);
        Assert.Equal(printout, result.Packets.Select(p => p.TimestampNanos / 1_000));
    }

    [Theory]
    [MemberData(nameof(RealCaptures))]
    public void Mapped_file_and_stream_read_alike(string name)
    {
        var path = Path.Combine(DataDirectory, name);
        var mapped = Captures.ReadFile(path);
        var streamed = Captures.Read(new NonSeekableStream(new MemoryStream(File.ReadAllBytes(path))));

        Assert.Equal(CaptureError.None, mapped.Error);
        Assert.Equal(CaptureError.None, streamed.Error);
        Captures.AssertSamePackets(streamed.Packets, mapped.Packets);
        Assert.Equal(new FileInfo(path).Length - 24 - (16 * mapped.Packets.Count), mapped.Reader.CapturedBytes);
    }

    [Fact]
    public void Vxlan_first_packet_is_as_tcpdump_prints_it()
    {
        // "    1  2013-05-18 20:21:44.837063 36:dc:85:1e:b3:40 > 00:16:3e:08:71:cf, ethertype IPv4 (0x0800), length 148"
        var first = Captures.ReadFile(Captures.DataFile("vxlan.pcap")).Packets[0];

        Assert.Equal(Captures.Nanos(2013, 5, 18, 20, 21, 44, 837_063_000), first.TimestampNanos);
        Assert.Equal(148, first.OriginalLength);
        Assert.Equal(148, first.Data.Length);
        Assert.Equal(LinkType.Ethernet, first.LinkType);
        Assert.Equal(Hex.Parse("00 16 3e 08 71 cf 36 dc 85 1e b3 40 08 00"), first.Data[..14]);
    }

    [Fact]
    public void Raw_ip_capture_has_the_raw_link_type()
    {
        var packet = Assert.Single(Captures.ReadFile(Captures.DataFile("erspan-type-iii-pb-1.pcap")).Packets);

        Assert.Equal(LinkType.Raw, packet.LinkType);
        Assert.Equal(6, packet.Data[0] >> 4); // IPv6
    }

    // ---------------------------------------------------------------- tshark

    [Theory]
    [InlineData("vxlan.pcap")]
    [InlineData("geneve.pcap")]
    [InlineData("erspan-type-i-4.pcap")]
    [InlineData("erspan-type-iii-pb-1.pcap")]
    [InlineData("bigtcp-ipv6-hbh.pcap")]
    public async Task Tshark_agrees_on_timestamps_and_lengths(string name)
    {
        var path = Captures.DataFile(name);

        var tshark = await TsharkFramesAsync(path);
        var result = Captures.ReadFile(path);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.Equal(tshark, Frames(result));
    }

    [Theory]
    [InlineData("geneve.pcap", "pcapng")]
    [InlineData("erspan-type-ii-3.pcap", "pcapng")]
    [InlineData("vxlan.pcap", "nseclibpcap")]
    public async Task Tshark_agrees_on_an_editcap_conversion(string name, string format)
    {
        using var converted = new TempFile(format == "pcapng" ? ".pcapng" : ".pcap");
        await RunAsync("editcap", "-F", format, Captures.DataFile(name), converted.Path);

        var tshark = await TsharkFramesAsync(converted.Path);
        var mapped = Captures.ReadFile(converted.Path);
        var streamed = Captures.Read(new NonSeekableStream(File.OpenRead(converted.Path)));
        var original = Captures.ReadFile(Captures.DataFile(name));

        Assert.Equal(CaptureError.None, mapped.Error);
        Assert.Equal(format == "pcapng", mapped.Reader.IsPcapng);
        Assert.Equal(tshark, Frames(mapped));
        Captures.AssertSamePackets(mapped.Packets, streamed.Packets);
        Captures.AssertSamePackets(original.Packets, mapped.Packets); // the conversion changes no packet
    }

    [Fact]
    public async Task Tshark_agrees_on_a_pcapng_with_two_interfaces()
    {
        // mergecap writes one IDB per input: Ethernet for vxlan.pcap, raw IP for the ERSPAN one.
        using var merged = new TempFile(".pcapng");
        await RunAsync("mergecap", "-F", "pcapng", "-w", merged.Path, Captures.DataFile("vxlan.pcap"), Captures.DataFile("erspan-type-iii-pb-1.pcap"));

        var tshark = await TsharkFramesAsync(merged.Path);
        var result = Captures.ReadFile(merged.Path);

        Assert.Equal(CaptureError.None, result.Error);
        Assert.True(result.Reader.IsPcapng);
        Assert.Equal(tshark, Frames(result));
        Assert.Equal(11, result.Packets.Count);
        Assert.Equal(10, result.Packets.Count(p => p.LinkType == LinkType.Ethernet));
        Assert.Equal(1, result.Packets.Count(p => p.LinkType == LinkType.Raw));
    }

    private static List<(long TimestampNanos, int Length, int CapturedLength)> Frames(ReadResult result) =>
        result.Packets.Select(p => (p.TimestampNanos, p.OriginalLength, p.Data.Length)).ToList();

    /// <summary>tshark's view of every frame: epoch time, length on the wire, captured length.</summary>
    private static async Task<List<(long TimestampNanos, int Length, int CapturedLength)>> TsharkFramesAsync(string path)
    {
        var output = await RunAsync("tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len");
        var frames = new List<(long, int, int)>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split('\t');
            Assert.True(fields.Length == 3, $"unexpected tshark line: {line}");
            frames.Add((ParseEpoch(fields[0]), int.Parse(fields[1], CultureInfo.InvariantCulture), int.Parse(fields[2], CultureInfo.InvariantCulture)));
        }

        Assert.NotEmpty(frames);
        return frames;
    }

    /// <summary>"1368908504.837063000" to nanoseconds, without the rounding of a double.</summary>
    private static long ParseEpoch(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var seconds = long.Parse(dot < 0 ? text : text[..dot], CultureInfo.InvariantCulture);
        var fraction = dot < 0 ? "0" : text[(dot + 1)..].PadRight(9, '0')[..9];
        return (seconds * 1_000_000_000L) + long.Parse(fraction, CultureInfo.InvariantCulture);
    }

    private static string RequireTool(string name)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
        return path ?? throw new InvalidOperationException(
            $"{name} is not installed (not found on PATH). These tests use Wireshark's command-line tools as an independent "
            + "oracle; install them with scripts/install-deps.sh (Debian package tshark, which brings editcap and mergecap).");
    }

    private static async Task<string> RunAsync(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(RequireTool(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["LC_ALL"] = "C";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(5)); // against a hang, not a timing check
        await process.WaitForExitAsync(guard.Token);
        var text = await output;
        var errorText = await errors;
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {errorText}");
        return text;
    }

    // ---------------------------------------------------------------- tcpdump's printout

    /// <summary>
    /// The .out that TESTLIST pairs with <paramref name="capture"/> without a filter expression
    /// (so it prints every packet), as microseconds since the epoch, one per packet.
    /// </summary>
    private static List<long> TcpdumpPrintout(string capture)
    {
        var outName = File.ReadLines(Path.Combine(DataDirectory, "TESTLIST"))
            .Select(line => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 3 && fields[0][0] != '#' && fields[1] == capture)
            .Where(fields => fields.Skip(3).All(option => option.StartsWith('-') && option != "--"))
            .Select(fields => fields[2])
            .FirstOrDefault();
        Assert.True(outName != null, $"TESTLIST has no unfiltered entry for {capture}");

        var times = new List<long>();
        foreach (var line in File.ReadLines(Path.Combine(DataDirectory, outName)))
        {
            var match = PacketLine().Match(line);
            if (!match.Success)
            {
                continue;
            }

            Assert.Equal(times.Count + 1, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)); // packets are numbered 1, 2, 3...
            var time = DateTime.ParseExact(match.Groups[2].Value, "yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            times.Add((time - DateTime.UnixEpoch).Ticks / 10);
        }

        Assert.True(times.Count > 0, $"{outName} has no packet lines");
        return times;
    }

    /// <summary>"    1  2013-05-18 20:21:44.837063 ...": packet number, then the UTC date and time.</summary>
    [GeneratedRegex(@"^\s*(\d+)\s+(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6})\s")]
    private static partial Regex PacketLine();
}
