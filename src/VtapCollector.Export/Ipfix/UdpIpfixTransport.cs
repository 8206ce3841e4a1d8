using System.Net;
using System.Net.Sockets;

namespace VtapCollector.Export.Ipfix;

/// <summary>
/// IPFIX over UDP (RFC 7011 section 10.3): one message per datagram, through a connected
/// non-blocking socket so a send is one system call with no address to marshal and never waits.
/// A send that fails (no buffer space) drops the message; an ICMP port unreachable the kernel reports
/// counts the previous message as not delivered. Both are counted as <c>not_connected</c>.
/// </summary>
public sealed class UdpIpfixTransport : IIpfixTransport
{
    private readonly Socket _socket;
    private bool _healthy = true;
    private int _previousRecords;

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
        var refused = error == SocketError.ConnectionRefused;
        if (refused)
        {
            // The kernel reports an ICMP port unreachable on the next call of a connected socket: the
            // error is the previous datagram's, which nobody received. This one was not sent yet, so
            // it gets one more try.
            Counters.DroppedNotConnected += _previousRecords;
            sent = _socket.Send(message, SocketFlags.None, out error);
        }

        _healthy = !refused && error == SocketError.Success;
        if (error == SocketError.Success && sent == message.Length)
        {
            Counters.Sent(message.Length, records, templates);
            _previousRecords = records;
        }
        else
        {
            Counters.DroppedNotConnected += records;
            _previousRecords = 0;
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
