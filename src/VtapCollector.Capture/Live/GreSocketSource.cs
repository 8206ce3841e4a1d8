using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using VtapCollector.Capture.Udp;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Live;

/// <summary>
/// Receives GRE packets (IP protocol 47: ERSPAN, Ethernet bridged over GRE) addressed to this host
/// on a raw IP socket, for hosts without a NIC dedicated to capture. Needs CAP_NET_RAW. Each packet
/// is handed over from its outer IP header on, so the decoder starts where it would on a capture:
/// an IPv4 raw socket delivers the IP header itself (raw(7)); an IPv6 one delivers only what
/// follows the IPv6 headers (ipv6(7)), so the source writes a 40-byte IPv6 header in front from the
/// sender's address and the IPV6_PKTINFO destination.
/// </summary>
/// <remarks>
/// The kernel gives a raw socket a copy of every matching packet before the protocol's own handler
/// runs, so this works whether or not a GRE or ERSPAN device exists, and without one the kernel
/// sends no ICMP protocol-unreachable while the socket is open. IPv4 fragments are reassembled
/// before delivery. Receiving is recvmmsg(2) into one block of native memory allocated once, as in
/// <see cref="UdpTunnelReceiver"/>; nothing is allocated per packet.
/// </remarks>
public sealed unsafe class GreSocketSource : ILiveCaptureSource
{
    private const int ProtocolGre = 47;
    private const int Ipv6HeaderLength = 40;

    /// <summary>CMSG_SPACE(timespec 16) + CMSG_SPACE(uint32 4) + CMSG_SPACE(in6_pktinfo 20), rounded up.</summary>
    private const int ControlSlot = 128;

    private readonly Socket _socket;
    private readonly SafeSocketHandle _handle;
    private readonly bool _ipv6;
    private readonly RecvmmsgBatch _batch;
    private readonly IpAddress _boundAddress;
    private bool _disposed;

    /// <summary>Opens and binds the raw socket. Throws <see cref="LiveCaptureException"/> with one sentence when it cannot.</summary>
    public GreSocketSource(GreSocketSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var invalid = options.Validate();
        if (invalid is not null)
        {
            throw new ArgumentException(invalid, nameof(options));
        }

        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            throw new PlatformNotSupportedException("The GRE source uses Linux raw sockets and recvmmsg(2) and runs on Linux x86-64 and arm64 only.");
        }

        Address = options.Address;
        _ipv6 = options.Address.AddressFamily == AddressFamily.InterNetworkV6;
        Span<byte> bound = stackalloc byte[16];
        options.Address.TryWriteBytes(bound, out _);
        _boundAddress = _ipv6 ? IpAddress.ReadIPv6(bound) : IpAddress.ReadIPv4(bound);
        _socket = Open(options, out var timestampsNs, out var dropCounter);
        KernelTimestampsInNanoseconds = timestampsNs;
        DropCounterEnabled = dropCounter;
        _handle = _socket.SafeHandle;

