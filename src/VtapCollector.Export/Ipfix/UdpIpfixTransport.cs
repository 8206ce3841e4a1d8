using System.Net;
using System.Net.Sockets;

namespace VtapCollector.Export.Ipfix;

/// <summary>
/// IPFIX over UDP (RFC 7011 section 10.3): one message per datagram, through a connected
/// non-blocking socket so a send is one system call with no address to marshal and never waits.
/// A send that fails (no buffer space, ICMP port unreachable reported by the kernel) drops the message.
/// </summary>
public sealed class UdpIpfixTransport : IIpfixTransport
{
    private readonly Socket _socket;
    private bool _healthy = true;

    /// <summary>Opens a socket to <paramref name="collector"/> (resolving a host name now, once).</summary>
    /// <exception cref="IOException">The host name does not resolve.</exception>
    public UdpIpfixTransport(IpfixCollectorAddress collector)
    {
        ArgumentNullException.ThrowIfNull(collector);
        var address = collector.Address ?? Resolve(collector);
        _socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        _socket.Connect(new IPEndPoint(address, collector.Port));
    }

    /// <inheritdoc/>
    public bool IsDatagram => true;

    /// <inheritdoc/>
    public bool IsHealthy => _healthy;

    /// <inheritdoc/>
    public IpfixCollectorCounters Counters { get; } = new();

    /// <inheritdoc/>
    public void Send(ReadOnlySpan<byte> message, int records, bool templates)
    {
        var sent = _socket.Send(message, SocketFlags.None, out var error);
        if (error == SocketError.ConnectionRefused)
        {
            // The error belongs to an earlier datagram (the kernel reports the ICMP error on the next
            // call): this one was not sent yet, so it gets one more try.
            sent = _socket.Send(message, SocketFlags.None, out error);
        }

        _healthy = error == SocketError.Success && sent == message.Length;
        if (_healthy)
        {
            Counters.Sent(message.Length, records, templates);
        }
        else
        {
            Counters.DroppedNotConnected += records;
        }
    }

    /// <inheritdoc/>
    public void Pump()
    {
    }

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();

    private static IPAddress Resolve(IpfixCollectorAddress collector)
    {
        try
        {
            var addresses = Dns.GetHostAddresses(collector.Host);
            return addresses.Length > 0 ? addresses[0] : throw new IOException($"IPFIX collector {collector}: the host name has no address.");
        }
        catch (SocketException error)
        {
            throw new IOException($"IPFIX collector {collector}: cannot resolve the host name: {error.Message}", error);
        }
    }
}
