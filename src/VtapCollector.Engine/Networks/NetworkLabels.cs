namespace VtapCollector.Engine.Networks;

/// <summary>
/// The metric label of every network name the engine has been configured with, bounded: label 0 is
/// <c>other</c> (unmatched addresses, and names beyond <see cref="Limit"/>), names get 1, 2, ... in
/// the order they first appear. A name keeps its label across reloads, so its counters keep counting
/// (a name a reload removes keeps its last values). Used when a configuration is applied, never per record.
/// </summary>
internal sealed class NetworkLabels
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _indexes = new(StringComparer.Ordinal);
    private readonly List<string> _names = [NetworkMap.OtherLabel];

    public NetworkLabels(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Limit = limit;
    }

    /// <summary>Names given their own label.</summary>
    public int Limit { get; }

    /// <summary>Labels in use counters are sized for: <c>other</c> plus <see cref="Limit"/>.</summary>
    public int Size => Limit + 1;

    /// <summary>Labels given so far, <c>other</c> included.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _names.Count;
            }
        }
    }

    /// <summary>The label value of index <paramref name="index"/> (below <see cref="Count"/>).</summary>
    public string NameAt(int index)
    {
        lock (_lock)
        {
            return _names[index];
        }
    }

    /// <summary>The label index of each network of <paramref name="map"/>, by <see cref="Flows.FlowNetwork.Index"/>.</summary>
    public int[] Resolve(NetworkMap map)
    {
        var labels = new int[map.Networks.Count];
        lock (_lock)
        {
            foreach (var network in map.Networks)
            {
                if (!_indexes.TryGetValue(network.Name, out var index))
                {
                    index = _names.Count <= Limit ? _names.Count : 0;
                    if (index != 0)
                    {
                        _indexes.Add(network.Name, index);
                        _names.Add(network.Name);
                    }
                }

                labels[network.Index] = index;
            }
        }

        return labels;
    }
}
