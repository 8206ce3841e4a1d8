using System.Runtime.InteropServices;

namespace VtapCollector.Capture.Live.Xdp;

/// <summary>
/// The Linux calls, constants and structures behind the AF_XDP source: the bpf(2) system call
/// (maps, program load, XDP links; linux/bpf.h), AF_XDP sockets with their UMEM and rings
/// (linux/if_xdp.h, described in the kernel's Documentation/networking/af_xdp.rst) and the ethtool
/// ioctl that reports an interface's queue count (linux/ethtool.h). The calls every live source
/// shares (socket(2), setsockopt(2), bind(2), mmap(2), poll(2), if_nametoindex(3)) and the common
/// errno values are in <see cref="Udp.LinuxSocketInterop"/>.
/// </summary>
/// <remarks>
/// Layouts are those of the LP64 Linux ABI (x86-64 and arm64 agree on every structure here);
/// offsets were checked against the uapi headers with offsetof. The bpf(2) attribute is a 144-byte
/// union; each command fills only its own fields at their offsets, the rest stays zero as the
/// kernel requires.
/// </remarks>
internal static unsafe partial class XdpInterop
{
    /// <summary>address_families(7) AF_XDP.</summary>
    public const int AfXdp = 44;

    /// <summary>Socket option level SOL_XDP.</summary>
    public const int SolXdp = 283;

    /// <summary>XDP_MMAP_OFFSETS: struct xdp_mmap_offsets, where each ring's producer, consumer, flags and descriptors lie in its mapping.</summary>
    public const int XdpMmapOffsets = 1;

    /// <summary>XDP_RX_RING: entries of the receive ring.</summary>
    public const int XdpRxRing = 2;

    /// <summary>XDP_UMEM_REG: struct xdp_umem_reg, registers the packet buffer area.</summary>
    public const int XdpUmemReg = 4;

    /// <summary>XDP_UMEM_FILL_RING: entries of the fill ring (frames handed to the kernel to receive into).</summary>
    public const int XdpUmemFillRing = 5;

    /// <summary>XDP_UMEM_COMPLETION_RING: entries of the completion ring (bind requires one even for receive only).</summary>
    public const int XdpUmemCompletionRing = 6;

    /// <summary>XDP_STATISTICS: struct xdp_statistics, cumulative (not reset on read).</summary>
    public const int XdpStatistics = 7;

    /// <summary>XDP_OPTIONS: struct xdp_options, whether the socket runs zero-copy.</summary>
    public const int XdpOptions = 8;

    /// <summary>sockaddr_xdp flag XDP_COPY: force copy mode.</summary>
    public const ushort XdpCopy = 1 << 1;

    /// <summary>sockaddr_xdp flag XDP_ZEROCOPY: zero-copy or fail.</summary>
    public const ushort XdpZeroCopy = 1 << 2;

    /// <summary>sockaddr_xdp flag XDP_USE_NEED_WAKEUP: the driver sets XDP_RING_NEED_WAKEUP on the fill ring instead of polling it in a loop (af_xdp.rst, "XDP_USE_NEED_WAKEUP bind flag").</summary>
    public const ushort XdpUseNeedWakeup = 1 << 3;

    /// <summary>XDP_RING_NEED_WAKEUP in a ring's flags word.</summary>
    public const uint XdpRingNeedWakeup = 1;

    /// <summary>XDP_OPTIONS_ZEROCOPY in struct xdp_options.</summary>
    public const uint XdpOptionsZeroCopy = 1;

    /// <summary>mmap offset of the receive ring (XDP_PGOFF_RX_RING).</summary>
    public const long PageOffsetRxRing = 0;

    /// <summary>mmap offset of the fill ring (XDP_UMEM_PGOFF_FILL_RING).</summary>
    public const long PageOffsetFillRing = 0x100000000;

    /// <summary>mmap offset of the completion ring (XDP_UMEM_PGOFF_COMPLETION_RING).</summary>
    public const long PageOffsetCompletionRing = 0x180000000;

    /// <summary>XDP_PACKET_HEADROOM: bytes the kernel keeps before the frame in every chunk, so a frame is at most chunk size minus this.</summary>
    public const int XdpPacketHeadroom = 256;

