using System.Runtime.InteropServices;
using VtapCollector.Capture.Udp;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Live.Xdp;

/// <summary>
/// One AF_XDP socket reading one receive queue of an interface: the XDP program of
/// <see cref="XdpAttachment"/> redirects the queue's tunnel frames (UDP to the VXLAN and Geneve
/// ports) into it, straight from the driver, and leaves every other frame to the kernel. Frames
/// are handed to a struct handler as <see cref="LinkType.Ethernet"/>. Linux only (x86-64 and
/// arm64); needs CAP_NET_RAW, CAP_BPF and CAP_NET_ADMIN (and CAP_IPC_LOCK or a memlock limit that
/// holds the UMEM).
/// </summary>
/// <remarks>
/// <para>
/// Set-up follows the kernel's Documentation/networking/af_xdp.rst: socket(AF_XDP, SOCK_RAW, 0);
/// an anonymous mapping registered as the UMEM (XDP_UMEM_REG) in frames of FrameSizeBytes; the fill,
/// completion and receive rings sized by setsockopt and mapped at their page offsets
/// (XDP_MMAP_OFFSETS); every frame put in the fill ring; bind to (interface, queue) with
/// XDP_USE_NEED_WAKEUP and, unless configured, no copy flag, so the kernel tries zero-copy and
/// falls back to copy mode (XDP_OPTIONS then tells which). Everything is set up once; the receive
/// path allocates nothing.
/// </para>
/// <para>
/// <see cref="ReceiveBatch"/> reads the receive ring's producer (acquire), hands up to BatchSize
/// frames to the handler straight from the UMEM, then puts the same frames back in the fill ring
/// and advances the receive ring's consumer (release). The UMEM has exactly as many frames as the
/// fill ring has slots, so the fill ring always has room for what comes back. With nothing to
/// read it waits in poll(2), which also wakes a zero-copy driver that asked for it.
/// </para>
/// <para>
/// AF_XDP delivers no receive time stamp; a frame is stamped with the time its batch was read
/// (clock_gettime(CLOCK_REALTIME), once per batch).
/// </para>
/// </remarks>
public sealed unsafe class XdpSource : ILiveCaptureSource
{
    private const int StatisticsIntervalMilliseconds = 1000;
    private const int BindAttempts = 40;
    private const int BindRetryMilliseconds = 50;

    private readonly XdpSocketHandle _handle;
    private readonly XdpAttachment _attachment;
    private readonly byte* _umem;
    private readonly ulong _frameMask;
    private readonly int _batchSize;
    private readonly long _batchWaitNanoseconds;
    private readonly uint* _rxProducer;
    private readonly uint* _rxConsumer;
    private readonly XdpDescriptor* _rxRing;
    private readonly uint _rxMask;
    private readonly uint* _fillProducer;
    private readonly uint* _fillFlags;
    private readonly ulong* _fillRing;
    private readonly uint _fillMask;
    private uint _rxNext;
    private uint _fillNext;
    private long _statisticsDue;
    private long _kernelDrops;
    private long _fillRingEmpty;
    private long _invalidDescriptors;
    private int _disposed;

