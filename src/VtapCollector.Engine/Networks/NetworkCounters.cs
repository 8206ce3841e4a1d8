using VtapCollector.Flows;

namespace VtapCollector.Engine.Networks;

/// <summary>
/// One flow worker's traffic by network pair and by direction, written by that worker only (per
/// record, from the record's deltas) and summed over the workers at scrape time. A record's packets
/// and bytes from initiator to responder count under (source network, destination network), those of
/// the reply under (destination network, source network), so a cell is traffic sent from one network
/// to another; a flow counts once, at its first record, under (initiator's, responder's) network. By
/// direction, a record's packets and bytes both ways count under the flow's direction.
/// </summary>
internal sealed class NetworkCounters
{
    public NetworkCounters(int labels)
    {
        Labels = labels;
        Packets = new long[labels * labels];
        Bytes = new long[labels * labels];
        Flows = new long[labels * labels];
    }

    /// <summary>Rows and columns of the matrices: <see cref="NetworkLabels.Size"/>.</summary>
    public int Labels { get; }

    /// <summary>Packets sent from the row's network to the column's, at [source * Labels + destination].</summary>
    public long[] Packets { get; }

    /// <summary>IP bytes sent from the row's network to the column's.</summary>
    public long[] Bytes { get; }

    /// <summary>Flows opened from the row's network to the column's.</summary>
    public long[] Flows { get; }

    /// <summary>Packets both ways, by <see cref="TrafficDirection"/>.</summary>
    public long[] DirectionPackets { get; } = new long[TrafficDirections.Count];

    /// <summary>IP bytes both ways, by <see cref="TrafficDirection"/>.</summary>
    public long[] DirectionBytes { get; } = new long[TrafficDirections.Count];

    /// <summary>Flows, by <see cref="TrafficDirection"/>.</summary>
    public long[] DirectionFlows { get; } = new long[TrafficDirections.Count];

    /// <summary>Adds a classified record's deltas (<paramref name="source"/> and <paramref name="destination"/> are label indexes).</summary>
    public void Add(in FlowRecord record, int source, int destination)
    {
        var forward = (source * Labels) + destination;
        var reverse = (destination * Labels) + source;
        Packets[forward] += (long)record.PacketsSrcToDst;
        Bytes[forward] += (long)record.BytesSrcToDst;
        Packets[reverse] += (long)record.PacketsDstToSrc;
        Bytes[reverse] += (long)record.BytesDstToSrc;
        var direction = (int)record.Direction;
        DirectionPackets[direction] += (long)(record.PacketsSrcToDst + record.PacketsDstToSrc);
        DirectionBytes[direction] += (long)(record.BytesSrcToDst + record.BytesDstToSrc);
        if (record.Sequence == 0)
        {
            Flows[forward]++;
            DirectionFlows[direction]++;
        }
    }
}