        // Room for the IPv6 header written in front of an IPv6 packet, then the packet.
        _batch = new RecvmmsgBatch(options.BatchSize, options.MaxPacketBytes, Ipv6HeaderLength, ControlSlot);
    }

    /// <summary>The local address bound (0.0.0.0 or :: for any).</summary>
    public IPAddress Address { get; }

    /// <summary>True when the kernel stamps packets in nanoseconds (SO_TIMESTAMPNS).</summary>
    public bool KernelTimestampsInNanoseconds { get; }

    /// <summary>True when the kernel accepted SO_RXQ_OVFL, so <see cref="KernelDrops"/> is reported.</summary>
    public bool DropCounterEnabled { get; }

    /// <inheritdoc/>
    public long Packets { get; private set; }

    /// <inheritdoc/>
    public long Bytes { get; private set; }

    /// <inheritdoc/>
    public long TruncatedPackets { get; private set; }

    /// <summary>Packets the kernel dropped because the socket's queue was full (SO_RXQ_OVFL), as of the latest packet that carried the count.</summary>
    public long KernelDrops { get; private set; }

    /// <inheritdoc/>
    public int ReceiveBatch<THandler>(ref THandler handler, int timeoutMilliseconds)
        where THandler : struct, IPacketHandler
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

    /// <summary>The drop counter rides on the packets (SO_RXQ_OVFL): nothing to ask the kernel.</summary>
    public void RefreshKernelStatistics()
    {
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

    private static Socket Open(GreSocketSourceOptions options, out bool timestampsNs, out bool dropCounter)
    {
        var family = options.Address.AddressFamily;
        var version = family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";
        // .NET's Socket refuses protocol numbers it has no ProtocolType mapping for, so the raw
        // socket is made by socket(2) and handed to a Socket for its options and bind.
        var domain = family == AddressFamily.InterNetworkV6 ? LinuxSocketInterop.AfInet6 : LinuxSocketInterop.AfInet;
        var descriptor = LinuxSocketInterop.Socket(domain, LinuxSocketInterop.SockRawCloexec, ProtocolGre);
        if (descriptor < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var message = errno == LinuxSocketInterop.Eperm
                ? $"Cannot open a raw {version} GRE socket: permission denied; the GRE source needs the CAP_NET_RAW capability (run as root, or add the systemd drop-in gre-socket.conf)."
                : $"Cannot open a raw {version} GRE socket: {LinuxSocketInterop.Describe(errno)} (is {version} enabled on this machine?).";
            throw new LiveCaptureException(message) { ErrorNumber = errno };
        }

        var socket = new Socket(new SafeSocketHandle(descriptor, ownsHandle: true));
        try
        {
            SocketOptions.SetReceiveBuffer(socket, options.ReceiveBufferBytes);
            timestampsNs = SocketOptions.EnableReceiveTimestamps(socket);
            dropCounter = SocketOptions.TrySet(socket, LinuxSocketInterop.SolSocket, LinuxSocketInterop.SoRxqOvfl, 1);
            if (family == AddressFamily.InterNetworkV6)
            {
                // The destination of each packet, for the IPv6 header written in front of it.
                SocketOptions.Set(socket, LinuxSocketInterop.SolIpv6, LinuxSocketInterop.Ipv6Recvpktinfo, 1);
            }

            socket.Bind(new IPEndPoint(options.Address, 0));
            return socket;
        }
        catch (SocketException error)
        {
            socket.Dispose();
            var message = error.SocketErrorCode == SocketError.AddressNotAvailable
                ? $"Cannot receive GRE on {options.Address}: it is not an address of this machine."
                : $"Cannot set up the raw GRE socket on {options.Address}: {error.Message}.";
            throw new LiveCaptureException(message, error) { ErrorNumber = error.ErrorCode };
        }
    }

    private LiveCaptureException Failure(string call, int errno) =>
        new($"Receiving GRE on {Address} failed: {call}: {LinuxSocketInterop.Describe(errno)} (errno {errno}).") { ErrorNumber = errno };

    private void Deliver<THandler>(ref THandler handler, int received)
        where THandler : struct, IPacketHandler
    {
        long wallClock = 0;
        long bytes = 0;
        var linkType = _ipv6 ? LinkType.Ipv6 : LinkType.Ipv4;
        for (var i = 0; i < received; i++)
        {
            var message = _batch.Read(i, ref wallClock);
            if (message.Truncated)
            {
                TruncatedPackets++;
            }

            ref readonly var control = ref message.Control;
            if (control.KernelDrops >= 0)
            {
                KernelDrops = control.KernelDrops;
            }

            var length = message.Length;
            var slot = _batch.Slot(i);
            Span<byte> frame;
            if (_ipv6)
            {
                frame = new Span<byte>(slot, Ipv6HeaderLength + length);
                WriteIpv6Header(frame, length, i, control);
            }
            else
            {
                frame = new Span<byte>(slot + Ipv6HeaderLength, length);
            }

            bytes += frame.Length;
            handler.OnPacket(new CapturedPacket(message.TimestampNanos, frame.Length, linkType), frame);
        }

        Packets += received;
        Bytes += bytes;
    }

    /// <summary>
    /// RFC 8200 section 3: version 6, traffic class and flow label 0 (not delivered), payload
    /// length, next header GRE, hop limit 0 (not delivered), the sender and the destination.
    /// </summary>
    private void WriteIpv6Header(Span<byte> frame, int payloadLength, int index, in ReceivedControl control)
    {
        SocketAddressLayout.TryRead(_batch.SourceAddress(index, out var nameLength), nameLength, out var source, out _, out _);
        var destination = control.DestinationIpVersion != 0 ? control.Destination : _boundAddress;
        BinaryPrimitives.WriteUInt32BigEndian(frame, 0x6000_0000);
        BinaryPrimitives.WriteUInt16BigEndian(frame[4..], (ushort)payloadLength);
        frame[6] = ProtocolGre;
        frame[7] = 0;
        source.WriteBytes(frame[8..24], 6);
        destination.WriteBytes(frame[24..40], 6);
    }
}