    private XdpSource(XdpSourceOptions options, XdpAttachment attachment, int queue)
    {
        Interface = options.Interface;
        Queue = queue;
        FrameSizeBytes = options.FrameSizeBytes;
        RingSize = options.RingSize;
        _batchSize = options.BatchSize;
        _batchWaitNanoseconds = options.BatchWaitMicroseconds * 1000L;
        _frameMask = ~(ulong)(options.FrameSizeBytes - 1);
        _attachment = attachment;
        _handle = OpenSocket(options.Interface);
        try
        {
            var descriptor = _handle.Descriptor;
            var frames = options.RingSize * 2;
            UmemBytes = (long)frames * options.FrameSizeBytes;
            _umem = MapUmem(descriptor, frames);
            SetRingSize(descriptor, XdpInterop.XdpUmemFillRing, frames, "size the fill ring");
            SetRingSize(descriptor, XdpInterop.XdpUmemCompletionRing, 64, "size the completion ring");
            SetRingSize(descriptor, XdpInterop.XdpRxRing, options.RingSize, "size the receive ring");

            XdpMmapOffsets offsets;
            var length = (uint)sizeof(XdpMmapOffsets);
            if (LinuxSocketInterop.GetSocketOption(descriptor, XdpInterop.SolXdp, XdpInterop.XdpMmapOffsets, &offsets, &length) != 0)
            {
                throw Failure("read the ring offsets", Marshal.GetLastPInvokeError());
            }

            var fill = MapRing(descriptor, offsets.Fill, frames, sizeof(ulong), XdpInterop.PageOffsetFillRing, "fill");
            _fillProducer = (uint*)(fill + offsets.Fill.Producer);
            _fillFlags = (uint*)(fill + offsets.Fill.Flags);
            _fillRing = (ulong*)(fill + offsets.Fill.Descriptors);
            _fillMask = (uint)frames - 1;
            _ = MapRing(descriptor, offsets.Completion, 64, sizeof(ulong), XdpInterop.PageOffsetCompletionRing, "completion");
            var rx = MapRing(descriptor, offsets.Rx, options.RingSize, sizeof(XdpDescriptor), XdpInterop.PageOffsetRxRing, "receive");
            _rxProducer = (uint*)(rx + offsets.Rx.Producer);
            _rxConsumer = (uint*)(rx + offsets.Rx.Consumer);
            _rxRing = (XdpDescriptor*)(rx + offsets.Rx.Descriptors);
            _rxMask = (uint)options.RingSize - 1;

            // Every frame starts in the fill ring, ready for the kernel to receive into.
            for (var i = 0; i < frames; i++)
            {
                _fillRing[i] = (ulong)i * (ulong)options.FrameSizeBytes;
            }

            _fillNext = (uint)frames;
            Volatile.Write(ref *_fillProducer, _fillNext);
            Bind(descriptor, options, queue);
            ZeroCopy = ReadZeroCopy(descriptor);
            attachment.AddSocket(queue, descriptor);
            attachment.AddReference();
        }
        catch
        {
            _handle.Dispose();
            throw;
        }

        _statisticsDue = Environment.TickCount64 + StatisticsIntervalMilliseconds;
    }

    /// <summary>The interface received on.</summary>
    public string Interface { get; }

    /// <summary>The receive queue this socket reads.</summary>
    public int Queue { get; }

    /// <summary>Bytes per UMEM frame.</summary>
    public int FrameSizeBytes { get; }

    /// <summary>Entries of the receive ring.</summary>
    public int RingSize { get; }

    /// <summary>Bytes of the UMEM.</summary>
    public long UmemBytes { get; }

    /// <summary>True when the driver receives straight into the UMEM (zero-copy), false in copy mode.</summary>
    public bool ZeroCopy { get; }

    /// <summary>The program and map these sockets share.</summary>
    public XdpAttachment Attachment => _attachment;

    /// <summary>The mode the XDP program runs in on the interface.</summary>
    public XdpAttachMode AttachMode => _attachment.AttachedMode;

    /// <summary>Frames delivered to the handler.</summary>
    public long Packets { get; private set; }

    /// <summary>Bytes delivered to the handler.</summary>
    public long Bytes { get; private set; }

    /// <summary>Always 0: a frame that does not fit a UMEM frame is dropped by the kernel (in <see cref="KernelDrops"/>), never cut.</summary>
    public long TruncatedPackets => 0;

    /// <summary>Frames the kernel redirected to this socket but dropped (XDP_STATISTICS rx_dropped + rx_ring_full + rx_invalid_descs), as of the last read.</summary>
    public long KernelDrops => Interlocked.Read(ref _kernelDrops);

    /// <summary>Times the kernel found the fill ring empty (rx_fill_ring_empty_descs): the reader fell behind; in copy mode each also counts as an rx_dropped drop.</summary>
    public long FillRingEmpty => Interlocked.Read(ref _fillRingEmpty);

    /// <summary>Invalid descriptors (rx_invalid_descs): frames lost to a malformed fill ring entry; always 0 unless the source has a bug.</summary>
    public long InvalidDescriptors => Interlocked.Read(ref _invalidDescriptors);

    /// <summary>
    /// Opens one socket per receive queue of the interface (or <see cref="XdpSourceOptions.Queues"/>),
    /// loads and attaches the redirect program, and returns the sockets; the program stays attached
    /// until the last of them is disposed. Run it in the interface's network namespace. Throws
    /// <see cref="ArgumentException"/> for invalid options and <see cref="LiveCaptureException"/>
    /// (one sentence) when the kernel refuses.
    /// </summary>
    public static IReadOnlyList<XdpSource> Open(XdpSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var invalid = options.Validate();
        if (invalid is not null)
        {
            throw new ArgumentException(invalid, nameof(options));
        }

        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            throw new PlatformNotSupportedException("The AF_XDP source uses Linux AF_XDP sockets and runs on Linux x86-64 and arm64 only.");
        }

