using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using VtapCollector.Capture.Udp;

namespace VtapCollector.Capture;

/// <summary>
/// Sends datagrams to one destination in batches: <see cref="TryAdd"/> copies a payload into a
/// buffer allocated once, <see cref="Flush"/> sends everything added with sendmmsg(2) calls of
/// up to <see cref="BatchSize"/> datagrams. The counterpart of <see cref="UdpTunnelReceiver"/>,
/// for load generation and tests. Linux only (x86-64 and arm64).
/// </summary>
/// <remarks>
/// The socket is not connected: a connected UDP socket turns the ICMP port-unreachable of a
/// receiver that is not running yet into ECONNREFUSED on a later send, which would stop a load
/// generator for nothing. Each message names the destination instead (one shared sockaddr).
/// </remarks>
public sealed unsafe class UdpDatagramSender : IDisposable
{
    /// <summary>Largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header).</summary>
    public const int MaxIpv4Payload = 65_507;

    /// <summary>Largest UDP payload over IPv6 without jumbograms: 65535 - 8 (UDP header).</summary>
    public const int MaxIpv6Payload = 65_527;

    /// <summary>How long sending may make no progress (send buffer full, ENOBUFS) before it fails.</summary>
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly SafeSocketHandle _handle;
    private readonly int _arenaBytes;
    private byte* _memory;
    private MultiMessageHeader* _messages;
    private IoVector* _iov;
    private byte* _arena;
    private int _used;
    private bool _disposed;

