using System.Globalization;
using VtapCollector.Engine.Ingress;
using VtapCollector.Export.Metrics;

namespace VtapCollector.Engine;

/// <summary>
/// The engine's metrics, summed at scrape time over the per-thread counters (each written by one
/// thread only): what the ingresses received and rejected, the workers' flow tables, the hand-off
/// queues and the records each sink took. Sinks add their own families themselves.
/// </summary>
internal sealed class EngineMetrics(FlowEngine engine) : IMetricSource
{
    private static readonly string[] SourceLabels = ["udp", "af_packet", "pcap", "gre", "xdp", "file"];

    public void CollectMetrics(MetricSet m)
    {
        var ingresses = engine.Ingresses;
        var workers = engine.Workers;
        PerSource(m, "vtap_received_packets_total", MetricType.Counter, "Packets (datagrams or frames) taken from each kind of source.", c => c.Packets);
        PerSource(m, "vtap_received_bytes_total", MetricType.Counter, "Bytes taken from each kind of source: UDP payloads for sockets, whole frames for capture sources.", c => c.Bytes);
        PerSource(m, "vtap_kernel_drops_total", MetricType.Counter, "Packets the kernel dropped before the collector read them (socket buffer or ring full).", c => c.KernelDrops);
        PerSource(m, "vtap_receive_truncated_total", MetricType.Counter, "Datagrams longer than Sources:Udp:MaxDatagramBytes, cut to that length.", c => c.Truncated);
        PerSource(m, "vtap_receive_buffer_bytes", MetricType.Gauge, "Receive buffer the kernel granted per socket (the smallest over sockets).", c => c.ReceiveBufferBytes, min: true);

        const string rejected = "vtap_rejected_packets_total";
        const string rejectedHelp = "Packets that reached no flow, by reason: allow-list or decoder reason.";
        for (var reason = 1; reason < RejectReason.Count; reason++)
        {
            long total = 0;
            foreach (var ingress in ingresses)
            {
                total += Volatile.Read(ref ingress.Counters.Rejected[reason]);
            }

            foreach (var worker in workers)
            {
                total += Volatile.Read(ref worker.Counters.Rejected[reason]);
            }

            m.Counter(rejected, rejectedHelp, total, ("reason", RejectReason.Label(reason)));
        }

        m.Counter("vtap_truncated_copies_total", "Decoded packets whose mirror copy was shorter than the packet (cut by the mirror): counted by their IP length all the same.", Sum(c => c.TruncatedCopies));
        m.Counter("vtap_dispatch_dropped_packets_total", "Decoded packets dropped because a flow worker's queue was full (Pipeline:DispatchOverflow DropNewest).", Sum(c => c.DispatchDropped));

        Labelled(m, "vtap_tunnel_source_packets_total", "Packets per mirror (tunnel outer) source address; sources beyond Metrics:MaxTunnelSourceLabels count as other.", "tunnel_source",
            engine.TunnelSources.Count, engine.TunnelSources.Limit, i => engine.TunnelSources.KeyAt(i).ToString(), c => c.TunnelSourcePackets);
        Labelled(m, "vtap_vni_packets_total", "Packets per VNI (accepted by the allow-list and decoded); VNIs beyond Metrics:MaxVniLabels count as other.", "vni",
            engine.Vnis.Count, engine.Vnis.Limit, i => engine.Vnis.KeyAt(i).ToString(CultureInfo.InvariantCulture), c => c.VniPackets);
        Labelled(m, "vtap_vni_bytes_total", "Inner IP bytes per VNI; VNIs beyond Metrics:MaxVniLabels count as other.", "vni",
            engine.Vnis.Count, engine.Vnis.Limit, i => engine.Vnis.KeyAt(i).ToString(CultureInfo.InvariantCulture), c => c.VniBytes);

        Deduplication(m);

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

        m.Gauge("vtap_flows_active", "Flows held in the flow tables now.", active);
        m.Gauge("vtap_flow_table_capacity", "Flows the tables can hold (Flows:Capacity); beyond it the stalest flows are evicted.", capacity);
        m.Counter("vtap_flows_created_total", "Flows created.", created);
        m.Counter("vtap_flow_evictions_total", "Flows ended early because the table was full.", evictions);

        var sinks = engine.Exporter?.Sinks ?? [];
        m.Declare("vtap_records_total", MetricType.Counter, "Records written to each sink, by record type.");
        m.Declare("vtap_sink_records_dropped_total", MetricType.Counter, "Records a sink could not accept (its destination failing).");
        m.Declare("vtap_sink_healthy", MetricType.Gauge, "1 while a sink can deliver, 0 while it cannot.");
        foreach (var sink in sinks)
        {
            var name = sink.Sink.Name;
            m.Counter("vtap_records_total", "", Volatile.Read(ref sink.Updates), ("sink", name), ("type", "update"));
            m.Counter("vtap_records_total", "", Volatile.Read(ref sink.Ends), ("sink", name), ("type", "end"));
            m.Counter("vtap_sink_records_dropped_total", "", Volatile.Read(ref sink.Dropped), ("sink", name));
            m.Gauge("vtap_sink_healthy", "", sink.Sink.IsHealthy ? 1 : 0, ("sink", name));
        }

        m.Counter("vtap_record_queue_dropped_total", "Records dropped because the exporter's queue was full (Pipeline:RecordOverflow DropNewest, or a sink wedged at shutdown).", recordDrops);

        const string depth = "vtap_queue_depth";
        const string depthHelp = "Items waiting in the hand-off queues: dispatch (receivers to workers) and records (workers to the exporter).";
        m.Gauge(depth, depthHelp, workers.Sum(x => x.Inputs.Sum(q => (long)q.Count)), ("queue", "dispatch"));
        m.Gauge(depth, depthHelp, workers.Sum(x => x.RecordLanes.Sum(q => (long)q.Count)), ("queue", "records"));
        const string queueCapacity = "vtap_queue_capacity";
        const string queueCapacityHelp = "Items the hand-off queues can hold in all.";
        m.Gauge(queueCapacity, queueCapacityHelp, workers.Sum(x => x.Inputs.Sum(q => (long)q.Capacity)), ("queue", "dispatch"));
        m.Gauge(queueCapacity, queueCapacityHelp, workers.Sum(x => x.RecordLanes.Sum(q => (long)q.Capacity)), ("queue", "records"));

        m.Gauge("vtap_processing_lag_seconds", "Wall time minus receive time of the newest packet, when a flow worker took it.", lag / 1e9);
        m.Gauge("vtap_last_packet_timestamp_seconds", "Receive time (Unix seconds) of the newest packet a flow worker took; 0 before the first.", lastPacket / 1e9);
        m.Gauge("vtap_workers", "Flow workers (each with its own flow table).", workers.Count);
        m.Gauge("vtap_export_threads", "Export threads (Pipeline:ExportThreads), each encoding and writing its share of the records.", engine.Exporter?.LaneCount ?? 0);
    }

