using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using VtapCollector.Capture.Udp;
using VtapCollector.Decoding;

namespace VtapCollector.Capture;

/// <summary>
/// Receives tunnel datagrams (VXLAN, Geneve: the payload a mirror sends to UDP 4789 or 6081) on one
/// UDP socket, in batches of up to <see cref="UdpTunnelReceiverOptions.BatchSize"/> per
/// recvmmsg(2) call, and hands each to a struct handler with its sender, destination address, kernel
/// receive time and payload. Linux only (x86-64 and arm64).
/// </summary>
/// <remarks>
/// <para>
/// The socket is a .NET <see cref="Socket"/> for opening, options and binding; receiving goes
/// through recvmmsg(2) on its descriptor, because .NET has no batched receive and its
/// ReceiveMessageFrom allocates per call. Options set before bind: SO_REUSEPORT (several receivers
/// share the port; the kernel spreads flows over them), SO_RCVBUFFORCE or SO_RCVBUF (a large queue
/// absorbs bursts), SO_TIMESTAMPNS (kernel receive time per datagram; SO_TIMESTAMP where that is
/// refused), SO_RXQ_OVFL (the socket's drop counter rides on every datagram queued after a drop),
/// IP_PKTINFO on IPv4 sockets and IPV6_RECVPKTINFO on IPv6 ones, plus IP_PKTINFO in dual mode (each
/// datagram's own destination address: on a wildcard bind the socket's address says nothing).
/// </para>
/// <para>
/// Everything recvmmsg needs (64-byte mmsghdr, iovec, sockaddr and control slots, and the datagram
/// buffers) lives in one block of native memory allocated in the constructor and freed by
/// <see cref="Dispose"/>: it never moves, and receiving allocates nothing. One thread calls
/// <see cref="ReceiveBatch"/>; for more throughput, run one receiver per thread on the same port.
/// </para>
/// </remarks>
public sealed unsafe class UdpTunnelReceiver : IDisposable
{
    /// <summary>
    /// Control buffer per datagram, room for every message one datagram can carry:
    /// CMSG_SPACE(timespec 16) + CMSG_SPACE(uint32 4) + CMSG_SPACE(in_pktinfo 12) + CMSG_SPACE(in6_pktinfo 20)
    /// = 32 + 24 + 32 + 40 (an IPv4 datagram on a dual-mode socket gets both pktinfo messages).
    /// </summary>
    private const int ControlSlot = 128;

    private readonly Socket _socket;
    private readonly SafeSocketHandle _handle;
    private readonly RecvmmsgBatch _batch;
    private readonly ushort _localPort;
    private readonly IpAddress _boundAddress;
    private readonly byte _boundIpVersion;
    private bool _disposed;

    /// <summary>Opens, configures and binds the socket. Throws <see cref="UdpSocketException"/> with one sentence when the port cannot be had.</summary>
    public UdpTunnelReceiver(UdpTunnelReceiverOptions? options = null)
    {
        options ??= new UdpTunnelReceiverOptions();
        var invalid = options.Validate();
        if (invalid is not null)
        {
            throw new ArgumentException(invalid, nameof(options));
        }

        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            throw new PlatformNotSupportedException("The UDP tunnel receiver uses Linux recvmmsg(2) and runs on Linux x86-64 and arm64 only.");
        }

