using VtapCollector.Engine.Ingress;

namespace VtapCollector.Service;

/// <summary>Which mirror sources and VNIs are accepted; everything else is dropped and counted.</summary>
internal sealed class AllowListSettings
{
    /// <summary>Outer (mirror) source addresses accepted, as CIDRs (<c>10.1.0.0/16</c>, <c>fd00::/8</c>, or a bare address). Empty: any source (with a warning at start). Reloadable.</summary>
    public List<string> SourceCidrs { get; set; } = [];

    /// <summary>VNIs accepted. Empty: any VNI. Reloadable.</summary>
    public List<uint> Vnis { get; set; } = [];

    /// <summary>The allow-list these settings describe, or null and one sentence naming the bad entry.</summary>
    public AllowList? ToAllowList(out string? error) => AllowList.TryCreate(SourceCidrs, Vnis, out error);
}
