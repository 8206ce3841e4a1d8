using System.Diagnostics;
using System.Globalization;
using VtapCollector.Decoding;
using VtapCollector.Export.Metrics;

namespace VtapCollector.Service.Metrics;

/// <summary>
/// Renders the collector's state as Prometheus text at scrape time: sums the per-thread counters
/// (each written by one thread only) and reads the flow tables' and sinks' own counts. The README's
/// metrics table lists the same families; a test checks the two agree.
/// </summary>
internal sealed class CollectorMetrics(CollectorPipeline pipeline, ReloadCounters reloads)
{
    private static readonly string[] SourceLabels = ["udp", "af_packet", "pcap"];

    public string Render()
    {
        var w = new PrometheusTextWriter();
        var receivers = pipeline.Receivers;
        var workers = pipeline.Workers;

        w.Family("vtap_build_info", "gauge", "Build of the running collector; the value is always 1.");
        w.Sample("vtap_build_info", [("version", BuildInfo.Version), ("runtime", Environment.Version.ToString())], 1);

        PerSource(w, "vtap_received_packets_total", "counter", "Packets (datagrams or frames) taken from each kind of source.", c => c.Packets);
        PerSource(w, "vtap_received_bytes_total", "counter", "Bytes taken from each kind of source: UDP payloads for sockets, whole frames for capture sources.", c => c.Bytes);
        PerSource(w, "vtap_kernel_drops_total", "counter", "Packets the kernel dropped before the collector read them (socket buffer or ring full).", c => c.KernelDrops);
        PerSource(w, "vtap_receive_truncated_total", "counter", "Datagrams longer than Sources:Udp:MaxDatagramBytes, cut to that length.", c => c.Truncated);
        PerSource(w, "vtap_receive_buffer_bytes", "gauge", "Receive buffer the kernel granted per socket (the smallest over sockets).", c => c.ReceiveBufferBytes, min: true);

        w.Family("vtap_rejected_packets_total", "counter", "Packets that reached no flow, by reason: allow-list or decoder reason.");
        for (var reason = 1; reason < RejectReason.Count; reason++)
        {
            long total = 0;
            foreach (var r in receivers)
            {
                total += Volatile.Read(ref r.Counters.Rejected[reason]);
            }

            foreach (var worker in workers)
            {
                total += Volatile.Read(ref worker.Counters.Rejected[reason]);
            }

            w.Sample("vtap_rejected_packets_total", [("reason", RejectReason.Label(reason))], total);
        }

        w.Family("vtap_dispatch_dropped_packets_total", "counter", "Decoded packets dropped because a flow worker's queue was full (Pipeline:DispatchOverflow DropNewest).");
        w.Sample("vtap_dispatch_dropped_packets_total", Sum(receivers, c => c.DispatchDropped));

        Labelled(w, "vtap_tunnel_source_packets_total", "Packets per mirror (tunnel outer) source address; sources beyond Metrics:MaxTunnelSourceLabels count as other.", "tunnel_source",
            pipeline.TunnelSources.Count, pipeline.TunnelSources.Limit, i => pipeline.TunnelSources.KeyAt(i).ToString(), c => c.TunnelSourcePackets);
        Labelled(w, "vtap_vni_packets_total", "Packets per VNI (accepted by the allow-list and decoded); VNIs beyond Metrics:MaxVniLabels count as other.", "vni",
            pipeline.Vnis.Count, pipeline.Vnis.Limit, i => pipeline.Vnis.KeyAt(i).ToString(CultureInfo.InvariantCulture), c => c.VniPackets);
        Labelled(w, "vtap_vni_bytes_total", "Inner IP bytes per VNI; VNIs beyond Metrics:MaxVniLabels count as other.", "vni",
            pipeline.Vnis.Count, pipeline.Vnis.Limit, i => pipeline.Vnis.KeyAt(i).ToString(CultureInfo.InvariantCulture), c => c.VniBytes);

        long active = 0, capacity = 0, created = 0, evictions = 0, recordDrops = 0, lastPacket = 0, lag = 0;
        foreach (var worker in workers)
        {
            active += worker.Table.Count;
            capacity += worker.Table.Capacity;
            created += worker.Table.FlowsCreated;
            evictions += worker.Table.Evictions;
            recordDrops += Volatile.Read(ref worker.Counters.RecordQueueDropped);
            lastPacket = Math.Max(lastPacket, Volatile.Read(ref worker.Counters.LastPacketNanos));
            lag = Math.Max(lag, Volatile.Read(ref worker.Counters.LagNanos));
        }

        Single(w, "vtap_flows_active", "gauge", "Flows held in the flow tables now.", active);
        Single(w, "vtap_flow_table_capacity", "gauge", "Flows the tables can hold (Flows:Capacity); beyond it the stalest flows are evicted.", capacity);
        Single(w, "vtap_flows_created_total", "counter", "Flows created.", created);
        Single(w, "vtap_flow_evictions_total", "counter", "Flows ended early because the table was full.", evictions);

        var sinks = pipeline.Exporter?.Sinks ?? [];
        w.Family("vtap_records_total", "counter", "Records written to each sink, by record type.");
        foreach (var sink in sinks)
        {
            w.Sample("vtap_records_total", [("sink", sink.Sink.Name), ("type", "update")], Volatile.Read(ref sink.Updates));
            w.Sample("vtap_records_total", [("sink", sink.Sink.Name), ("type", "end")], Volatile.Read(ref sink.Ends));
        }

        w.Family("vtap_sink_records_dropped_total", "counter", "Records a sink could not accept (its destination failing).");
        foreach (var sink in sinks)
        {
            w.Sample("vtap_sink_records_dropped_total", [("sink", sink.Sink.Name)], Volatile.Read(ref sink.Dropped));
        }

        w.Family("vtap_sink_healthy", "gauge", "1 while a sink can deliver, 0 while it cannot.");
        foreach (var sink in sinks)
        {
            w.Sample("vtap_sink_healthy", [("sink", sink.Sink.Name)], sink.Sink.IsHealthy ? 1 : 0);
        }

        var own = new MetricSet();
        foreach (var sink in sinks)
        {
            sink.Sink.CollectMetrics(own);
        }

        w.Raw(own.Render());

        Single(w, "vtap_record_queue_dropped_total", "counter", "Records dropped because the exporter's queue was full (Pipeline:RecordOverflow DropNewest, or a sink wedged at shutdown).", recordDrops);

        w.Family("vtap_queue_depth", "gauge", "Items waiting in the hand-off queues: dispatch (receivers to workers) and records (workers to the exporter).");
        w.Sample("vtap_queue_depth", [("queue", "dispatch")], workers.Sum(x => x.Inputs.Sum(q => (long)q.Count)));
        w.Sample("vtap_queue_depth", [("queue", "records")], workers.Sum(x => (long)x.Records.Count));
        w.Family("vtap_queue_capacity", "gauge", "Items the hand-off queues can hold in all.");
        w.Sample("vtap_queue_capacity", [("queue", "dispatch")], workers.Sum(x => x.Inputs.Sum(q => (long)q.Capacity)));
        w.Sample("vtap_queue_capacity", [("queue", "records")], workers.Sum(x => (long)x.Records.Capacity));

        Single(w, "vtap_processing_lag_seconds", "gauge", "Wall time minus receive time of the newest packet, when a flow worker took it.", lag / 1e9);
        Single(w, "vtap_last_packet_timestamp_seconds", "gauge", "Receive time (Unix seconds) of the newest packet a flow worker took; 0 before the first.", lastPacket / 1e9);
        Single(w, "vtap_workers", "gauge", "Flow workers (each with its own flow table).", workers.Count);

        w.Family("vtap_config_reloads_total", "counter", "Configuration reloads (SIGHUP or a changed file), by result.");
        w.Sample("vtap_config_reloads_total", [("result", "success")], Volatile.Read(ref reloads.Succeeded));
        w.Sample("vtap_config_reloads_total", [("result", "failure")], Volatile.Read(ref reloads.Failed));

        ProcessMetrics(w);
        return w.ToString();
    }

