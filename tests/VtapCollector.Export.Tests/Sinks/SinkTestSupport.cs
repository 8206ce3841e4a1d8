using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using VtapCollector.Flows;

namespace VtapCollector.Export.Tests.Sinks;

/// <summary>
/// A clock the test moves by hand. Wall time and the monotonic timestamp advance together, so
/// rotation intervals, retry intervals and rotated-file names all follow <see cref="Advance"/>.
/// </summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public ManualTimeProvider()
        : this(new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow() => _now;

    public override long GetTimestamp() => _now.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>A fresh directory under the system temp folder, removed with everything in it.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("vtap-sinks-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}

/// <summary>Records as the exporter hands them to a sink, and the files a sink leaves behind.</summary>
internal static partial class SinkRecords
{
    /// <summary>Record <paramref name="sequence"/>, of one of three shapes so that line lengths vary.</summary>
    public static FlowRecord Numbered(int sequence) => (sequence % 3) switch
    {
        0 => Records.Tcp() with { Sequence = (uint)sequence },
        1 => Records.Icmpv6Update() with { Sequence = (uint)sequence },
        _ => Records.Largest() with { Sequence = (uint)sequence },
    };

    /// <summary>
    /// A record of fixed shape, for tests that count bytes: the TCP one as a collector with
    /// deduplication writes it, long enough that two lines are more than the smallest file allowed
    /// (<see cref="RotatingFileSinkOptions.MinFileBytes"/>, one largest record and its newline).
    /// </summary>
    public static FlowRecord Fixed(int sequence) => Records.Tcp() with
    {
        Sequence = (uint)sequence,
        ObservationPoints = 2,
        SecondTunnelSource = Decoding.IpAddress.Parse("192.0.2.77"),
        CopiesRemovedSrcToDst = 12,
        CopiesRemovedDstToSrc = 10,
    };

    /// <summary>The length of <see cref="Fixed"/>'s line; the same for every sequence number of one digit.</summary>
    public static int FixedLength { get; } = Line(Fixed(0)).Length;

    /// <summary>The record as the exporter hands it to a sink: the encoder's bytes, no framing.</summary>
    public static byte[] Encoded(in FlowRecord record)
    {
        var buffer = new byte[FlowRecordJsonEncoder.MaxRecordLength];
        var written = FlowRecordJsonEncoder.Encode(record, buffer);
        return buffer[..written];
    }

    /// <summary>The record as a line sink writes it: the encoded object and its newline.</summary>
    public static byte[] Line(in FlowRecord record) => [.. Encoded(record), (byte)'\n'];

    /// <summary>Encodes the record and hands it to the sink, as the exporter does.</summary>
    public static bool WriteTo(Export.Sinks.IRecordSink sink, in FlowRecord record) => sink.Write(record, Encoded(record));

    /// <summary>The rotated files of <c>flows.jsonl</c> in <paramref name="directory"/>, oldest first.</summary>
    public static List<string> RotatedFiles(string directory) =>
        Directory.EnumerateFiles(directory)
            .Select(path => (Path: path, Match: RotatedName().Match(System.IO.Path.GetFileName(path))))
            .Where(file => file.Match.Success)
            .OrderBy(file => file.Match.Groups["stamp"].Value, StringComparer.Ordinal)
            .ThenBy(file => file.Match.Groups["n"].Success ? int.Parse(file.Match.Groups["n"].Value, CultureInfo.InvariantCulture) : 0)
            .Select(file => file.Path)
            .ToList();

    /// <summary>
    /// The sequence numbers in a file, checking that it holds only whole lines that are each a JSON
    /// object: a record split across two files would fail here.
    /// </summary>
    public static List<uint> Sequences(string path)
    {
        var text = Encoding.UTF8.GetString(System.IO.File.ReadAllBytes(path));
        if (text.Length == 0)
        {
            return [];
        }

        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var sequences = new List<uint>();
        foreach (var line in text[..^1].Split('\n'))
        {
            using var document = JsonDocument.Parse(line);
            sequences.Add(document.RootElement.GetProperty("seq").GetUInt32());
        }

        return sequences;
    }

    [GeneratedRegex(@"^flows-(?<stamp>\d{8}T\d{9}Z)(-(?<n>[1-9]\d*))?\.jsonl$")]
    private static partial Regex RotatedName();
}
