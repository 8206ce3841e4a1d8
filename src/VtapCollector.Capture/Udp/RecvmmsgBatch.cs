using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VtapCollector.Capture.Udp;

/// <summary>What recvmmsg(2) reported for one message of a batch, as <see cref="RecvmmsgBatch.Read"/> found it.</summary>
internal readonly struct ReceivedMessage
{
    /// <summary>The bytes kept: the message's length, capped at the batch's maximum payload.</summary>
    public readonly int Length;

    /// <summary>True when the message was longer than the buffer and was cut (MSG_TRUNC).</summary>
    public readonly bool Truncated;

    /// <summary>Receive time in nanoseconds since the Unix epoch: the kernel's, else the wall clock read once per batch.</summary>
    public readonly long TimestampNanos;

    /// <summary>True when <see cref="TimestampNanos"/> came from the kernel (SO_TIMESTAMPNS or SO_TIMESTAMP).</summary>
    public readonly bool TimestampFromKernel;

    /// <summary>The ancillary data the message carried (timestamp, SO_RXQ_OVFL drop counter, pktinfo destination).</summary>
    public readonly ReceivedControl Control;

    /// <summary>Makes one message's result.</summary>
    public ReceivedMessage(int length, bool truncated, long timestampNanos, bool timestampFromKernel, in ReceivedControl control)
    {
        Length = length;
        Truncated = truncated;
        TimestampNanos = timestampNanos;
        TimestampFromKernel = timestampFromKernel;
        Control = control;
    }
}

/// <summary>
/// The buffers and message headers of one socket's recvmmsg(2) batch receive, allocated once:
/// one non-blocking recvmmsg, poll(2) for readability only when nothing was queued, and per message
/// its kept length, truncation, receive time and control messages. Allocates nothing per call.
/// </summary>
/// <remarks>
/// Everything recvmmsg needs (64-byte mmsghdr, iovec, sockaddr and control slots, and the payload
/// buffers) lives in one block of native memory allocated in the constructor and freed by
/// <see cref="Dispose"/>: it never moves. Each payload slot starts with <c>headroom</c> bytes the
/// kernel does not write, where an owner may put a header of its own in front of the message, and
/// is rounded up to 64 bytes. One thread uses a batch at a time.
/// </remarks>
internal sealed unsafe class RecvmmsgBatch : IDisposable
{
    private const long UnixEpochTicks = 621_355_968_000_000_000L;

    private readonly int _batchSize;
    private readonly int _maxPayloadBytes;
    private readonly int _headroom;
    private readonly int _slot;
    private readonly int _controlSlot;
    private byte* _memory;
    private MultiMessageHeader* _messages;
    private byte* _data;
    private int _lastReceived;

    /// <summary>
    /// Allocates room for <paramref name="batchSize"/> messages of up to
    /// <paramref name="maxPayloadBytes"/>, each with <paramref name="headroom"/> bytes in front and a
    /// control buffer of <paramref name="controlSlot"/> bytes (room for every control message one
    /// message can carry: CMSG_SPACE of each).
    /// </summary>
    public RecvmmsgBatch(int batchSize, int maxPayloadBytes, int headroom, int controlSlot)
    {
        _batchSize = batchSize;
        _maxPayloadBytes = maxPayloadBytes;
        _headroom = headroom;
        _controlSlot = controlSlot;
        _slot = (headroom + maxPayloadBytes + 63) & ~63;
        Allocate();
    }

    ~RecvmmsgBatch() => Free();