    /// <summary>bpf(2) BPF_MAP_CREATE.</summary>
    public const int BpfMapCreate = 0;

    /// <summary>bpf(2) BPF_MAP_UPDATE_ELEM.</summary>
    public const int BpfMapUpdateElement = 2;

    /// <summary>bpf(2) BPF_PROG_LOAD.</summary>
    public const int BpfProgramLoad = 5;

    /// <summary>bpf(2) BPF_PROG_TEST_RUN: runs a loaded program on a given packet without attaching it.</summary>
    public const int BpfProgramTestRun = 10;

    /// <summary>bpf(2) BPF_LINK_CREATE.</summary>
    public const int BpfLinkCreate = 28;

    /// <summary>bpf_map_type BPF_MAP_TYPE_XSKMAP: AF_XDP sockets by index.</summary>
    public const int MapTypeXskMap = 17;

    /// <summary>bpf_prog_type BPF_PROG_TYPE_XDP.</summary>
    public const int ProgramTypeXdp = 6;

    /// <summary>bpf_attach_type BPF_XDP: the attach type of an XDP link.</summary>
    public const int AttachTypeXdp = 37;

    /// <summary>XDP_FLAGS_SKB_MODE: generic XDP, run by the kernel's stack after the driver built the skb; any interface.</summary>
    public const uint XdpFlagsSkbMode = 1 << 1;

    /// <summary>XDP_FLAGS_DRV_MODE: native XDP, run by the driver before any skb exists.</summary>
    public const uint XdpFlagsDriverMode = 1 << 2;

    /// <summary>ioctl SIOCETHTOOL.</summary>
    public const int SiocEthtool = 0x8946;

    /// <summary>ethtool ETHTOOL_GCHANNELS: struct ethtool_channels.</summary>
    public const uint EthtoolGetChannels = 0x3c;

    /// <summary>mmap(2) MAP_PRIVATE | MAP_ANONYMOUS.</summary>
    public const int MapPrivateAnonymous = 0x02 | 0x20;

    /// <summary>mmap(2) MAP_POPULATE: fault the pages in now, not on the first packets.</summary>
    public const int MapPopulate = 0x8000;

    public const int Enoent = 2;
    public const int Ebusy = 16;
    public const int Eexist = 17;
    public const int Enospc = 28;
    public const int Erange = 34;
    public const int Enosys = 38;
    public const int Eopnotsupp = 95;

    /// <summary>The bpf(2) system call number of this architecture (asm/unistd.h).</summary>
    public static long BpfSystemCall => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 280 : 321;

    /// <summary>syscall(2), for bpf(2), which glibc does not wrap.</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long SystemCall(long number, long command, void* attribute, long size);

    [LibraryImport("libc", EntryPoint = "recvfrom", SetLastError = true)]
    public static partial nint ReceiveFrom(int socket, void* buffer, nuint length, int flags, void* address, void* addressLength);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int descriptor, nuint request, void* argument);

    /// <summary>nanosleep(2): <c>struct timespec { long tv_sec; long tv_nsec; }</c>, 16 bytes on LP64.</summary>
    [LibraryImport("libc", EntryPoint = "nanosleep", SetLastError = true)]
    public static partial int NanoSleep(long* request, long* remaining);

    /// <summary>bpf(2) with a 144-byte attribute; returns the result (a descriptor for the creating commands) or -1 and errno.</summary>
    public static int Bpf(int command, BpfAttribute* attribute) =>
        (int)SystemCall(BpfSystemCall, command, attribute, sizeof(BpfAttribute));
}

/// <summary><c>union bpf_attr</c>: 144 bytes, filled field by field at the offsets of the command in use.</summary>
[StructLayout(LayoutKind.Sequential, Size = 144)]
internal unsafe struct BpfAttribute
{
    private fixed byte _bytes[144];

    public void Write32(int offset, uint value)
    {
        fixed (byte* start = _bytes)
        {
            *(uint*)(start + offset) = value;
        }
    }

    public void Write64(int offset, ulong value)
    {
        fixed (byte* start = _bytes)
        {
            *(ulong*)(start + offset) = value;
        }
    }

    public readonly uint Read32(int offset)
    {
        fixed (byte* start = _bytes)
        {
            return *(uint*)(start + offset);
        }
    }