    private void PerSource(PrometheusTextWriter w, string name, string type, string help, Func<ReceiverCounters, long> read, bool min = false)
    {
        w.Family(name, type, help);
        foreach (var source in SourceLabels)
        {
            var matching = pipeline.Receivers.Where(r => r.Counters.Source == source).ToList();
            if (matching.Count == 0)
            {
                continue;
            }

            long value = min ? matching.Min(r => read(r.Counters)) : matching.Sum(r => read(r.Counters));
            w.Sample(name, [("source", source)], value);
        }
    }

    private void Labelled(PrometheusTextWriter w, string name, string help, string label, int count, int limit, Func<int, string> key, Func<ReceiverCounters, long[]> counters)
    {
        w.Family(name, "counter", help);
        for (var i = 0; i < count; i++)
        {
            w.Sample(name, [(label, key(i))], SumAt(i, counters));
        }

        var other = SumAt(limit, counters);
        if (other > 0)
        {
            w.Sample(name, [(label, "other")], other);
        }
    }

    private long SumAt(int index, Func<ReceiverCounters, long[]> counters)
    {
        long total = 0;
        foreach (var r in pipeline.Receivers)
        {
            total += Volatile.Read(ref counters(r.Counters)[index]);
        }

        return total;
    }

    private static long Sum(IReadOnlyList<ReceiverThread> receivers, Func<ReceiverCounters, long> read) => receivers.Sum(r => read(r.Counters));

    private static void Single(PrometheusTextWriter w, string name, string type, string help, double value)
    {
        w.Family(name, type, help);
        w.Sample(name, value);
    }

    private static void ProcessMetrics(PrometheusTextWriter w)
    {
        using var process = Process.GetCurrentProcess();
        Single(w, "process_cpu_seconds_total", "counter", "User and system CPU time of the process, in seconds.", process.TotalProcessorTime.TotalSeconds);
        Single(w, "process_resident_memory_bytes", "gauge", "Resident memory of the process.", process.WorkingSet64);
        Single(w, "process_start_time_seconds", "gauge", "Start time of the process, Unix seconds.", new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        Single(w, "process_open_fds", "gauge", "Open file descriptors.", Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : 0);
        w.Family("dotnet_gc_collections_total", "counter", "Garbage collections, by generation.");
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            w.Sample("dotnet_gc_collections_total", [("generation", generation.ToString(CultureInfo.InvariantCulture))], GC.CollectionCount(generation));
        }

        Single(w, "dotnet_gc_heap_size_bytes", "gauge", "Managed heap size after the last collection.", GC.GetGCMemoryInfo().HeapSizeBytes);
        Single(w, "dotnet_gc_allocated_bytes_total", "counter", "Bytes allocated on the managed heap since start (flat under traffic: nothing is allocated per packet).", GC.GetTotalAllocatedBytes(precise: false));
    }
}

/// <summary>Configuration reloads, by result.</summary>
internal sealed class ReloadCounters
{
    public long Succeeded;
    public long Failed;
}
