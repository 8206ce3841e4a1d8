using VtapCollector.Decoding;

namespace VtapCollector.Flows;

/// <summary>
/// The VNet-flow-log view of a record: <c>I</c> or <c>O</c> relative to the tapped interface. An
/// Azure TAP sends a NIC's copies from that NIC's own address, so when the tunnel source is one of the
/// flow's endpoints it is the tapped interface: <c>O</c> when it initiated the flow (the copies it
/// sends towards others open it), <c>I</c> when it is the responder (the flow came in to it).
/// Otherwise (no tunnel, a tunnel of the other IP version, a mirror source that is neither endpoint,
/// such as a VM reached at its public address) there is no such view.
/// </summary>
public static class FlowLogDirection
{
    /// <summary><c>'O'</c>, <c>'I'</c>, or 0 when the tapped interface is neither endpoint.</summary>
    public static byte Of(in FlowRecord record)
    {
        if (record.Tunnel == TunnelKind.None || record.TunnelIpVersion != record.IpVersion)
        {
            return 0;
        }

        return record.TunnelSource == record.Source ? (byte)'O'
            : record.TunnelSource == record.Destination ? (byte)'I'
            : (byte)0;
    }
}