    /// <summary>Writes an object name (map_name, prog_name: 16 bytes, NUL-terminated, letters, digits, '_' and '.').</summary>
    public void WriteName(int offset, string name)
    {
        fixed (byte* start = _bytes)
        {
            for (var i = 0; i < name.Length && i < 15; i++)
            {
                start[offset + i] = (byte)name[i];
            }
        }
    }
}

/// <summary><c>struct xdp_umem_reg</c> (linux/if_xdp.h), 24 bytes as first defined (the kernel accepts this size).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct XdpUmemRegistration
{
    /// <summary>addr: start of the packet buffer area (page aligned).</summary>
    [FieldOffset(0)]
    public ulong Address;

    /// <summary>len: its length.</summary>
    [FieldOffset(8)]
    public ulong Length;

    /// <summary>chunk_size: bytes per frame buffer, a power of two from 2048 to the page size.</summary>
    [FieldOffset(16)]
    public uint ChunkSize;

    /// <summary>headroom: bytes user space reserves before each frame (0).</summary>
    [FieldOffset(20)]
    public uint Headroom;
}

/// <summary><c>struct xdp_ring_offset</c>: where in a ring's mapping its producer, consumer, descriptors and flags lie.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct XdpRingOffset
{
    [FieldOffset(0)]
    public ulong Producer;

    [FieldOffset(8)]
    public ulong Consumer;

    [FieldOffset(16)]
    public ulong Descriptors;

    [FieldOffset(24)]
    public ulong Flags;
}

/// <summary><c>struct xdp_mmap_offsets</c>: rx, tx, fill and completion rings, in that order.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct XdpMmapOffsets
{
    [FieldOffset(0)]
    public XdpRingOffset Rx;

    [FieldOffset(32)]
    public XdpRingOffset Tx;

    [FieldOffset(64)]
    public XdpRingOffset Fill;

    [FieldOffset(96)]
    public XdpRingOffset Completion;
}

/// <summary><c>struct xdp_desc</c>, 16 bytes: a received frame's address in the UMEM and its length.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct XdpDescriptor
{
    [FieldOffset(0)]
    public ulong Address;

    [FieldOffset(8)]
    public uint Length;

    [FieldOffset(12)]
    public uint Options;
}

/// <summary><c>struct sockaddr_xdp</c>, 16 bytes: which interface and queue the socket receives from.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct XdpSocketAddress
{
    [FieldOffset(0)]
    public ushort Family;

    [FieldOffset(2)]
    public ushort Flags;

    [FieldOffset(4)]
    public uint InterfaceIndex;

    [FieldOffset(8)]
    public uint QueueId;

    [FieldOffset(12)]
    public uint SharedUmemDescriptor;
}

/// <summary><c>struct xdp_statistics</c>, 48 bytes, cumulative since the socket opened.</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal struct XdpStatistics
{
    /// <summary>rx_dropped: frames dropped for other reasons (no free buffer in copy mode, longer than a buffer).</summary>
    [FieldOffset(0)]
    public ulong RxDropped;

    /// <summary>rx_invalid_descs: frames dropped on an invalid descriptor.</summary>
    [FieldOffset(8)]
    public ulong RxInvalidDescriptors;

    /// <summary>rx_ring_full: frames dropped because the receive ring was full.</summary>
    [FieldOffset(24)]
    public ulong RxRingFull;

    /// <summary>rx_fill_ring_empty_descs: times the kernel found no buffer in the fill ring.</summary>
    [FieldOffset(32)]
    public ulong RxFillRingEmpty;
}

/// <summary><c>struct ethtool_channels</c> (linux/ethtool.h), 36 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 36)]
internal struct EthtoolChannels
{
    [FieldOffset(0)]
    public uint Command;

    [FieldOffset(20)]
    public uint RxCount;

    [FieldOffset(32)]
    public uint CombinedCount;
}

/// <summary><c>struct ifreq</c> for SIOCETHTOOL, 40 bytes: the interface name and a pointer to the ethtool command.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal unsafe struct InterfaceRequest
{
    [FieldOffset(0)]
    public fixed byte Name[16];

    [FieldOffset(16)]
    public void* Data;
}
