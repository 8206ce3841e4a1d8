using VtapCollector.Decoding;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>
/// Decides which endpoint of a mirrored packet is the tapped ("local") side, for the local and remote
/// terms of a capture filter. Without one, the rule is the tunnel source's: the endpoint whose address
/// is the mirror's own (outer source) address is local. Configured networks (named local networks)
/// plug in here; they are consulted only for filters with a local or remote term.
/// </summary>
internal interface ILocalAddresses
{
    /// <summary>True when <paramref name="address"/> belongs to the tapped side in segment <paramref name="vni"/>.</summary>
    bool IsLocal(IpAddress address, uint vni);
}
