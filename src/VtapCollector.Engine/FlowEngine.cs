using VtapCollector.Decoding;
using VtapCollector.Engine.Exporting;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Networks;
using VtapCollector.Engine.Workers;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;

namespace VtapCollector.Engine;

/// <summary>What an engine is built from.</summary>
/// <param name="Pipeline">Workers and queues.</param>
/// <param name="Flows">Timeouts and the capacity of all workers' tables together.</param>
/// <param name="Decoder">Tunnel ports and decoding limits.</param>
/// <param name="AllowList">The allow-list at start (a reload swaps <see cref="FlowEngine.AllowList"/>).</param>
/// <param name="Sinks">Where records go; the engine disposes them.</param>
/// <param name="Clock">Wall time live, packet time in a replay.</param>
/// <param name="MaxVniLabels">VNIs counted under their own metric label.</param>
/// <param name="MaxTunnelSourceLabels">Mirror sources counted under their own metric label.</param>
/// <param name="Dedup">Double-tap deduplication; null or not enabled: off.</param>
/// <param name="Networks">The named networks at start (a reload calls <see cref="FlowEngine.SetNetworks"/>); null: none.</param>
/// <param name="MaxNetworkLabels">Network names counted under their own metric label.</param>
/// <param name="Captures">Packet capture sessions the ingresses offer packets to; null for none (a replay without <c>--capture-filter</c>).</param>
internal sealed record EngineSetup(
    PipelineOptions Pipeline,
    FlowTableOptions Flows,
    DecoderOptions Decoder,
    AllowList AllowList,
    IReadOnlyList<IRecordSink> Sinks,
    EngineClock Clock,
    int MaxVniLabels = 256,
    int MaxTunnelSourceLabels = 256,
    NetworkMap? Networks = null,
    int MaxNetworkLabels = 64,
    DedupOptions? Dedup = null,
    PacketCapture.CaptureSessions? Captures = null);

/// <summary>
/// The packet path from ingress to sinks, the same for the live daemon and a replay:
/// <code>
/// source thread r: ingress r (allow-list, decode, dispatch) --(queue r,w)--> flow worker w --(records w)--> exporter --> sinks
/// </code>
/// A source asks for an ingress (<see cref="AddIngress"/>) before <see cref="Start"/>; each ingress gets
/// one bounded single-producer queue per worker, so no queue has two writers. Workers pick flows by a
/// hash that is symmetric in source and destination, so a flow's two directions meet in one table.
/// <see cref="Finish"/>, called once every source has stopped, lets the workers drain, ends every flow
/// with the reason given, and waits for the exporter to write and flush the last record.
/// </summary>
internal sealed class FlowEngine : IDisposable
{
    private readonly EngineSetup _setup;
    private readonly List<PacketIngress> _ingresses = [];
    private readonly List<SpscQueue<QueuedPacket>[]> _rows = [];
    private readonly StopSignal _stop = new();
    private readonly VniGroups? _vniGroups;
    private FlowWorker[] _workers = [];
    private RecordExporter? _exporter;
    private bool _disposed;

    public FlowEngine(EngineSetup setup)
    {
        _setup = setup;
        WorkerCount = setup.Pipeline.EffectiveWorkers;
        AllowList = new AllowListHolder(setup.AllowList);
        Vnis = new LabelIndex<uint>(setup.MaxVniLabels);
        TunnelSources = new LabelIndex<IpAddress>(setup.MaxTunnelSourceLabels);
        NetworkLabels = new NetworkLabels(setup.MaxNetworkLabels);
        SetNetworks(setup.Networks ?? NetworkMap.Empty);
        Sinks = setup.Sinks;
        Dedup = setup.Dedup is { Enabled: true } dedup ? dedup : null;
        _vniGroups = Dedup is null ? null : VniGroups.Create(Dedup.VniGroups);
    }

    /// <summary>Double-tap deduplication in force, or null when it is off.</summary>
    public DedupOptions? Dedup { get; }

    public int WorkerCount { get; }

    /// <summary>The allow-list in force; a reload swaps it.</summary>
    public AllowListHolder AllowList { get; }

    public LabelIndex<uint> Vnis { get; }

    /// <summary>The named networks in force and their metric labels; <see cref="SetNetworks"/> swaps them.</summary>
    public NetworkRoutingHolder Networks { get; } = new();

    /// <summary>The metric label of every network name configured so far.</summary>
    public NetworkLabels NetworkLabels { get; }

    public LabelIndex<IpAddress> TunnelSources { get; }

    public IReadOnlyList<IRecordSink> Sinks { get; }

    /// <summary>Set when the sources must stop; read by their loops and by a blocked ingress.</summary>
    public StopSignal Stopping => _stop;

    public IReadOnlyList<PacketIngress> Ingresses => _ingresses;

    public IReadOnlyList<FlowWorker> Workers => _workers;

    /// <summary>The exporter, once started.</summary>
    public RecordExporter? Exporter => _exporter;