    /// <summary>
    /// Double-tap deduplication: copies removed per tap (labels bounded as the tunnel-source packets'
    /// are: the same index, so a tap beyond the limit is other in both), copies that came too late,
    /// and the filters' memory. Served with deduplication off too (zeros), so a panel never breaks.
    /// </summary>
    private void Deduplication(MetricSet m)
    {
        const string duplicates = "vtap_duplicate_packets_total";
        const string duplicatesHelp = "Copies removed as another tap's view of a packet already counted (Dedup:Enabled), by the tunnel source that sent the copy; sources beyond Metrics:MaxTunnelSourceLabels count as other.";
        var workers = engine.Workers;
        var sources = engine.TunnelSources;
        m.Declare(duplicates, MetricType.Counter, duplicatesHelp);
        for (var i = 0; i <= sources.Limit; i++)
        {
            var known = i < sources.Count;
            if (!known && i != sources.Limit)
            {
                continue;
            }

            long total = 0;
            foreach (var worker in workers)
            {
                total += Volatile.Read(ref worker.Counters.Duplicates[Math.Min(i, worker.Counters.Duplicates.Length - 1)]);
            }

            if (known || total > 0)
            {
                m.Counter(duplicates, duplicatesHelp, total, ("tunnel_source", known ? sources.KeyAt(i).ToString() : "other"));
            }
        }

        long late = 0, overwritten = 0, bytes = 0;
        foreach (var worker in workers)
        {
            if (worker.Dedup is { } filter)
            {
                late += filter.LateCopies;
                overwritten += filter.Overwritten;
                bytes += filter.MemoryBytes;
            }
        }

        m.Counter("vtap_dedup_late_copies_total", "Copies from another tap that came after Dedup:WindowMicroseconds and so were counted as packets: the window is shorter than the taps' skew.", late);
        m.Counter("vtap_dedup_overwritten_total", "Remembered packets replaced while still inside the window (Dedup:TableEntries too small for the packet rate): their later copies count again.", overwritten);
        m.Gauge("vtap_dedup_memory_bytes", "Memory of the workers' deduplication tables, reserved at start (0 with Dedup:Enabled false).", bytes);
    }

    private long Sum(Func<ReceiverCounters, long> read)
    {
        long total = 0;
        foreach (var ingress in engine.Ingresses)
        {
            total += read(ingress.Counters);
        }

        return total;
    }

    private void PerSource(MetricSet m, string name, MetricType type, string help, Func<ReceiverCounters, long> read, bool min = false)
    {
        m.Declare(name, type, help);
        foreach (var source in SourceLabels)
        {
            var matching = engine.Ingresses.Where(i => i.Counters.Source == source).Select(i => i.Counters).ToList();
            if (matching.Count == 0)
            {
                continue;
            }

            var value = min ? matching.Min(read) : matching.Sum(read);
            if (type == MetricType.Counter)
            {
                m.Counter(name, help, value, ("source", source));
            }
            else
            {
                m.Gauge(name, help, value, ("source", source));
            }
        }
    }

    private void Labelled(MetricSet m, string name, string help, string label, int count, int limit, Func<int, string> key, Func<ReceiverCounters, long[]> counters)
    {
        m.Declare(name, MetricType.Counter, help);
        for (var i = 0; i < count; i++)
        {
            m.Counter(name, help, SumAt(i, counters), (label, key(i)));
        }

        var other = SumAt(limit, counters);
        if (other > 0)
        {
            m.Counter(name, help, other, (label, "other"));
        }
    }

    private long SumAt(int index, Func<ReceiverCounters, long[]> counters)
    {
        long total = 0;
        foreach (var ingress in engine.Ingresses)
        {
            total += Volatile.Read(ref counters(ingress.Counters)[index]);
        }

        return total;
    }
}