        var endPoint = options.EndPoint;
        ReceiveBufferRequested = options.ReceiveBufferBytes;
        MaxDatagramBytes = options.MaxDatagramBytes;
        _socket = OpenAndBind(endPoint, options, out var timestampsNs, out var dropCounter, out var packetInfo);
        KernelTimestampsInNanoseconds = timestampsNs;
        DropCounterEnabled = dropCounter;
        DestinationFromKernel = packetInfo;
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _localPort = (ushort)LocalEndPoint.Port;
        _boundAddress = ToIpAddress(LocalEndPoint.Address, out _boundIpVersion);
        ReceiveBufferBytes = SocketOptions.Get(_socket, LinuxSocketInterop.SolSocket, LinuxSocketInterop.SoRcvbuf);
        _handle = _socket.SafeHandle;
        _batch = new RecvmmsgBatch(options.BatchSize, options.MaxDatagramBytes, headroom: 0, ControlSlot);
    }

    /// <summary>The address and port bound (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The receive buffer asked for.</summary>
    public int ReceiveBufferRequested { get; }

    /// <summary>
    /// The receive buffer the kernel granted, as getsockopt(SO_RCVBUF) reports it: twice the usable
    /// size asked for (the kernel's bookkeeping share), capped by net.core.rmem_max unless the
    /// process has CAP_NET_ADMIN.
    /// </summary>
    public int ReceiveBufferBytes { get; }

    /// <summary>Largest datagram received whole.</summary>
    public int MaxDatagramBytes { get; }

    /// <summary>True when the kernel stamps datagrams in nanoseconds (SO_TIMESTAMPNS); false when only microseconds (SO_TIMESTAMP) were granted.</summary>
    public bool KernelTimestampsInNanoseconds { get; }

    /// <summary>True when the kernel accepted SO_RXQ_OVFL, so <see cref="KernelDrops"/> is reported.</summary>
    public bool DropCounterEnabled { get; }

    /// <summary>
    /// True when the socket is bound to a wildcard address (0.0.0.0, ::) and the kernel accepted
    /// IP_PKTINFO (IPv4) or IPV6_RECVPKTINFO (IPv6), so <see cref="ReceivedDatagram.Destination"/> is
    /// each datagram's own destination; otherwise it is the bound address of <see cref="LocalEndPoint"/>,
    /// which for a socket bound to one address is every datagram's destination.
    /// </summary>
    public bool DestinationFromKernel { get; }

    /// <summary>Datagrams delivered so far.</summary>
    public long Datagrams { get; private set; }

    /// <summary>Payload bytes delivered so far (truncated datagrams count the bytes kept).</summary>
    public long Bytes { get; private set; }

    /// <summary>Datagrams longer than <see cref="MaxDatagramBytes"/>, delivered cut (MSG_TRUNC).</summary>
    public long TruncatedDatagrams { get; private set; }

    /// <summary>recvmmsg calls that returned datagrams.</summary>
    public long Batches { get; private set; }

    /// <summary>
    /// Datagrams the kernel dropped because this socket's receive queue was full, as of the latest
    /// datagram that carried the count (SO_RXQ_OVFL: a counter since the socket opened, attached to
    /// each datagram queued after the first drop). 0 until a drop is seen.
    /// </summary>
    public long KernelDrops { get; private set; }

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (0: do not wait, -1: forever) for
    /// datagrams, takes up to a batch of them with one recvmmsg(2) call and calls
    /// <paramref name="handler"/> for each, in arrival order. Returns how many were delivered; 0
    /// when none arrived in time (or a signal interrupted the wait). Allocates nothing.
    /// </summary>
    public int ReceiveBatch<THandler>(ref THandler handler, int timeoutMilliseconds)
        where THandler : struct, IDatagramHandler
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMilliseconds, -1);
        var received = _batch.Receive(_handle, timeoutMilliseconds, out var failedCall, out var errno);
        if (received < 0)
        {
            throw Failure(failedCall!, errno);
        }

        if (received > 0)
        {
            Deliver(ref handler, received);
        }

        GC.KeepAlive(this);
        return received;
    }

    /// <summary>Closes the socket and frees the buffers.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _socket.Dispose();
        _batch.Dispose();
    }

    private static Socket OpenAndBind(IPEndPoint endPoint, UdpTunnelReceiverOptions options, out bool timestampsNs, out bool dropCounter, out bool packetInfo)
    {
        Socket socket;
        try
        {
            socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        }
        catch (SocketException error)
        {
            throw new UdpSocketException($"Cannot open a UDP socket for {Where(endPoint)}: {error.Message} (is {(endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4")} enabled on this machine?).", error)
            {
                ErrorNumber = error.ErrorCode,
            };
        }

        try
        {
            var dualMode = endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any);
            if (dualMode)
            {
                // :: receives IPv4 too; IPv4 senders appear as ::ffff:a.b.c.d and are reported as IPv4.
                socket.DualMode = true;
            }

            if (options.ReusePort)
            {
                SocketOptions.Set(socket, LinuxSocketInterop.SolSocket, LinuxSocketInterop.SoReuseport, 1);
            }

            SocketOptions.SetReceiveBuffer(socket, options.ReceiveBufferBytes);
            timestampsNs = SocketOptions.EnableReceiveTimestamps(socket);
            dropCounter = SocketOptions.TrySet(socket, LinuxSocketInterop.SolSocket, LinuxSocketInterop.SoRxqOvfl, 1);
            // A socket bound to one address knows every datagram's destination already; only a wildcard
            // bind needs the kernel's per-datagram answer, which costs a control message per datagram.
            var wildcard = endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any);
            packetInfo = wildcard && EnablePacketInfo(socket, endPoint.AddressFamily, dualMode);
            Bind(socket, endPoint);
            return socket;
        }
        catch (SocketException error)
        {
            socket.Dispose();
            throw new UdpSocketException($"Cannot set up UDP port {endPoint.Port} on {Where(endPoint.Address)}: {error.Message}.", error)
            {
                ErrorNumber = error.ErrorCode,
            };
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void Bind(Socket socket, IPEndPoint endPoint)
    {
        try
        {
            socket.Bind(endPoint);
        }
        catch (SocketException error)
        {
            var port = endPoint.Port;
            var address = Where(endPoint.Address);
            var message = error.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse =>
                    $"UDP port {port} on {address} is already in use by another process (or by a socket that did not set SO_REUSEPORT); stop it or choose another port.",
                SocketError.AccessDenied =>
                    $"UDP port {port} on {address} cannot be opened: permission denied (ports below 1024 need root or the CAP_NET_BIND_SERVICE capability).",
                SocketError.AddressNotAvailable =>
                    $"Cannot listen on {address}: it is not an address of this machine.",
                _ => $"Cannot bind UDP port {port} on {address}: {error.Message}.",
            };
            throw new UdpSocketException(message, error) { ErrorNumber = error.ErrorCode };
        }
    }

    /// <summary>
    /// Asks for each datagram's destination address. IPV6_RECVPKTINFO alone already reports an IPv4
    /// datagram of a dual-mode socket (as ::ffff:a.b.c.d) on current kernels; IP_PKTINFO is set too so
    /// the IPv4 path never depends on that. False when the kernel refused the option for the family.
    /// </summary>
    private static bool EnablePacketInfo(Socket socket, AddressFamily family, bool dualMode)
    {
        if (family == AddressFamily.InterNetwork)
        {
            return SocketOptions.TrySet(socket, LinuxSocketInterop.SolIp, LinuxSocketInterop.IpPktinfo, 1);
        }

        var ipv6 = SocketOptions.TrySet(socket, LinuxSocketInterop.SolIpv6, LinuxSocketInterop.Ipv6Recvpktinfo, 1);
        var ipv4 = dualMode && SocketOptions.TrySet(socket, LinuxSocketInterop.SolIp, LinuxSocketInterop.IpPktinfo, 1);
        return ipv6 && (ipv4 || !dualMode);
    }

    /// <summary>The bound address as the datagrams report addresses: IPv4 (or IPv4-mapped) as IPv4.</summary>
    private static IpAddress ToIpAddress(IPAddress address, out byte version)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork || address.IsIPv4MappedToIPv6)
        {
            address.MapToIPv4().TryWriteBytes(bytes, out _);
            version = 4;
            return IpAddress.ReadIPv4(bytes);
        }

        address.TryWriteBytes(bytes, out _);
        version = 6;
        return IpAddress.ReadIPv6(bytes);
    }

    private static string Where(IPEndPoint endPoint) => $"UDP port {endPoint.Port} on {Where(endPoint.Address)}";

    private static string Where(IPAddress address) => address.ToString();

    private UdpSocketException Failure(string call, int errno) =>
        new($"Receiving on UDP port {LocalEndPoint.Port} on {Where(LocalEndPoint.Address)} failed: {call}: {LinuxSocketInterop.Describe(errno)} (errno {errno}).")
        {
            ErrorNumber = errno,
        };

    private void Deliver<THandler>(ref THandler handler, int received)
        where THandler : struct, IDatagramHandler
    {
        long wallClock = 0;
        long bytes = 0;
        for (var i = 0; i < received; i++)
        {
            var message = _batch.Read(i, ref wallClock);
            if (message.Truncated)
            {
                TruncatedDatagrams++;
            }

            SocketAddressLayout.TryRead(
                _batch.SourceAddress(i, out var nameLength),
                nameLength,
                out var source,
                out var version,
                out var sourcePort);

            ref readonly var control = ref message.Control;
            if (control.KernelDrops >= 0)
            {
                KernelDrops = control.KernelDrops;
            }

            bytes += message.Length;
            var meta = new ReceivedDatagram(source, version, sourcePort, _localPort, message.TimestampNanos, message.TimestampFromKernel, message.Truncated)
            {
                Destination = control.DestinationIpVersion != 0 ? control.Destination : _boundAddress,
                DestinationIpVersion = control.DestinationIpVersion != 0 ? control.DestinationIpVersion : _boundIpVersion,
            };
            handler.OnDatagram(in meta, new ReadOnlySpan<byte>(_batch.Slot(i), message.Length));
        }

        Datagrams += received;
        Bytes += bytes;
        Batches++;
    }
}
