using System.Net;

namespace VtapCollector.Capture.Live;

/// <summary>Settings of a <see cref="GreSocketSource"/>.</summary>
public sealed class GreSocketSourceOptions
{
    /// <summary>
    /// Local address whose GRE packets are received: 0.0.0.0 (the default) takes IPv4 GRE to any
    /// address of the host, :: IPv6 GRE to any address; a specific address only packets sent to it.
    /// </summary>
    public IPAddress Address { get; init; } = IPAddress.Any;

    /// <summary>Receive buffer asked for (SO_RCVBUFFORCE with CAP_NET_ADMIN, else SO_RCVBUF, capped by net.core.rmem_max). Default 32 MiB.</summary>
    public int ReceiveBufferBytes { get; init; } = 32 * 1024 * 1024;

    /// <summary>Packets taken per recvmmsg(2) call. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Largest packet received whole (for IPv4 the IP header included); longer ones are cut and
    /// counted. Default 9216: a jumbo mirrored frame and its GRE and ERSPAN headers.
    /// </summary>
    public int MaxPacketBytes { get; init; } = 9216;

    /// <summary>Returns a sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        if (Address is null || Address.AddressFamily is not (System.Net.Sockets.AddressFamily.InterNetwork or System.Net.Sockets.AddressFamily.InterNetworkV6))
        {
            return "Address must be an IPv4 or IPv6 address (0.0.0.0 or :: for any).";
        }

        if (ReceiveBufferBytes is < 1024 or > 1024 * 1024 * 1024)
        {
            return $"ReceiveBufferBytes must be between 1 KiB and 1 GiB (was {ReceiveBufferBytes}).";
        }

        if (BatchSize is < 1 or > 1024)
        {
            return $"BatchSize must be between 1 and 1024 (was {BatchSize}).";
        }

        if (MaxPacketBytes is < 64 or > 65535)
        {
            return $"MaxPacketBytes must be between 64 and 65535 (was {MaxPacketBytes}).";
        }

        return null;
    }
}
