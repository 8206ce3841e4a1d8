using System.Runtime.InteropServices;

namespace VtapCollector.Capture.Live;

/// <summary>
/// The libpcap calls behind <see cref="PcapLiveSource"/> (pcap(3PCAP), libpcap 1.10 as Debian 12's
/// libpcap0.8 ships it). Bound to the runtime library's soname, libpcap.so.0.8, so only the
/// runtime package is needed, not libpcap-dev (which adds the unversioned libpcap.so).
/// </summary>
/// <remarks>
/// A <c>pcap_t*</c> is passed as <see cref="nint"/>: the caller holds a reference on its
/// <see cref="PcapHandle"/> around every call, rather than the marshaller taking one per call.
/// Structures follow the LP64 ABI.
/// </remarks>
internal static unsafe partial class PcapInterop
{
    /// <summary>The soname of libpcap 0.8-1.x on Debian and Ubuntu.</summary>
    public const string Library = "libpcap.so.0.8";

    /// <summary>PCAP_ERRBUF_SIZE.</summary>
    public const int ErrorBufferSize = 256;

    /// <summary>PCAP_NETMASK_UNKNOWN: pcap_compile's netmask when it is not known (only "ip broadcast" needs it).</summary>
    public const uint NetmaskUnknown = 0xffffffff;

    /// <summary>PCAP_TSTAMP_PRECISION_MICRO.</summary>
    public const int TimestampPrecisionMicro = 0;

    /// <summary>PCAP_TSTAMP_PRECISION_NANO: the pcap_pkthdr's tv_usec holds nanoseconds.</summary>
    public const int TimestampPrecisionNano = 1;

    /// <summary>PCAP_D_IN: only frames this host received (pcap_setdirection).</summary>
    public const int DirectionIn = 1;

    /// <summary>PCAP_ERROR: generic error, pcap_geterr has the text.</summary>
    public const int Error = -1;

    /// <summary>PCAP_ERROR_BREAK: pcap_breakloop was called.</summary>
    public const int ErrorBreak = -2;

    /// <summary>PCAP_ERROR_NO_SUCH_DEVICE.</summary>
    public const int ErrorNoSuchDevice = -5;

    /// <summary>PCAP_ERROR_PERM_DENIED: no permission to open the capture source.</summary>
    public const int ErrorPermissionDenied = -8;

    /// <summary>PCAP_ERROR_IFACE_NOT_UP.</summary>
    public const int ErrorInterfaceNotUp = -9;

    /// <summary>PCAP_ERROR_PROMISC_PERM_DENIED.</summary>
    public const int ErrorPromiscuousPermissionDenied = -11;

    /// <summary>PCAP_WARNING: generic warning, pcap_geterr has the text.</summary>
    public const int Warning = 1;

    /// <summary>PCAP_WARNING_PROMISC_NOTSUP.</summary>
    public const int WarningPromiscuousNotSupported = 2;

    /// <summary>PCAP_WARNING_TSTAMP_TYPE_NOTSUP.</summary>
    public const int WarningTimestampTypeNotSupported = 3;

