using BenchmarkDotNet.Attributes;
using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.PacketCapture;
using VtapCollector.Engine.Workers;

namespace VtapCollector.Benchmarks.PacketCapture;

/// <summary>
/// Per-packet cost of the ingress (allow-list, decode, dispatch) over the IMIX corpus: without capture
/// sessions (the engine as it was: one array-length check per packet), with sessions that exist but
/// match nothing, and with one session keeping about 1 % of the packets (<c>host=10.0.0.0/18</c>). The
/// worker queue and the capture queue are emptied on this thread every 256 packets without further
/// work, so what is timed is the receiving thread's share; the writer runs on its own thread.
/// </summary>
[MemoryDiagnoser]
public class CaptureIngressBenchmarks
{
    private const int Packets = 1 << 18;

    /// <summary>Packets per <see cref="Ingress"/> call.</summary>
    public const int PacketCount = Packets;
    private const int Drain = 256;

    private ImixCorpus _corpus = null!;
    private PacketIngress _ingress = null!;
    private SpscQueue<QueuedPacket> _queue = null!;
    private CaptureSession? _session;
    private string _folder = null!;

    /// <summary>none: no sessions; idle: one session whose filter never holds; one-percent: one session keeping about 1 %.</summary>
    [Params("none", "idle", "one-percent")]
    public string Sessions { get; set; } = "none";

    [GlobalSetup]
    public void Setup()
    {
        _corpus = ImixCorpus.Build(Packets, flows: 200_000);
        _queue = new SpscQueue<QueuedPacket>(1 << 12);
        _folder = Directory.CreateTempSubdirectory("vtap-capture-bench-").FullName;
        var sessions = new CaptureSessions(_folder, 4, new DecoderOptions());
        var filter = Sessions switch
        {
            "idle" => "vni=99999",
            "one-percent" => "host=10.0.0.0/18",
            _ => null,
        };
        if (filter is not null)
        {
            _session = sessions.TryStart(new CaptureSpec { Name = "bench", Filter = CaptureFilterParser.TryParse(filter, out _)!, SnapLength = 2048 }, out _, out var error)
                ?? throw new InvalidOperationException(error);
        }

        _ingress = new PacketIngress(
            new PacketDecoder(), new AllowListHolder(AllowList.Open), [_queue], OverflowPolicy.DropNewest,
            new ReceiverCounters("file", 256, 256), new LabelIndex<uint>(256), new LabelIndex<IpAddress>(256), new StopSignal(),
            EngineClock.Wall, captures: sessions);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark(OperationsPerInvoke = Packets)]
    public long Ingress()
    {
        long kept = 0;
        var data = _corpus.Data;
        var offsets = _corpus.Offsets;
        var lengths = _corpus.Lengths;
        var times = _corpus.Timestamps;
        for (var i = 0; i < offsets.Length; i++)
        {
            _ingress.OnFrame(new CapturedPacket(times[i], lengths[i], LinkType.Ethernet), data.AsSpan(offsets[i], lengths[i]));
            if ((i & (Drain - 1)) == Drain - 1)
            {
                kept += Empty();
            }
        }

        return kept + Empty();
    }

    /// <summary>What a worker and the capture writer would take, taken and thrown away.</summary>
    private long Empty()
    {
        _ingress.Flush();
        _queue.Release(_queue.Available(out _));
        long kept = 0;
        if (_session is not null)
        {
            while (_session.Queue.TryPeek(out _, out _))
            {
                _session.Queue.Release();
                kept++;
            }
        }

        return kept;
    }
}
