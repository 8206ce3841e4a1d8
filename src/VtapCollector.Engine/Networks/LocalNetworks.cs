using VtapCollector.Decoding;
using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Engine.Networks;

/// <summary>
/// The tapped side of a capture filter's local and remote terms when networks marked <c>Local</c> are
/// configured: an address is local when its longest-prefix network is. Used only while such a network
/// exists; without one the capture keeps the tunnel-source rule (the endpoint that sent the mirror).
/// </summary>
internal sealed class LocalNetworks(NetworkMap map) : ILocalAddresses
{
    /// <summary>The rule for <paramref name="map"/>: these networks when one of them is local, else null (the tunnel-source rule).</summary>
    public static ILocalAddresses? For(NetworkMap map)
    {
        foreach (var network in map.Networks)
        {
            if (network.IsLocal)
            {
                return new LocalNetworks(map);
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public bool IsLocal(IpAddress address, uint vni) => map.Lookup(address, vni)?.IsLocal == true;
}