        var index = InterfaceLookup.IndexOf(options.Interface);

        // Probe AF_XDP before loading anything, so a kernel without it or a missing CAP_NET_RAW is
        // the error reported, not a later step's.
        OpenSocket(options.Interface).Dispose();
        var queues = options.Queues > 0 ? options.Queues : XdpQueues.Count(options.Interface);
        var sources = new List<XdpSource>(queues);
        var attachment = new XdpAttachment(options.Interface, index, queues, options.Ports, options.RedirectGre);
        try
        {
            for (var queue = 0; queue < queues; queue++)
            {
                sources.Add(new XdpSource(options, attachment, queue));
            }

            attachment.Attach(options.AttachMode);
        }
        catch
        {
            foreach (var source in sources)
            {
                source.Dispose();
            }

            attachment.Dispose();
            throw;
        }

        // The sockets hold the attachment now; the last one to close detaches the program.
        attachment.Dispose();
        return sources;
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (0: do not wait, -1: forever) for frames,
    /// hands each (at most BatchSize) to <paramref name="handler"/> in arrival order and gives their
    /// buffers back to the kernel. Returns how many frames were delivered. Allocates nothing; the
    /// span points into the UMEM and is valid only during the call.
    /// </summary>
    public int ReceiveBatch<THandler>(ref THandler handler, int timeoutMilliseconds)
        where THandler : struct, IPacketHandler
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMilliseconds, -1);
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var available = Volatile.Read(ref *_rxProducer) - _rxNext;
            if (available == 0 && timeoutMilliseconds != 0 && Wait(timeoutMilliseconds))
            {
                available = Volatile.Read(ref *_rxProducer) - _rxNext;

                // Woken for less than a batch: let more gather, so a low rate does not cost one
                // wake-up per frame (a high rate never waits: the ring already holds a batch).
                if (available < (uint)_batchSize && _batchWaitNanoseconds > 0)
                {
                    Nap(_batchWaitNanoseconds);
                    available = Volatile.Read(ref *_rxProducer) - _rxNext;
                }
            }

            var delivered = available == 0 ? 0 : ReadBatch(ref handler, (int)Math.Min(available, (uint)_batchSize));
            if (Environment.TickCount64 >= _statisticsDue)
            {
                ReadStatistics();
            }

            return delivered;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Reads XDP_STATISTICS now into <see cref="KernelDrops"/>, <see cref="FillRingEmpty"/> and <see cref="InvalidDescriptors"/>. Safe from any thread.</summary>
    public void RefreshKernelStatistics()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            ReadStatistics();
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Closes the socket (after a receive in progress returns); the last socket of an interface detaches the program.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _handle.Dispose();
            _attachment.Release();
        }
    }

    private static void Nap(long nanoseconds)
    {
        var request = stackalloc long[2] { 0, nanoseconds };
        _ = XdpInterop.NanoSleep(request, null);
    }

    private static long UnixNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    private static XdpSocketHandle OpenSocket(string name)
    {
        var descriptor = LinuxSocketInterop.Socket(XdpInterop.AfXdp, LinuxSocketInterop.SockRaw | LinuxSocketInterop.SockCloexec, 0);
        if (descriptor >= 0)
        {
            return new XdpSocketHandle(descriptor);
        }

        var errno = Marshal.GetLastPInvokeError();
        var message = errno switch
        {
            LinuxSocketInterop.Eperm or LinuxSocketInterop.Eacces =>
                $"Receiving on interface '{name}' through AF_XDP needs the CAP_NET_RAW capability: run as root or grant it (systemd: the af-xdp.conf drop-in).",
            LinuxSocketInterop.Eafnosupport =>
                $"Cannot receive on interface '{name}' through AF_XDP: this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS, Linux 4.18 or later); use Sources:AfPacket instead.",
            _ => $"Cannot open an AF_XDP socket for interface '{name}': {LinuxSocketInterop.Describe(errno)} (errno {errno}).",
        };
        throw new LiveCaptureException(message) { ErrorNumber = errno };
    }

    private byte* MapUmem(int descriptor, int frames)
    {
        var length = (nuint)UmemBytes;
        var area = LinuxSocketInterop.Mmap(null, length, LinuxSocketInterop.ProtReadWrite, XdpInterop.MapPrivateAnonymous | XdpInterop.MapPopulate, -1, 0);
        if (area == (void*)-1)
        {
            throw Failure($"allocate a {UmemBytes / (1024 * 1024)} MiB UMEM", Marshal.GetLastPInvokeError());
        }

        _handle.AddMapping(area, length);
        var registration = new XdpUmemRegistration { Address = (ulong)area, Length = (ulong)length, ChunkSize = (uint)FrameSizeBytes };
        if (LinuxSocketInterop.SetSocketOption(descriptor, XdpInterop.SolXdp, XdpInterop.XdpUmemReg, &registration, (uint)sizeof(XdpUmemRegistration)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno is LinuxSocketInterop.Enomem or LinuxSocketInterop.Enobufs or LinuxSocketInterop.Eperm
                ? new LiveCaptureException($"Cannot lock the {UmemBytes / (1024 * 1024)} MiB UMEM of interface '{Interface}' queue {Queue} ({frames} frames) in memory: raise the memlock limit (systemd: LimitMEMLOCK=infinity, in the af-xdp.conf drop-in) or grant CAP_IPC_LOCK, or lower Sources:Xdp:RingSize.") { ErrorNumber = errno }
                : Failure("register the UMEM", errno);
        }

        return (byte*)area;
    }

    private void SetRingSize(int descriptor, int ring, int entries, string action)
    {
        if (LinuxSocketInterop.SetSocketOption(descriptor, XdpInterop.SolXdp, ring, &entries, sizeof(int)) != 0)
        {
            throw Failure(action, Marshal.GetLastPInvokeError());
        }
    }

    private byte* MapRing(int descriptor, in XdpRingOffset offset, int entries, int entryBytes, long pageOffset, string name)
    {
        var length = (nuint)(offset.Descriptors + ((ulong)entries * (ulong)entryBytes));
        var ring = LinuxSocketInterop.Mmap(null, length, LinuxSocketInterop.ProtReadWrite, LinuxSocketInterop.MapShared | XdpInterop.MapPopulate, descriptor, pageOffset);
        if (ring == (void*)-1)
        {
            throw Failure($"map the {name} ring", Marshal.GetLastPInvokeError());
        }

        _handle.AddMapping(ring, length);
        return (byte*)ring;
    }

    private void Bind(int descriptor, XdpSourceOptions options, int queue)
    {
        var flags = XdpInterop.XdpUseNeedWakeup | options.CopyMode switch
        {
            XdpCopyMode.Copy => XdpInterop.XdpCopy,
            XdpCopyMode.ZeroCopy => XdpInterop.XdpZeroCopy,
            _ => 0,
        };
        var address = new XdpSocketAddress
        {
            Family = XdpInterop.AfXdp,
            Flags = (ushort)flags,
            InterfaceIndex = LinuxSocketInterop.InterfaceIndex(options.Interface),
            QueueId = (uint)queue,
        };
        // A socket closed a moment ago (this collector's previous run, restarted at once) frees
        // its queue only when the kernel's deferred release has run: EBUSY is retried briefly.
        var errno = 0;
        for (var attempt = 0; attempt < BindAttempts; attempt++)
        {
            if (LinuxSocketInterop.Bind(descriptor, &address, (uint)sizeof(XdpSocketAddress)) == 0)
            {
                return;
            }

            errno = Marshal.GetLastPInvokeError();
            if (errno != XdpInterop.Ebusy)
            {
                break;
            }

            Thread.Sleep(BindRetryMilliseconds);
        }

        throw errno switch
        {
            XdpInterop.Ebusy => new LiveCaptureException($"Queue {queue} of interface '{Interface}' is already read by another AF_XDP socket (another collector or XDP tool): stop it first.") { ErrorNumber = errno },
            LinuxSocketInterop.Einval when queue > 0 => new LiveCaptureException($"Interface '{Interface}' has no receive queue {queue}: lower Sources:Xdp:Queues.") { ErrorNumber = errno },
            XdpInterop.Eopnotsupp or LinuxSocketInterop.Einval when options.CopyMode == XdpCopyMode.ZeroCopy => new LiveCaptureException($"The driver of interface '{Interface}' has no AF_XDP zero-copy support: set Sources:Xdp:CopyMode to Auto or Copy.") { ErrorNumber = errno },
            _ => Failure($"bind to queue {queue}", errno),
        };
    }

    private bool ReadZeroCopy(int descriptor)
    {
        uint options = 0;
        var length = (uint)sizeof(uint);
        return LinuxSocketInterop.GetSocketOption(descriptor, XdpInterop.SolXdp, XdpInterop.XdpOptions, &options, &length) == 0
            && (options & XdpInterop.XdpOptionsZeroCopy) != 0;
    }

    /// <summary>poll(2) for frames; false on timeout or signal.</summary>
    private bool Wait(int timeoutMilliseconds)
    {
        var poll = new PollDescriptor { Descriptor = _handle.Descriptor, Events = LinuxSocketInterop.PollIn };
        var ready = LinuxSocketInterop.Poll(&poll, 1, timeoutMilliseconds);
        if (ready == 0 || (poll.ReturnedEvents & LinuxSocketInterop.PollErr) != 0)
        {
            // A socket whose interface went away gets ENETDOWN as its error and then nothing, not
            // even a poll event: an idle wait checks, so a source that can receive no more fails
            // with a sentence instead of waiting for ever.
            TakeSocketError();
        }

        if (ready >= 0)
        {
            return ready > 0;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == LinuxSocketInterop.Eintr ? false : throw Failure("wait for frames (poll)", errno);
    }

    private void TakeSocketError()
    {
        if (!LinuxSocketInterop.TryTakeSocketError(_handle.Descriptor, out var error))
        {
            throw Failure("read the socket error", Marshal.GetLastPInvokeError());
        }

        if (error == LinuxSocketInterop.Enetdown)
        {
            throw new LiveCaptureException($"Interface '{Interface}' went away under the AF_XDP socket of queue {Queue}; restart the collector once it is back.") { ErrorNumber = error };
        }

        if (error != 0)
        {
            throw Failure("receive", error);
        }
    }

    private int ReadBatch<THandler>(ref THandler handler, int count)
        where THandler : struct, IPacketHandler
    {
        var timestamp = UnixNanos();
        var delivered = 0;
        long bytes = 0;
        try
        {
            for (; delivered < count; delivered++)
            {
                var descriptor = _rxRing[(_rxNext + (uint)delivered) & _rxMask];
                var length = (int)descriptor.Length;
                handler.OnPacket(new CapturedPacket(timestamp, length, LinkType.Ethernet), new ReadOnlySpan<byte>(_umem + descriptor.Address, length));
                bytes += length;
            }
        }
        finally
        {
            // Give every frame of the batch back, even if the handler threw, so the rings never
            // stall: the fill ring's producer is published (release) after the addresses are
            // written, and the receive ring's consumer after the frames were read.
            for (uint i = 0; i < (uint)count; i++)
            {
                _fillRing[(_fillNext + i) & _fillMask] = _rxRing[(_rxNext + i) & _rxMask].Address & _frameMask;
            }

            _fillNext += (uint)count;
            Volatile.Write(ref *_fillProducer, _fillNext);
            _rxNext += (uint)count;
            Volatile.Write(ref *_rxConsumer, _rxNext);
            Packets += delivered;
            Bytes += bytes;

            // A zero-copy driver that ran out of buffers waits to be told the fill ring has more
            // (af_xdp.rst, "XDP_USE_NEED_WAKEUP"); copy mode never sets the flag.
            if ((Volatile.Read(ref *_fillFlags) & XdpInterop.XdpRingNeedWakeup) != 0)
            {
                _ = XdpInterop.ReceiveFrom(_handle.Descriptor, null, 0, LinuxSocketInterop.MsgDontwait, null, null);
            }
        }

        return delivered;
    }

    private void ReadStatistics()
    {
        _statisticsDue = Environment.TickCount64 + StatisticsIntervalMilliseconds;
        XdpStatistics statistics;
        var length = (uint)sizeof(XdpStatistics);
        if (LinuxSocketInterop.GetSocketOption(_handle.Descriptor, XdpInterop.SolXdp, XdpInterop.XdpStatistics, &statistics, &length) != 0)
        {
            throw Failure("read the socket's statistics", Marshal.GetLastPInvokeError());
        }

        // Cumulative since the socket opened: stored, not added.
        Interlocked.Exchange(ref _kernelDrops, (long)(statistics.RxDropped + statistics.RxRingFull + statistics.RxInvalidDescriptors));
        Interlocked.Exchange(ref _fillRingEmpty, (long)statistics.RxFillRingEmpty);
        Interlocked.Exchange(ref _invalidDescriptors, (long)statistics.RxInvalidDescriptors);
    }

    private LiveCaptureException Failure(string action, int errno) =>
        new($"Cannot {action} on the AF_XDP socket of interface '{Interface}' queue {Queue}: {LinuxSocketInterop.Describe(errno)} (errno {errno}).")
        {
            ErrorNumber = errno,
        };
}
