using System.Runtime.InteropServices;
using VtapCollector.Capture.Udp;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Live;

/// <summary>
/// Captures live traffic on one interface through libpcap (libpcap.so.0.8) with a pcap-filter(7)
/// expression, and hands each packet to a struct handler. The portable alternative to
/// <see cref="AfPacketSource"/>: any interface libpcap opens (including <c>any</c>), any filter
/// expression, the link type the interface has. Needs CAP_NET_RAW on Linux.
/// </summary>
/// <remarks>
/// <para>
/// Opening follows pcap(3PCAP): pcap_create, the pcap_set_* options (nanosecond timestamps when
/// libpcap offers them), pcap_activate, then pcap_compile and pcap_setfilter, pcap_setdirection(IN)
/// (frames this host sends are not mirror traffic), and non-blocking mode.
/// </para>
/// <para>
/// <see cref="ReceiveBatch"/> takes up to <see cref="PcapLiveSourceOptions.BatchSize"/> packets with
/// pcap_next_ex, which hands out each packet straight from libpcap's buffer (no copy, no callback,
/// so the struct handler is called directly). When nothing is ready it waits in poll(2) on
/// pcap_get_selectable_fd. One thread receives; libpcap handles are not thread-safe, so
/// <see cref="RefreshKernelStatistics"/> belongs to that thread too.
/// </para>
/// <para>
/// When the interface goes down, receives time out empty; the capture resumes by itself when the
/// interface is back up (the socket stays bound to it).
/// </para>
/// </remarks>
public sealed unsafe class PcapLiveSource : ILiveCaptureSource
{
    private const int StatisticsIntervalMilliseconds = 1000;

    private readonly PcapHandle _handle;
    private readonly int _descriptor;
    private readonly int _batchSize;
    private readonly long _fractionToNanoseconds;
    private long _statisticsDue;
    private PcapStatistics _lastStatistics;
    private bool _disposed;

    /// <summary>
    /// Opens and activates the capture and installs the filter. Run it in the network namespace of
    /// the interface (setns(2) moves only the calling thread; the capture then stays in that
    /// namespace whichever thread reads it). Throws <see cref="ArgumentException"/> for invalid
    /// options and <see cref="LiveCaptureException"/> (one sentence) when libpcap refuses.
    /// </summary>
    public PcapLiveSource(PcapLiveSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var invalid = options.Validate();
        if (invalid is not null)
        {
            throw new ArgumentException(invalid, nameof(options));
        }

        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            throw new PlatformNotSupportedException("The libpcap source uses poll(2) on libpcap's descriptor and runs on Linux x86-64 and arm64 only.");
        }

        Interface = options.Interface;
        Filter = options.Filter;
        _batchSize = options.BatchSize;
        _handle = Create(options.Interface);
        try
        {
            var pcap = _handle.Pcap;
            Check(PcapInterop.SetSnapLength(pcap, options.SnapLength), "set the snap length");
            Check(PcapInterop.SetPromiscuous(pcap, options.Promiscuous ? 1 : 0), "set promiscuous mode");
            Check(PcapInterop.SetTimeout(pcap, options.TimeoutMilliseconds), "set the buffer timeout");
            Check(PcapInterop.SetImmediateMode(pcap, options.ImmediateMode ? 1 : 0), "set immediate mode");
            Check(PcapInterop.SetBufferSize(pcap, options.BufferSizeBytes), "set the buffer size");

            // Refused (PCAP_ERROR_TSTAMP_PRECISION_NOTSUP) where the platform has only microseconds.
            _ = PcapInterop.SetTimestampPrecision(pcap, PcapInterop.TimestampPrecisionNano);
            ActivationWarning = Activate(pcap, options.Interface);
            TimestampsInNanoseconds = PcapInterop.GetTimestampPrecision(pcap) == PcapInterop.TimestampPrecisionNano;
            _fractionToNanoseconds = TimestampsInNanoseconds ? 1 : 1000;
            LinkType = MapDataLink(PcapInterop.DataLink(pcap), options.Interface);
            InstallFilter(pcap, options.Filter);
            Check(PcapInterop.SetDirection(pcap, PcapInterop.DirectionIn), "select received packets only");
            SetNonBlocking(pcap);
            _descriptor = PcapInterop.GetSelectableDescriptor(pcap);
            if (_descriptor < 0)
            {
                throw new LiveCaptureException($"Interface '{Interface}' cannot be waited on: libpcap offers no selectable descriptor for it.");
            }
        }
        catch
        {
            _handle.Dispose();
            throw;
        }

