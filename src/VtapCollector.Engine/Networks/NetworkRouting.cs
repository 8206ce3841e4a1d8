namespace VtapCollector.Engine.Networks;

/// <summary>A network map in force and the metric label of each of its networks: swapped together, so a worker never sees one without the other.</summary>
/// <param name="Map">The networks.</param>
/// <param name="Labels">The label index of network i (<see cref="Flows.FlowNetwork.Index"/>) in <see cref="NetworkLabels"/>.</param>
internal sealed record NetworkRouting(NetworkMap Map, int[] Labels)
{
    /// <summary>No networks.</summary>
    public static NetworkRouting None { get; } = new(NetworkMap.Empty, []);

    /// <summary>The label of a record endpoint's network (0, <c>other</c>, when none).</summary>
    public int LabelOf(Flows.FlowNetwork? network) => network is null ? 0 : Labels[network.Index];
}

/// <summary>The routing in force; a reload swaps it. Read once per record by the flow workers.</summary>
internal sealed class NetworkRoutingHolder
{
    private NetworkRouting _current = NetworkRouting.None;

    public NetworkRouting Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value);
    }
}