    /// <summary>Flows all tables hold together (<see cref="FlowTableOptions.Capacity"/> split over the workers).</summary>
    public FlowTableOptions PerWorkerFlows => new()
    {
        Capacity = Math.Max(16, _setup.Flows.Capacity / WorkerCount),
        ActiveTimeout = _setup.Flows.ActiveTimeout,
        IdleTimeout = _setup.Flows.IdleTimeout,
        TcpIdleTimeout = _setup.Flows.TcpIdleTimeout,
        TcpClosingTimeout = _setup.Flows.TcpClosingTimeout,
        FragmentCacheSize = _setup.Flows.FragmentCacheSize,
    };

    /// <summary>
    /// Puts <paramref name="map"/> in force: records the workers emit from now on are classified with
    /// it (a record already queued keeps the networks it was given). Safe while the engine runs.
    /// </summary>
    public void SetNetworks(NetworkMap map)
    {
        Networks.Current = new NetworkRouting(map, NetworkLabels.Resolve(map));

        // Capture filters' local and remote terms follow the local networks once there are any.
        if (_setup.Captures is { } captures)
        {
            captures.LocalAddresses = LocalNetworks.For(map);
        }
    }

    /// <summary>
    /// The packet path of one source thread (<paramref name="sourceLabel"/>: udp, af_packet, pcap, gre, xdp, file).
    /// With the packet clock there must be exactly one.
    /// </summary>
    public PacketIngress AddIngress(string sourceLabel)
    {
        if (_exporter is not null)
        {
            throw new InvalidOperationException("Sources are added before the engine starts.");
        }

        if (_setup.Clock == EngineClock.Packet && _ingresses.Count > 0)
        {
            throw new InvalidOperationException("A packet-time engine has one source: its ticks order the workers' expiry.");
        }

        var row = new SpscQueue<QueuedPacket>[WorkerCount];
        for (var w = 0; w < row.Length; w++)
        {
            row[w] = new SpscQueue<QueuedPacket>(_setup.Pipeline.DispatchQueueCapacity);
        }

        var ingress = new PacketIngress(
            new PacketDecoder(Dedup is null ? _setup.Decoder : _setup.Decoder with { ComputeSignatures = true }),
            AllowList,
            row,
            _setup.Pipeline.DispatchOverflow,
            new ReceiverCounters(sourceLabel, _setup.MaxVniLabels, _setup.MaxTunnelSourceLabels),
            Vnis,
            TunnelSources,
            _stop,
            _setup.Clock,
            _vniGroups,
            _setup.Captures);
        _rows.Add(row);
        _ingresses.Add(ingress);
        return ingress;
    }

    /// <summary>Starts the exporter and the workers; sources start their own threads after this.</summary>
    public void Start()
    {
        var pipeline = _setup.Pipeline;
        var table = PerWorkerFlows;
        _workers = new FlowWorker[WorkerCount];
        for (var w = 0; w < WorkerCount; w++)
        {
            var column = new SpscQueue<QueuedPacket>[_rows.Count];
            for (var r = 0; r < _rows.Count; r++)
            {
                column[r] = _rows[r][w];
            }

            var dedup = Dedup is null ? null : new DuplicateFilter(Dedup.TableEntries, Dedup.WindowNanos);
            _workers[w] = new FlowWorker(w, table, column, pipeline.RecordQueueCapacity, pipeline.RecordOverflow, _stop, _setup.Clock, Networks, new NetworkCounters(NetworkLabels.Size), dedup, TunnelSources, pipeline.EffectiveExportThreads);
        }

        _exporter = new RecordExporter(_workers, Sinks);
        _exporter.Start();
        foreach (var worker in _workers)
        {
            worker.Start();
        }
    }

    /// <summary>
    /// Once every source has stopped feeding its ingress: the workers drain their queues and end every
    /// flow with <paramref name="reason"/>, and the exporter writes and flushes the last record, all by
    /// <paramref name="deadline"/> (<see cref="Environment.TickCount64"/>). False when something did not finish in time.
    /// </summary>
    public bool Finish(EndReason reason, long deadline)
    {
        // The sources have stopped: what they staged but did not publish goes to the workers now.
        foreach (var ingress in _ingresses)
        {
            ingress.Flush();
        }

        foreach (var worker in _workers)
        {
            worker.BeginDrain(reason);
        }

        var finished = true;
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

    /// <summary>The first engine thread that died of an exception, if any (a bug: the host stops).</summary>
    public Exception? Failure => _workers.Select(w => w.Failure).Append(_exporter?.Failure).FirstOrDefault(f => f is not null);

    /// <summary>Disposes the sinks (flushing what they hold).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var sink in Sinks)
        {
            sink.Dispose();
        }
    }

    /// <summary>Time left until <paramref name="deadline"/>; <see cref="long.MaxValue"/> waits for ever (a replay).</summary>
    public static TimeSpan Remaining(long deadline) =>
        deadline == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64));
}