        _statisticsDue = Environment.TickCount64 + StatisticsIntervalMilliseconds;
    }

    /// <summary>The interface captured on.</summary>
    public string Interface { get; }

    /// <summary>The filter installed.</summary>
    public string Filter { get; }

    /// <summary>The interface's link type, which every <see cref="CapturedPacket"/> carries.</summary>
    public LinkType LinkType { get; }

    /// <summary>True when libpcap delivers nanosecond timestamps; false when only microseconds.</summary>
    public bool TimestampsInNanoseconds { get; }

    /// <summary>The warning pcap_activate gave (for example, promiscuous mode not supported), as a sentence; null when there was none.</summary>
    public string? ActivationWarning { get; }

    /// <summary>Packets delivered to the handler.</summary>
    public long Packets { get; private set; }

    /// <summary>Bytes delivered to the handler (captured bytes).</summary>
    public long Bytes { get; private set; }

    /// <summary>Packets delivered shorter than they were on the wire (longer than the snap length).</summary>
    public long TruncatedPackets { get; private set; }

    /// <summary>Packets that passed the filter, dropped ones included (pcap_stats ps_recv, as of the last refresh).</summary>
    public long KernelPackets { get; private set; }

    /// <summary>
    /// Packets lost before they reached the handler: those that found the kernel buffer full
    /// (ps_drop) plus those the interface itself dropped (ps_ifdrop, see <see cref="InterfaceDrops"/>).
    /// As of the last refresh.
    /// </summary>
    public long KernelDrops { get; private set; }

    /// <summary>Packets the interface dropped while the capture was open (ps_ifdrop): all of the interface's traffic, not only what the filter matches.</summary>
    public long InterfaceDrops { get; private set; }

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (0: do not wait, -1: forever) for packets
    /// and calls <paramref name="handler"/> for each, up to a batch, in arrival order. Returns how
    /// many were delivered; 0 when none arrived in time (or a signal interrupted the wait, or the
    /// source was disposed). Allocates nothing; the span passed to the handler points into
    /// libpcap's buffer and is valid only during the call.
    /// </summary>
    public int ReceiveBatch<THandler>(ref THandler handler, int timeoutMilliseconds)
        where THandler : struct, IPacketHandler
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMilliseconds, -1);
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var pcap = _handle.Pcap;

            // Under load packets are already buffered: take them first, and poll only when there were none.
            var delivered = Take(ref handler, pcap);
            if (delivered == 0 && timeoutMilliseconds != 0)
            {
                // Readable is not yet delivered: libpcap filters in user space what reached its ring before
                // the kernel filter was attached (a fresh interface's IPv6 neighbour discovery), so wait
                // again, within the same time, until something passes.
                var deadline = timeoutMilliseconds < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMilliseconds;
                var wait = timeoutMilliseconds;
                while (delivered == 0 && Wait(wait))
                {
                    delivered = Take(ref handler, pcap);
                    if (timeoutMilliseconds >= 0)
                    {
                        var left = deadline - Environment.TickCount64;
                        if (left <= 0)
                        {
                            break;
                        }

                        wait = (int)left;
                    }
                }
            }

            if (Environment.TickCount64 >= _statisticsDue)
            {
                ReadStatistics(pcap);
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

    /// <summary>Reads pcap_stats now into <see cref="KernelPackets"/>, <see cref="KernelDrops"/> and <see cref="InterfaceDrops"/>. Call it from the receiving thread.</summary>
    public void RefreshKernelStatistics()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            ReadStatistics(_handle.Pcap);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Breaks a receive in progress (pcap_breakloop) and closes the capture (pcap_close, once that receive has returned).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            PcapInterop.BreakLoop(_handle.Pcap);
        }
        catch (ObjectDisposedException)
        {
            // Already closed: nothing to break.
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }

        _handle.Dispose();
    }

    private static PcapHandle Create(string name)
    {
        var errors = stackalloc byte[PcapInterop.ErrorBufferSize];
        errors[0] = 0;
        nint pcap;
        try
        {
            pcap = PcapInterop.Create(name, errors);
        }
        catch (DllNotFoundException error)
        {
            throw new LiveCaptureException($"Cannot capture on interface '{name}': libpcap is not installed (install the Debian package libpcap0.8, which provides {PcapInterop.Library}).", error);
        }

        return pcap != 0
            ? new PcapHandle(pcap)
            : throw new LiveCaptureException($"Cannot capture on interface '{name}' with libpcap: {PcapInterop.Text(errors)}.");
    }

    private static string? Activate(nint pcap, string name)
    {
        var status = PcapInterop.Activate(pcap);
        if (status == 0)
        {
            return null;
        }

        var detail = PcapInterop.Text(PcapInterop.GetError(pcap));
        if (status > 0)
        {
            return status switch
            {
                PcapInterop.WarningPromiscuousNotSupported => $"Interface '{name}' does not support promiscuous mode; capturing without it.",
                PcapInterop.WarningTimestampTypeNotSupported => $"Interface '{name}' does not support the requested time stamp type; using its default.",
                _ => $"libpcap warns about interface '{name}': {Trim(detail, status)}.",
            };
        }

        var message = status switch
        {
            PcapInterop.ErrorNoSuchDevice => $"Interface '{name}' does not exist.",
            PcapInterop.ErrorPermissionDenied =>
                $"Capturing on interface '{name}' with libpcap needs the CAP_NET_RAW capability: run as root or grant it (systemd: AmbientCapabilities=CAP_NET_RAW).",
            PcapInterop.ErrorPromiscuousPermissionDenied =>
                $"Interface '{name}' cannot be put in promiscuous mode: permission denied (run as root, or turn Promiscuous off).",
            PcapInterop.ErrorInterfaceNotUp => $"Interface '{name}' is down: bring it up (ip link set {name} up) before capturing.",
            _ => $"Cannot capture on interface '{name}' with libpcap: {Trim(detail, status)}.",
        };
        throw new LiveCaptureException(message) { PcapStatus = status };
    }

    /// <summary>libpcap's text without its trailing period, or the status name when it left no text.</summary>
    private static string Trim(string detail, int status) =>
        detail.Length > 0 ? detail.TrimEnd('.', ' ', '\n') : PcapInterop.Text(PcapInterop.StatusToString(status));

    /// <summary>
    /// Maps pcap_datalink's DLT_ value to the link type the decoder takes. DLT_ and LINKTYPE_ values
    /// agree for all of these except raw IP, which is DLT_RAW 12 (14 on OpenBSD) but LINKTYPE_RAW 101.
    /// </summary>
    private static LinkType MapDataLink(int dataLink, string name) => dataLink switch
    {
        0 => LinkType.Null,
        1 => LinkType.Ethernet,
        12 or 14 or 101 => LinkType.Raw,
        113 => LinkType.LinuxSll,
        228 => LinkType.Ipv4,
        229 => LinkType.Ipv6,
        276 => LinkType.LinuxSll2,
        _ => throw new LiveCaptureException($"Interface '{name}' has link type DLT {dataLink}, which the collector cannot decode (it reads Ethernet, Linux cooked, raw IP and BSD loopback)."),
    };

    private void InstallFilter(nint pcap, string filter)
    {
        BpfProgram program;
        if (PcapInterop.Compile(pcap, &program, filter, 1, PcapInterop.NetmaskUnknown) != 0)
        {
            throw new LiveCaptureException($"The capture filter '{filter}' is invalid: {Trim(PcapInterop.Text(PcapInterop.GetError(pcap)), PcapInterop.Error)}.") { PcapStatus = PcapInterop.Error };
        }

        try
        {
            // The kernel keeps its own copy; the compiled program is freed at once.
            if (PcapInterop.SetFilter(pcap, &program) != 0)
            {
                throw new LiveCaptureException($"Cannot attach the capture filter '{filter}' to interface '{Interface}': {Trim(PcapInterop.Text(PcapInterop.GetError(pcap)), PcapInterop.Error)}.") { PcapStatus = PcapInterop.Error };
            }
        }
        finally
        {
            PcapInterop.FreeCode(&program);
        }
    }

    private void SetNonBlocking(nint pcap)
    {
        var errors = stackalloc byte[PcapInterop.ErrorBufferSize];
        errors[0] = 0;
        if (PcapInterop.SetNonBlocking(pcap, 1, errors) != 0)
        {
            throw new LiveCaptureException($"Cannot make the capture on interface '{Interface}' non-blocking: {PcapInterop.Text(errors)}.") { PcapStatus = PcapInterop.Error };
        }
    }

    private void Check(int status, string action)
    {
        if (status != 0)
        {
            var detail = status == PcapInterop.Error ? PcapInterop.Text(PcapInterop.GetError(_handle.Pcap)) : "";
            throw new LiveCaptureException($"Cannot {action} for the capture on interface '{Interface}': {Trim(detail, status)}.") { PcapStatus = status };
        }
    }

    /// <summary>Delivers up to a batch of the packets libpcap has ready, without waiting.</summary>
    private int Take<THandler>(ref THandler handler, nint pcap)
        where THandler : struct, IPacketHandler
    {
        var delivered = 0;
        long bytes = 0;
        try
        {
            while (delivered < _batchSize)
            {
                PcapPacketHeader* header;
                byte* data;
                var result = PcapInterop.NextEx(pcap, &header, &data);
                if (result != 1)
                {
                    if (result is 0 or PcapInterop.ErrorBreak)
                    {
                        break;
                    }

                    throw new LiveCaptureException($"Capturing on interface '{Interface}' failed: {Trim(PcapInterop.Text(PcapInterop.GetError(pcap)), result)}.") { PcapStatus = result };
                }

                var captured = (int)Math.Min(header->CapturedLength, int.MaxValue);
                var length = (int)Math.Min(header->Length, int.MaxValue);
                if (captured < length)
                {
                    TruncatedPackets++;
                }

                var timestamp = (header->Seconds * 1_000_000_000L) + (header->Fraction * _fractionToNanoseconds);
                handler.OnPacket(new CapturedPacket(timestamp, length, LinkType), new ReadOnlySpan<byte>(data, captured));
                bytes += captured;
                delivered++;
            }
        }
        finally
        {
            Packets += delivered;
            Bytes += bytes;
        }

        return delivered;
    }

    /// <summary>poll(2) on libpcap's descriptor, resumed after a signal. Returns false on timeout or an interface-down report.</summary>
    private bool Wait(int timeoutMilliseconds)
    {
        var deadline = timeoutMilliseconds < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMilliseconds;
        while (true)
        {
            var descriptor = new PollDescriptor { Descriptor = _descriptor, Events = LinuxSocketInterop.PollIn };
            var ready = LinuxSocketInterop.Poll(&descriptor, 1, timeoutMilliseconds);
            if (ready > 0)
            {
                return (descriptor.ReturnedEvents & LinuxSocketInterop.PollErr) == 0 || TakeSocketError();
            }

            if (ready == 0)
            {
                return false;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != LinuxSocketInterop.Eintr)
            {
                throw new LiveCaptureException($"Waiting for packets on interface '{Interface}' failed: poll: {LinuxSocketInterop.Describe(errno)} (errno {errno}).") { ErrorNumber = errno };
            }

            // A signal (the runtime suspends threads for a garbage collection with one) cut the wait
            // short: poll(2) does not restart, so wait out the rest of the time.
            if (timeoutMilliseconds >= 0)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return false;
                }

                timeoutMilliseconds = (int)left;
            }
        }
    }

    /// <summary>
    /// Reads (and so clears) the pending error of libpcap's packet socket, which poll reports as
    /// POLLERR until someone reads it. libpcap usually takes it first (pcap_next_ex polls the
    /// socket itself); when this wait sees it instead, ENETDOWN (the interface went down) is not a
    /// failure: the socket stays bound and the capture resumes when the interface is back up.
    /// </summary>
    private bool TakeSocketError()
    {
        if (!LinuxSocketInterop.TryTakeSocketError(_descriptor, out var error) || error == 0)
        {
            return true;
        }

        return error == LinuxSocketInterop.Enetdown
            ? false
            : throw new LiveCaptureException($"Capturing on interface '{Interface}' failed: {LinuxSocketInterop.Describe(error)} (errno {error}).") { ErrorNumber = error };
    }

    /// <summary>pcap_stats counts from activation in 32 bits: add the differences, so the totals survive the wrap.</summary>
    private void ReadStatistics(nint pcap)
    {
        _statisticsDue = Environment.TickCount64 + StatisticsIntervalMilliseconds;
        PcapStatistics statistics;
        if (PcapInterop.Stats(pcap, &statistics) != 0)
        {
            throw new LiveCaptureException($"Cannot read the capture statistics of interface '{Interface}': {Trim(PcapInterop.Text(PcapInterop.GetError(pcap)), PcapInterop.Error)}.") { PcapStatus = PcapInterop.Error };
        }

        var interfaceDrops = unchecked(statistics.InterfaceDrops - _lastStatistics.InterfaceDrops);
        KernelPackets += unchecked(statistics.Received - _lastStatistics.Received);
        KernelDrops += unchecked(statistics.Drops - _lastStatistics.Drops) + (long)interfaceDrops;
        InterfaceDrops += interfaceDrops;
        _lastStatistics = statistics;
    }
}
