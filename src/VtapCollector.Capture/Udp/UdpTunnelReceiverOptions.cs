using System.Net;

namespace VtapCollector.Capture;

/// <summary>Settings of a <see cref="UdpTunnelReceiver"/>.</summary>
public sealed class UdpTunnelReceiverOptions
{
    /// <summary>Default receive buffer: 8 MiB absorbs about 5 000 full-size mirror datagrams of burst.</summary>
    public const int DefaultReceiveBufferBytes = 8 * 1024 * 1024;

    /// <summary>Where to listen. Default 0.0.0.0:4789 (VXLAN). Port 0 picks a free port (see <see cref="UdpTunnelReceiver.LocalEndPoint"/>); :: listens on IPv6 and IPv4 (dual mode).</summary>
    public IPEndPoint EndPoint { get; init; } = new(IPAddress.Any, 4789);

    /// <summary>
    /// Receive buffer requested from the kernel (SO_RCVBUF). A process with CAP_NET_ADMIN gets it
    /// whatever net.core.rmem_max says (SO_RCVBUFFORCE); others get at most rmem_max. The size
    /// granted is <see cref="UdpTunnelReceiver.ReceiveBufferBytes"/>. Default 8 MiB.
    /// </summary>
    public int ReceiveBufferBytes { get; init; } = DefaultReceiveBufferBytes;

    /// <summary>Datagrams taken per recvmmsg(2) call. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Largest datagram received whole; longer ones are cut and counted as truncated. Default 9216:
    /// a 9000-byte jumbo inner frame plus its tunnel headers.
    /// </summary>
    public int MaxDatagramBytes { get; init; } = 9216;

    /// <summary>Set SO_REUSEPORT before binding, so several receivers (threads or processes) can share the port. Default true.</summary>
    public bool ReusePort { get; init; } = true;

    /// <summary>Returns a sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        if (EndPoint is null)
        {
            return "EndPoint must be set.";
        }

        if (ReceiveBufferBytes is < 1024 or > 1024 * 1024 * 1024)
        {
            return $"ReceiveBufferBytes must be between 1 KiB and 1 GiB (was {ReceiveBufferBytes}).";
        }

        if (BatchSize is < 1 or > 1024)
        {
            return $"BatchSize must be between 1 and 1024 (was {BatchSize}).";
        }

        if (MaxDatagramBytes is < 64 or > 65535)
        {
            return $"MaxDatagramBytes must be between 64 and 65535 (was {MaxDatagramBytes}).";
        }

        return null;
    }
}
