using System.Text;
using VtapCollector.Export.Metrics;
using VtapCollector.Flows;

namespace VtapCollector.Engine.Networks;

/// <summary>
/// Traffic by network pair and by direction, summed at scrape time over the workers'
/// <see cref="NetworkCounters"/>. They advance per record (at each active timeout and at a flow's
/// end), not per packet. A pair appears once it has carried something; the label values are the
/// configured names (bounded by <c>Metrics:MaxNetworkLabels</c>) and <c>other</c>.
/// </summary>
internal sealed class NetworkMetrics(FlowEngine engine) : IMetricSource
{
    private static readonly string[] DirectionLabels = BuildDirectionLabels();

    public void CollectMetrics(MetricSet m)
    {
        var workers = engine.Workers;
        var labels = engine.NetworkLabels;
        Matrix(m, "vtap_network_packets_total", "Packets sent from one configured network to another (src_network to dst_network; other: no configured network), from the records' deltas.", labels, workers, c => c.Packets);
        Matrix(m, "vtap_network_bytes_total", "IP bytes sent from one configured network to another, from the records' deltas.", labels, workers, c => c.Bytes);
        Matrix(m, "vtap_network_flows_total", "Flows opened from the initiator's network (src_network) to the responder's (dst_network).", labels, workers, c => c.Flows);
        ByDirection(m, "vtap_direction_packets_total", "Packets both ways of flows by their direction (inbound, outbound, internal, external) from the networks' Local flags.", workers, c => c.DirectionPackets);
        ByDirection(m, "vtap_direction_bytes_total", "IP bytes both ways of flows by their direction.", workers, c => c.DirectionBytes);
        ByDirection(m, "vtap_direction_flows_total", "Flows by their direction.", workers, c => c.DirectionFlows);
    }

    private static void Matrix(MetricSet m, string name, string help, NetworkLabels labels, IReadOnlyList<Workers.FlowWorker> workers, Func<NetworkCounters, long[]> cells)
    {
        m.Declare(name, MetricType.Counter, help);
        var count = labels.Count;
        var size = labels.Size;
        for (var source = 0; source < count; source++)
        {
            for (var destination = 0; destination < count; destination++)
            {
                long total = 0;
                foreach (var worker in workers)
                {
                    total += Volatile.Read(ref cells(worker.NetworkCounters)[(source * size) + destination]);
                }

                if (total > 0)
                {
                    m.Counter(name, help, total, ("src_network", labels.NameAt(source)), ("dst_network", labels.NameAt(destination)));
                }
            }
        }
    }

    private void ByDirection(MetricSet m, string name, string help, IReadOnlyList<Workers.FlowWorker> workers, Func<NetworkCounters, long[]> cells)
    {
        m.Declare(name, MetricType.Counter, help);
        if (engine.Networks.Current.Map.IsEmpty && workers.All(w => cells(w.NetworkCounters).All(v => v == 0)))
        {
            // No networks, never any: no direction was decided, so no series.
            return;
        }

        for (var direction = 1; direction < TrafficDirections.Count; direction++)
        {
            long total = 0;
            foreach (var worker in workers)
            {
                total += Volatile.Read(ref cells(worker.NetworkCounters)[direction]);
            }

            m.Counter(name, help, total, ("direction", DirectionLabels[direction]));
        }
    }

    private static string[] BuildDirectionLabels()
    {
        var labels = new string[TrafficDirections.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = Encoding.ASCII.GetString(TrafficDirections.Label((TrafficDirection)i));
        }

        return labels;
    }
}
