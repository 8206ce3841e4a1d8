using VtapCollector.Decoding;

namespace VtapCollector.Capture;

/// <summary>
/// Metadata of one datagram taken off a UDP socket by <see cref="UdpTunnelReceiver"/>.
/// </summary>
/// <param name="Source">The sender's address (the mirror source: a tunnel's outer source). IPv4 senders of a dual-mode IPv6 socket are reported as IPv4.</param>
/// <param name="SourceIpVersion">4 or 6: the family of <paramref name="Source"/>.</param>
/// <param name="SourcePort">The sender's UDP port.</param>
/// <param name="LocalPort">The UDP port the datagram arrived on (the receiver's bound port).</param>
/// <param name="TimestampNanos">Receive time in nanoseconds since the Unix epoch: the kernel's (SO_TIMESTAMPNS), or the wall clock when the batch was taken if the kernel gave none.</param>
/// <param name="KernelTimestamp">True when <paramref name="TimestampNanos"/> came from the kernel.</param>
/// <param name="Truncated">True when the datagram was longer than the receive buffer and its tail was cut (MSG_TRUNC): the payload holds its first bytes only.</param>
public readonly record struct ReceivedDatagram(
    IpAddress Source,
    byte SourceIpVersion,
    ushort SourcePort,
    ushort LocalPort,
    long TimestampNanos,
    bool KernelTimestamp,
    bool Truncated)
{
    /// <summary>
    /// The address the datagram was sent to (a tunnel's outer destination: this collector's address
    /// the mirror sends to), from the IP header as the kernel reports it per datagram (IP_PKTINFO
    /// ipi_addr, IPV6_PKTINFO ipi6_addr), so a receiver on a wildcard address (0.0.0.0, ::) still
    /// tells which of the machine's addresses was used; for a broadcast or multicast datagram, that
    /// broadcast or group address. IPv4 datagrams of a dual-mode IPv6 socket are reported as IPv4.
    /// When the kernel attached no pktinfo, the receiver's bound address (which may be the wildcard).
    /// Default (when built without it): <c>::</c>.
    /// </summary>
    public IpAddress Destination { get; init; }

    /// <summary>4 or 6: the family of <see cref="Destination"/>. Default (when built without it): 0.</summary>
    public byte DestinationIpVersion { get; init; }
}

/// <summary>
/// Receives datagrams from <see cref="UdpTunnelReceiver.ReceiveBatch"/>. Implemented by structs and
/// used as a generic constraint, so the per-datagram call is direct and inlinable.
/// </summary>
public interface IDatagramHandler
{
    /// <summary>
    /// Handles one datagram. <paramref name="payload"/> (the UDP payload: for a mirror, the VXLAN or
    /// Geneve header and the inner frame) is valid only during the call: it points into the
    /// receiver's buffer, which the next batch overwrites.
    /// </summary>
    void OnDatagram(in ReceivedDatagram meta, ReadOnlySpan<byte> payload);
}