    [LibraryImport(Library, EntryPoint = "pcap_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint Create(string source, byte* errorBuffer);

    [LibraryImport(Library, EntryPoint = "pcap_set_snaplen")]
    public static partial int SetSnapLength(nint pcap, int snapLength);

    [LibraryImport(Library, EntryPoint = "pcap_set_promisc")]
    public static partial int SetPromiscuous(nint pcap, int promiscuous);

    [LibraryImport(Library, EntryPoint = "pcap_set_timeout")]
    public static partial int SetTimeout(nint pcap, int milliseconds);

    [LibraryImport(Library, EntryPoint = "pcap_set_immediate_mode")]
    public static partial int SetImmediateMode(nint pcap, int immediate);

    [LibraryImport(Library, EntryPoint = "pcap_set_buffer_size")]
    public static partial int SetBufferSize(nint pcap, int bytes);

    [LibraryImport(Library, EntryPoint = "pcap_set_tstamp_precision")]
    public static partial int SetTimestampPrecision(nint pcap, int precision);

    [LibraryImport(Library, EntryPoint = "pcap_get_tstamp_precision")]
    public static partial int GetTimestampPrecision(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_activate")]
    public static partial int Activate(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_geterr")]
    public static partial byte* GetError(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_statustostr")]
    public static partial byte* StatusToString(int status);

    [LibraryImport(Library, EntryPoint = "pcap_compile", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Compile(nint pcap, BpfProgram* program, string expression, int optimize, uint netmask);

    [LibraryImport(Library, EntryPoint = "pcap_setfilter")]
    public static partial int SetFilter(nint pcap, BpfProgram* program);

    [LibraryImport(Library, EntryPoint = "pcap_freecode")]
    public static partial void FreeCode(BpfProgram* program);

    [LibraryImport(Library, EntryPoint = "pcap_setdirection")]
    public static partial int SetDirection(nint pcap, int direction);

    [LibraryImport(Library, EntryPoint = "pcap_setnonblock")]
    public static partial int SetNonBlocking(nint pcap, int nonBlocking, byte* errorBuffer);

    [LibraryImport(Library, EntryPoint = "pcap_get_selectable_fd")]
    public static partial int GetSelectableDescriptor(nint pcap);

    /// <summary>1: a packet (header and data valid until the next call); 0: none ready (non-blocking); PCAP_ERROR, PCAP_ERROR_BREAK.</summary>
    [LibraryImport(Library, EntryPoint = "pcap_next_ex")]
    public static partial int NextEx(nint pcap, PcapPacketHeader** header, byte** data);

    [LibraryImport(Library, EntryPoint = "pcap_datalink")]
    public static partial int DataLink(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_stats")]
    public static partial int Stats(nint pcap, PcapStatistics* statistics);

    [LibraryImport(Library, EntryPoint = "pcap_breakloop")]
    public static partial void BreakLoop(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_close")]
    public static partial void Close(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_lib_version")]
    public static partial byte* LibraryVersion();

    /// <summary>A C string from libpcap, or "" for null.</summary>
    public static string Text(byte* text) => text == null ? "" : Marshal.PtrToStringUTF8((nint)text) ?? "";
}

/// <summary><c>struct bpf_program</c>, 16 bytes: <c>{ u_int bf_len; /* 4 bytes padding */ struct bpf_insn *bf_insns; }</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct BpfProgram
{
    [FieldOffset(0)]
    public uint Length;

    [FieldOffset(8)]
    public BpfInstruction* Instructions;
}

/// <summary>
/// <c>struct pcap_pkthdr</c>, 24 bytes: <c>{ struct timeval ts; bpf_u_int32 caplen; bpf_u_int32 len; }</c>; with
/// nanosecond precision ts.tv_usec holds nanoseconds.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct PcapPacketHeader
{
    /// <summary>ts.tv_sec.</summary>
    [FieldOffset(0)]
    public long Seconds;

    /// <summary>ts.tv_usec: microseconds, or nanoseconds with PCAP_TSTAMP_PRECISION_NANO.</summary>
    [FieldOffset(8)]
    public long Fraction;

    /// <summary>caplen: bytes captured.</summary>
    [FieldOffset(16)]
    public uint CapturedLength;

    /// <summary>len: the packet's length on the wire.</summary>
    [FieldOffset(20)]
    public uint Length;
}

/// <summary>
/// <c>struct pcap_stat</c> (Linux), 12 bytes: <c>{ u_int ps_recv; u_int ps_drop; u_int ps_ifdrop; }</c>. The
/// counts run from the handle's activation and wrap at 2^32.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
internal struct PcapStatistics
{
    /// <summary>ps_recv: packets that passed the filter, dropped ones included.</summary>
    [FieldOffset(0)]
    public uint Received;

    /// <summary>ps_drop: packets that passed the filter but found the kernel's buffer full.</summary>
    [FieldOffset(4)]
    public uint Drops;

    /// <summary>ps_ifdrop: packets the interface dropped (all of its traffic, not only this capture's).</summary>
    [FieldOffset(8)]
    public uint InterfaceDrops;
}

/// <summary>
/// Owns a <c>pcap_t*</c>; releasing it calls pcap_close. Reference counted as a
/// <see cref="SafeHandle"/>, so disposing the source while another thread is inside a receive
/// defers pcap_close until that receive returns.
/// </summary>
internal sealed class PcapHandle : SafeHandle
{
    public PcapHandle(nint pcap)
        : base(0, ownsHandle: true) => SetHandle(pcap);

    public override bool IsInvalid => handle == 0;

    /// <summary>The <c>pcap_t*</c>.</summary>
    public nint Pcap => handle;

    protected override bool ReleaseHandle()
    {
        PcapInterop.Close(handle);
        return true;
    }
}