    /// <summary>
    /// Takes up to a batch with one non-blocking recvmmsg(2); when none was queued and
    /// <paramref name="timeoutMilliseconds"/> is not 0, waits for readability (-1: forever) and tries
    /// once more. Returns how many messages arrived, 0 when none in time (or a signal interrupted the
    /// wait), or -1 with <paramref name="failedCall"/> and <paramref name="errno"/> set.
    /// </summary>
    public int Receive(SafeSocketHandle handle, int timeoutMilliseconds, out string? failedCall, out int errno)
    {
        var added = false;
        try
        {
            // Holding a reference keeps the descriptor number from being closed and reused under us.
            handle.DangerousAddRef(ref added);
            var descriptor = (int)handle.DangerousGetHandle();

            // Under load messages are already queued: try first, and poll only when there were none.
            var received = ReceiveOnce(descriptor, out errno);
            if (received == 0 && timeoutMilliseconds != 0)
            {
                var ready = WaitReadable(descriptor, timeoutMilliseconds, out errno);
                if (ready <= 0)
                {
                    failedCall = ready < 0 ? "poll" : null;
                    return ready;
                }

                received = ReceiveOnce(descriptor, out errno);
            }

            failedCall = received < 0 ? "recvmmsg" : null;
            return received;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }

            GC.KeepAlive(this);
        }
    }

    /// <summary>
    /// Message <paramref name="index"/> of the last batch. <paramref name="wallClock"/> starts at 0 for
    /// each batch and is read from the clock at most once, for the messages that came without a
    /// kernel timestamp.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReceivedMessage Read(int index, ref long wallClock)
    {
        ref var message = ref _messages[index];
        var length = (int)Math.Min(message.Length, (uint)_maxPayloadBytes);
        var truncated = (message.Header.Flags & LinuxSocketInterop.MsgTrunc) != 0;
        var control = ControlMessageReader.Read(new ReadOnlySpan<byte>(message.Header.Control, (int)Math.Min(message.Header.ControlLength, (nuint)_controlSlot)));
        var timestamp = control.TimestampNanos;
        var fromKernel = timestamp != 0;
        if (!fromKernel)
        {
            if (wallClock == 0)
            {
                wallClock = (DateTime.UtcNow.Ticks - UnixEpochTicks) * 100;
            }

            timestamp = wallClock;
        }

        return new ReceivedMessage(length, truncated, timestamp, fromKernel, in control);
    }

    /// <summary>The sender's address of message <paramref name="index"/> as the kernel wrote it (msg_name, msg_namelen).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> SourceAddress(int index, out int length)
    {
        ref var header = ref _messages[index].Header;
        length = (int)header.NameLength;
        return new ReadOnlySpan<byte>(header.Name, SocketAddressLayout.Slot);
    }

    /// <summary>The start of message <paramref name="index"/>'s slot: the headroom, then the payload.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Slot(int index) => _data + ((nint)index * _slot);

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Allocate()
    {
        var headers = (nuint)(_batchSize * sizeof(MultiMessageHeader));
        var iovecs = (nuint)(_batchSize * sizeof(IoVector));
        var names = (nuint)(_batchSize * SocketAddressLayout.Slot);
        var controls = (nuint)(_batchSize * _controlSlot);
        var data = (nuint)_batchSize * (nuint)_slot;
        var total = headers + iovecs + names + controls + data;
        _memory = (byte*)NativeMemory.AlignedAlloc(total, 64);
        NativeMemory.Clear(_memory, total);
        _messages = (MultiMessageHeader*)_memory;
        var iov = (IoVector*)(_memory + headers);
        var nameSlots = _memory + headers + iovecs;
        var controlSlots = nameSlots + names;
        _data = controlSlots + controls;
        for (var i = 0; i < _batchSize; i++)
        {
            iov[i].Base = _data + ((nint)i * _slot) + _headroom;
            iov[i].Length = (nuint)_maxPayloadBytes;
            ref var header = ref _messages[i].Header;
            header.Name = nameSlots + (i * SocketAddressLayout.Slot);
            header.Iov = iov + i;
            header.IovLength = 1;
            header.Control = controlSlots + (i * _controlSlot);
        }

        _lastReceived = _batchSize;
    }

    private void Free()
    {
        if (_memory != null)
        {
            NativeMemory.AlignedFree(_memory);
            _memory = null;
            _messages = null;
        }
    }

    /// <summary>One non-blocking recvmmsg(2). Returns 0 when nothing is queued, -1 with <paramref name="errno"/> on failure.</summary>
    private int ReceiveOnce(int descriptor, out int errno)
    {
        // The kernel overwrote the lengths and flags of the headers it filled last time.
        for (var i = 0; i < _lastReceived; i++)
        {
            ref var header = ref _messages[i].Header;
            header.NameLength = SocketAddressLayout.Slot;
            header.ControlLength = (nuint)_controlSlot;
            header.Flags = 0;
            _messages[i].Length = 0;
        }

        _lastReceived = 0;
        errno = 0;
        var received = LinuxSocketInterop.RecvMmsg(descriptor, _messages, (uint)_batchSize, LinuxSocketInterop.MsgDontwait, null);
        if (received >= 0)
        {
            _lastReceived = received;
            return received;
        }

        errno = Marshal.GetLastPInvokeError();
        return errno is LinuxSocketInterop.Eagain or LinuxSocketInterop.Eintr ? 0 : -1;
    }

    /// <summary>poll(2) for readability: 1 when readable, 0 on timeout or when a signal interrupted the wait, -1 with <paramref name="errno"/> on failure.</summary>
    private static int WaitReadable(int descriptor, int timeoutMilliseconds, out int errno)
    {
        errno = 0;
        var poll = new PollDescriptor { Descriptor = descriptor, Events = LinuxSocketInterop.PollIn };
        var ready = LinuxSocketInterop.Poll(&poll, 1, timeoutMilliseconds);
        if (ready >= 0)
        {
            return ready > 0 ? 1 : 0;
        }

        errno = Marshal.GetLastPInvokeError();
        return errno == LinuxSocketInterop.Eintr ? 0 : -1;
    }
}
