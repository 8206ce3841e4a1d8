using VtapCollector.Engine.Networks;

namespace VtapCollector.Service;

/// <summary>
/// One entry of the <c>Networks</c> section, keyed by the network's name
/// (<c>Networks:spoke1:Cidrs:0</c>, <c>VTAP__NETWORKS__SPOKE1__LOCAL=true</c>). Reloadable.
/// </summary>
internal sealed class NetworkSettings
{
    /// <summary>The network's prefixes, IPv4 and IPv6 (<c>10.1.0.0/16</c>, <c>fd00:1::/48</c>, a bare address). At least one.</summary>
    public List<string> Cidrs { get; set; } = [];

    /// <summary>When not empty, the prefixes belong to this network only in these VNIs (the same prefix in two VNIs may be two networks). Default: any VNI.</summary>
    public List<uint> Vnis { get; set; } = [];

    /// <summary>True for the operator's own estate (VNets, spokes, on-premises ranges); decides the records' direction. Default false.</summary>
    public bool Local { get; set; }

    /// <summary>The network map of a whole <c>Networks</c> section (null when it is empty), or null and one sentence naming the bad entry.</summary>
    public static NetworkMap? ToMap(IReadOnlyDictionary<string, NetworkSettings> networks, out string? error)
    {
        var definitions = networks
            .OrderBy(n => n.Key, StringComparer.Ordinal)
            .Select(n => new NetworkDefinition(n.Key, n.Value.Cidrs, n.Value.Vnis, n.Value.Local))
            .ToList();
        return NetworkMap.TryCreate(definitions, out error);
    }
}