    /// <param name="destination">Where every datagram goes.</param>
    /// <param name="batchSize">Datagrams per sendmmsg(2) call (1 to 1024).</param>
    /// <param name="bufferBytes">Room for the payloads of one batch (at least one largest datagram).</param>
    /// <param name="sendBufferBytes">SO_SNDBUF asked for (capped by net.core.wmem_max).</param>
    public UdpDatagramSender(IPEndPoint destination, int batchSize = 64, int bufferBytes = 1024 * 1024, int sendBufferBytes = 4 * 1024 * 1024)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, MaxIpv6Payload);
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            throw new PlatformNotSupportedException("The UDP sender uses Linux sendmmsg(2) and runs on Linux x86-64 and arm64 only.");
        }

        Destination = destination;
        BatchSize = batchSize;
        MaxPayloadBytes = destination.AddressFamily == AddressFamily.InterNetwork ? MaxIpv4Payload : MaxIpv6Payload;
        _arenaBytes = bufferBytes;
        try
        {
            _socket = new Socket(destination.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        }
        catch (SocketException error)
        {
            throw new UdpSocketException($"Cannot open a UDP socket to send to {destination}: {error.Message}.", error) { ErrorNumber = error.ErrorCode };
        }

        try
        {
            _socket.SendBufferSize = sendBufferBytes;
        }
        catch (SocketException)
        {
            // A smaller send buffer only means more waits for room; not worth failing for.
        }

        _handle = _socket.SafeHandle;
        var headers = (nuint)(batchSize * sizeof(MultiMessageHeader));
        var iovecs = (nuint)(batchSize * sizeof(IoVector));
        var total = headers + iovecs + SocketAddressLayout.Slot + (nuint)bufferBytes;
        _memory = (byte*)NativeMemory.AlignedAlloc(total, 64);
        NativeMemory.Clear(_memory, total);
        _messages = (MultiMessageHeader*)_memory;
        _iov = (IoVector*)(_memory + headers);
        var name = _memory + headers + iovecs;
        _arena = name + SocketAddressLayout.Slot;
        var nameLength = SocketAddressLayout.Write(destination, new Span<byte>(name, SocketAddressLayout.Slot));
        for (var i = 0; i < batchSize; i++)
        {
            ref var header = ref _messages[i].Header;
            header.Name = name;
            header.NameLength = (uint)nameLength;
            header.Iov = _iov + i;
            header.IovLength = 1;
        }
    }

    ~UdpDatagramSender() => Free();

    /// <summary>Where datagrams go.</summary>
    public IPEndPoint Destination { get; }

    /// <summary>Datagrams per sendmmsg(2) call.</summary>
    public int BatchSize { get; }

    /// <summary>Largest payload one datagram to <see cref="Destination"/> can carry.</summary>
    public int MaxPayloadBytes { get; }

    /// <summary>Datagrams added and not sent yet.</summary>
    public int Pending { get; private set; }

    /// <summary>Datagrams sent.</summary>
    public long Datagrams { get; private set; }

    /// <summary>Payload bytes sent.</summary>
    public long Bytes { get; private set; }

    /// <summary>sendmmsg(2) calls that sent something.</summary>
    public long SendCalls { get; private set; }

    /// <summary>Times sending waited for room in the socket's send buffer or the interface queue.</summary>
    public long Waits { get; private set; }

    /// <summary>
    /// Copies <paramref name="payload"/> into the pending batch. False when the batch is full (by
    /// count or bytes): <see cref="Flush"/> and add again. A payload longer than
    /// <see cref="MaxPayloadBytes"/> is an argument error.
    /// </summary>
    public bool TryAdd(ReadOnlySpan<byte> payload)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, MaxPayloadBytes, nameof(payload));
        if (Pending == BatchSize || _arenaBytes - _used < payload.Length)
        {
            return false;
        }

        var destination = _arena + _used;
        payload.CopyTo(new Span<byte>(destination, payload.Length));
        _iov[Pending].Base = destination;
        _iov[Pending].Length = (nuint)payload.Length;
        _used += (payload.Length + 7) & ~7;
        Pending++;
        return true;
    }

    /// <summary>
    /// Sends every pending datagram, in order, waiting for room when the send buffer is full.
    /// Throws <see cref="UdpSocketException"/> when the kernel refuses (no route, message too
    /// long, ...) or makes no progress for 10 seconds.
    /// </summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var descriptor = (int)_handle.DangerousGetHandle();
            var sent = 0;
            long stalledSince = 0;
            while (sent < Pending)
            {
                var count = LinuxSocketInterop.SendMmsg(descriptor, _messages + sent, (uint)(Pending - sent), 0);
                if (count > 0)
                {
                    for (var i = sent; i < sent + count; i++)
                    {
                        Bytes += _messages[i].Length;
                    }

                    sent += count;
                    Datagrams += count;
                    SendCalls++;
                    stalledSince = 0;
                    continue;
                }

                var errno = count < 0 ? Marshal.GetLastPInvokeError() : LinuxSocketInterop.Eagain;
                if (errno == LinuxSocketInterop.Eintr)
                {
                    continue;
                }

                if (errno is not (LinuxSocketInterop.Eagain or LinuxSocketInterop.Enobufs or LinuxSocketInterop.Enomem))
                {
                    throw new UdpSocketException($"Sending to {Destination} failed: sendmmsg: {LinuxSocketInterop.Describe(errno)} (errno {errno}).") { ErrorNumber = errno };
                }

                if (stalledSince == 0)
                {
                    stalledSince = Stopwatch.GetTimestamp();
                }
                else if (Stopwatch.GetElapsedTime(stalledSince) > StallLimit)
                {
                    throw new UdpSocketException($"Sending to {Destination} made no progress for {StallLimit.TotalSeconds} s: {LinuxSocketInterop.Describe(errno)}.") { ErrorNumber = errno };
                }

                Waits++;
                WaitForRoom(descriptor, errno);
            }
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }

            Pending = 0;
            _used = 0;
            GC.KeepAlive(this);
        }
    }

    /// <summary>Closes the socket and frees the buffers; pending datagrams are dropped.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _socket.Dispose();
        Free();
        GC.SuppressFinalize(this);
    }

    private static void WaitForRoom(int descriptor, int errno)
    {
        if (errno == LinuxSocketInterop.Eagain)
        {
            var poll = new PollDescriptor { Descriptor = descriptor, Events = LinuxSocketInterop.PollOut };
            _ = LinuxSocketInterop.Poll(&poll, 1, 100);
        }
        else
        {
            // ENOBUFS/ENOMEM: the socket looks writable, the queue below it is not; back off briefly.
            Thread.Sleep(1);
        }
    }

    private void Free()
    {
        if (_memory != null)
        {
            NativeMemory.AlignedFree(_memory);
            _memory = null;
            _messages = null;
            _iov = null;
            _arena = null;
        }
    }
}
