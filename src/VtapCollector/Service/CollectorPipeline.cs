using System.Net;
using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Export.Sinks;

namespace VtapCollector.Service;

/// <summary>
/// The running collector: receiver threads (one per socket or ring) decode and dispatch to flow
/// workers (one flow table each) through bounded single-producer queues, the workers queue records
/// for one exporter thread, which encodes them and writes every sink.
/// <code>
/// receiver r --(queue r,w)--> worker w --(records w)--> exporter --> sinks
/// </code>
/// Start opens every source first, so a port in use or a missing interface fails before anything
/// runs. Stop stops the receivers, lets the workers drain and end every flow as <c>shutdown</c>, and
/// waits for the exporter to write and flush the last record.
/// </summary>
internal sealed class CollectorPipeline : IDisposable
{
    private readonly ValidatedSettings _settings;
    private readonly List<ReceiverThread> _receivers = [];
    private readonly List<IRecordSink> _sinks = [];
    private readonly StopSignal _stop = new();
    private FlowWorker[] _workers = [];
    private RecordExporter? _exporter;

    public CollectorPipeline(ValidatedSettings settings, IReadOnlyList<IRecordSink> sinks)
    {
        _settings = settings;
        AllowList = new AllowListHolder(settings.AllowList);
        var metrics = settings.Raw.Metrics;
        Vnis = new LabelIndex<uint>(metrics.MaxVniLabels);
        TunnelSources = new LabelIndex<IpAddress>(metrics.MaxTunnelSourceLabels);
        _sinks.AddRange(sinks);
    }

    public AllowListHolder AllowList { get; }

    public LabelIndex<uint> Vnis { get; }

    public LabelIndex<IpAddress> TunnelSources { get; }

    public IReadOnlyList<ReceiverThread> Receivers => _receivers;

    public IReadOnlyList<FlowWorker> Workers => _workers;

    public RecordExporter? Exporter => _exporter;

    public ValidatedSettings Settings => _settings;

    /// <summary>The UDP addresses actually bound (the real port when 0 was configured).</summary>
    public IEnumerable<IPEndPoint> UdpEndPoints => _receivers.OfType<UdpReceiverThread>().Select(r => r.LocalEndPoint).Distinct();

    /// <summary>
    /// Opens the sources (throws <see cref="UdpSocketException"/> or a capture exception with one
    /// sentence when one cannot be opened), then starts every thread.
    /// </summary>
    public void Start()
    {
        var raw = _settings.Raw;
        var workerCount = _settings.Workers;
        var sources = new List<OpenedSource>();
        try
        {
            if (raw.Sources.Udp.Enabled)
            {
                OpenUdp(sources);
            }

            CaptureSources.Open(_settings, _stop, sources);
        }
        catch
        {
            foreach (var source in sources)
            {
                source.Resource.Dispose();
            }

            throw;
        }

        var queues = new SpscQueue<QueuedPacket>[sources.Count, workerCount];
        for (var r = 0; r < sources.Count; r++)
        {
            var row = new SpscQueue<QueuedPacket>[workerCount];
            for (var w = 0; w < workerCount; w++)
            {
                row[w] = queues[r, w] = new SpscQueue<QueuedPacket>(raw.Pipeline.DispatchQueueCapacity);
            }

            _receivers.Add(sources[r].CreateThread(NewIngress(row, sources[r].Label), $"vtap-recv-{r}"));
        }

        _workers = new FlowWorker[workerCount];
        for (var w = 0; w < workerCount; w++)
        {
            var column = new SpscQueue<QueuedPacket>[sources.Count];
            for (var r = 0; r < sources.Count; r++)
            {
                column[r] = queues[r, w];
            }

            _workers[w] = new FlowWorker(w, _settings.FlowTable, column, raw.Pipeline.RecordQueueCapacity, raw.Pipeline.RecordOverflow, _stop);
        }

        _exporter = new RecordExporter(_workers, _sinks);
        _exporter.Start();
        foreach (var worker in _workers)
        {
            worker.Start();
        }

        foreach (var receiver in _receivers)
        {
            receiver.Start();
        }
    }

    /// <summary>
    /// Stops receiving, ends every flow as <c>shutdown</c> and flushes the sinks, within
    /// <paramref name="timeout"/>. Returns false when something did not finish in time.
    /// </summary>
    public bool Stop(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        _stop.Stop();
        var finished = true;
        foreach (var receiver in _receivers)
        {
            finished &= receiver.Join(Remaining(deadline));
        }

        foreach (var worker in _workers)
        {
            worker.BeginDrain();
        }

        foreach (var worker in _workers)
        {
            finished &= worker.Join(Remaining(deadline));
        }

        if (_exporter is not null)
        {
            finished &= _exporter.Join(Remaining(deadline));
        }

        return finished;
    }

    /// <summary>The first thread that died of an exception, if any (a bug: the host stops).</summary>
    public Exception? Failure =>
        _receivers.Select(r => r.Failure).Concat(_workers.Select(w => w.Failure)).Append(_exporter?.Failure).FirstOrDefault(f => f is not null);

    public void Dispose()
    {
        foreach (var receiver in _receivers)
        {
            receiver.Dispose();
        }

        foreach (var sink in _sinks)
        {
            sink.Dispose();
        }
    }

    /// <summary>Opens every UDP socket: <c>Sources:Udp:Sockets</c> per address, sharing the port with SO_REUSEPORT.</summary>
    private void OpenUdp(List<OpenedSource> sources)
    {
        var udp = _settings.Raw.Sources.Udp;
        foreach (var requested in _settings.UdpListen)
        {
            var kind = _settings.Decoder.GenevePorts.Contains((ushort)requested.Port) ? TunnelKind.Geneve : TunnelKind.Vxlan;
            var endPoint = requested;
            for (var i = 0; i < _settings.UdpSockets; i++)
            {
                var socket = new UdpTunnelReceiver(new UdpTunnelReceiverOptions
                {
                    EndPoint = endPoint,
                    ReceiveBufferBytes = udp.ReceiveBufferBytes,
                    BatchSize = udp.BatchSize,
                    MaxDatagramBytes = udp.MaxDatagramBytes,
                    ReusePort = true,
                });

                // Port 0 (tests) lets the first socket pick a port; the others must join that one.
                endPoint = socket.LocalEndPoint;
                sources.Add(new OpenedSource("udp", socket, (ingress, name) => new UdpReceiverThread(name, socket, kind, ingress, _stop)));
            }
        }
    }

    private PacketIngress NewIngress(SpscQueue<QueuedPacket>[] row, string source)
    {
        var metrics = _settings.Raw.Metrics;
        return new PacketIngress(
            new PacketDecoder(_settings.Decoder),
            AllowList,
            row,
            _settings.Raw.Pipeline.DispatchOverflow,
            new ReceiverCounters(source, metrics.MaxVniLabels, metrics.MaxTunnelSourceLabels),
            Vnis,
            TunnelSources,
            _stop);
    }

    private static TimeSpan Remaining(long deadline) => TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64));
}

/// <summary>A source opened at start (so errors surface before any thread runs), and how to make its receiving thread.</summary>
internal sealed record OpenedSource(string Label, IDisposable Resource, Func<PacketIngress, string, ReceiverThread> CreateThread);
