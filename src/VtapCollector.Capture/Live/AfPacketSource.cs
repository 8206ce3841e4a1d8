using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VtapCollector.Capture.Udp;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Live;

/// <summary>
/// Captures the tunnel traffic (UDP to the VXLAN and Geneve ports) arriving on one network
/// interface through an AF_PACKET socket and its TPACKET_V3 memory-mapped receive ring, and hands
/// each frame to a struct handler as <see cref="LinkType.Ethernet"/>. Linux only (x86-64 and arm64);
/// needs CAP_NET_RAW.
/// </summary>
/// <remarks>
/// <para>
/// Set-up follows the kernel's Documentation/networking/packet_mmap.rst: socket(AF_PACKET,
/// SOCK_RAW, 0) (protocol 0 receives nothing until bind, so no frame slips in before the filter),
/// PACKET_VERSION = TPACKET_V3, PACKET_RESERVE = 4 (room to put back a VLAN tag, below),
/// SO_ATTACH_FILTER with the program of <see cref="TunnelPortFilter"/>, PACKET_IGNORE_OUTGOING
/// (frames this host sends are not mirror traffic; on loopback each frame would otherwise arrive
/// twice), PACKET_RX_RING with a tpacket_req3, mmap of the ring, bind to ETH_P_ALL on the interface,
/// then PACKET_FANOUT and PACKET_ADD_MEMBERSHIP (promiscuous) when asked for.
/// </para>
/// <para>
/// The kernel fills one block at a time and marks it TP_STATUS_USER when it is full or its retire
/// timeout expires. <see cref="ReceiveBatch"/> reads the next block in ring order: it walks the
/// block's tpacket3_hdr chain, delivers every frame straight from the ring (no copy) and writes
/// TP_STATUS_KERNEL back to return the block. When the next block is not ready it waits in
/// poll(2). One thread receives; for more, open several sources in one fanout group.
/// </para>
/// <para>
/// On receive the kernel takes the outermost VLAN tag out of the frame and reports it beside it
/// (TP_STATUS_VLAN_VALID, tp_vlan_tci, tp_vlan_tpid). Like libpcap, the source puts the tag back
/// (in the 4 bytes PACKET_RESERVE keeps free before the frame), so a frame is delivered as it was
/// on the wire, and its original length counts the tag.
/// </para>
/// <para>
/// PACKET_STATISTICS resets on every read, so the source accumulates it into
/// <see cref="KernelPackets"/>, <see cref="KernelDrops"/> and <see cref="KernelFreezeCount"/>: at
/// most once a second while receiving, and on <see cref="RefreshKernelStatistics"/>.
/// </para>
/// </remarks>
public sealed unsafe class AfPacketSource : ILiveCaptureSource
{
    /// <summary>Bytes of an 802.1Q / 802.1ad tag: TPID and TCI.</summary>
    private const int VlanTagLength = 4;

    /// <summary>Destination and source MAC addresses, which the restored tag follows.</summary>
    private const int MacAddressesLength = 12;

    private const int StatisticsIntervalMilliseconds = 1000;

    private readonly PacketRingHandle _handle;
    private readonly byte* _ring;
    private readonly int _blockSize;
    private int _nextBlock;
    private long _statisticsDue;
    private long _kernelPackets;
    private long _kernelDrops;
    private long _kernelFreezeCount;
    private bool _disposed;

    /// <summary>
    /// Opens the socket, attaches the filter, maps the ring and binds to the interface. Run it in the
    /// network namespace of the interface (setns(2) moves only the calling thread; the socket then
    /// stays in that namespace whichever thread reads it). Throws <see cref="ArgumentException"/>
    /// for invalid options and <see cref="LiveCaptureException"/> (one sentence) when the kernel
    /// refuses.
    /// </summary>
    public AfPacketSource(AfPacketSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var invalid = options.Validate();
        if (invalid is not null)
        {
            throw new ArgumentException(invalid, nameof(options));
        }

        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            throw new PlatformNotSupportedException("The AF_PACKET source uses Linux packet sockets and runs on Linux x86-64 and arm64 only.");
        }

        Interface = options.Interface;
        BlockSizeBytes = options.BlockSizeBytes;
        BlockCount = options.BlockCount;
        FanoutGroup = options.FanoutGroup;
        _blockSize = options.BlockSizeBytes;
        InterfaceIndex = InterfaceLookup.IndexOf(options.Interface);
        _handle = OpenSocket(options.Interface);
        try
        {
            var descriptor = _handle.Descriptor;
            SetPacketOption(descriptor, PacketSocketInterop.PacketVersion, PacketSocketInterop.TpacketV3, "select TPACKET_V3");
            SetPacketOption(descriptor, PacketSocketInterop.PacketReserve, VlanTagLength, "reserve room for VLAN tags");
            AttachFilter(descriptor, TunnelPortFilter.Build(options.Ports, options.Gre));

            // Linux 4.20 and later drop outgoing frames in the kernel, which saves their copies; the
            // receive loop still skips frames marked PACKET_OUTGOING, because older kernels deliver
            // them, and so does a fanout group, whose shared hook does not carry the member's
            // PACKET_IGNORE_OUTGOING (seen on lo: every frame came twice).
            _ = TrySetPacketOption(descriptor, PacketSocketInterop.PacketIgnoreOutgoing, 1);
            _ring = MapRing(descriptor, options);
            Bind(descriptor);
            if (options.FanoutGroup is { } group)
            {
                JoinFanout(descriptor, group, options.FanoutMode);
            }

            if (options.Promiscuous)
            {
                EnterPromiscuousMode(descriptor);
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

    /// <summary>Its index in its network namespace.</summary>
    public int InterfaceIndex { get; }

    /// <summary>Bytes per ring block.</summary>
    public int BlockSizeBytes { get; }

    /// <summary>Blocks in the ring.</summary>
    public int BlockCount { get; }

    /// <summary>The fanout group joined, or null.</summary>
    public int? FanoutGroup { get; }

    /// <summary>Frames delivered to the handler.</summary>
    public long Packets { get; private set; }

    /// <summary>Bytes delivered to the handler (captured bytes, restored VLAN tags included).</summary>
    public long Bytes { get; private set; }

    /// <summary>Ring blocks read and returned to the kernel.</summary>
    public long Blocks { get; private set; }

    /// <summary>Frames delivered shorter than they arrived (longer than a block).</summary>
    public long TruncatedPackets { get; private set; }

    /// <summary>Times the interface went down under the socket (the kernel reported ENETDOWN); capture resumes when it comes back up.</summary>
    public long InterfaceDownEvents { get; private set; }

    /// <summary>Frames that passed the filter, dropped ones included (PACKET_STATISTICS tp_packets, accumulated).</summary>
    public long KernelPackets => Interlocked.Read(ref _kernelPackets);

    /// <summary>Frames that passed the filter but found the ring full (PACKET_STATISTICS tp_drops, accumulated).</summary>
    public long KernelDrops => Interlocked.Read(ref _kernelDrops);

    /// <summary>Times the ring filled up and the kernel froze it until a block came back (tp_freeze_q_cnt, accumulated).</summary>
    public long KernelFreezeCount => Interlocked.Read(ref _kernelFreezeCount);

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (0: do not wait, -1: forever) for the next
    /// ring block, calls <paramref name="handler"/> for each of its frames in arrival order and
    /// returns the block to the kernel. Returns how many frames were delivered; 0 when no block
    /// was ready in time (or a signal interrupted the wait). Allocates nothing; the span passed to
    /// the handler points into the ring and is valid only during the call.
    /// </summary>
    public int ReceiveBatch<THandler>(ref THandler handler, int timeoutMilliseconds)
        where THandler : struct, IPacketHandler
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMilliseconds, -1);
        var added = false;
        try
        {
            // Holding a reference keeps the ring mapped and the descriptor open until we are done.
            _handle.DangerousAddRef(ref added);
            var block = _ring + ((nint)_nextBlock * _blockSize);
            var delivered = 0;
            if (IsReady(block) || (timeoutMilliseconds != 0 && Wait(timeoutMilliseconds) && IsReady(block)))
            {
                delivered = ReadBlock(ref handler, block);
            }

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

    /// <summary>
    /// Reads PACKET_STATISTICS now and adds it to <see cref="KernelPackets"/>,
    /// <see cref="KernelDrops"/> and <see cref="KernelFreezeCount"/> (the kernel resets its counters
    /// on every read). Safe to call from any thread.
    /// </summary>
    public void RefreshKernelStatistics()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
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

    /// <summary>Unmaps the ring and closes the socket (after a receive in progress on another thread returns).</summary>
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }

    private static bool IsReady(byte* block) =>
        (Volatile.Read(ref ((TpacketBlockDescriptor*)block)->BlockStatus) & PacketSocketInterop.TpStatusUser) != 0;

    private static PacketRingHandle OpenSocket(string name)
    {
        var descriptor = LinuxSocketInterop.Socket(PacketSocketInterop.AfPacket, LinuxSocketInterop.SockRaw | LinuxSocketInterop.SockCloexec, 0);
        if (descriptor >= 0)
        {
            return new PacketRingHandle(descriptor);
        }

        var errno = Marshal.GetLastPInvokeError();
        var message = errno switch
        {
            LinuxSocketInterop.Eperm or LinuxSocketInterop.Eacces =>
                $"Capturing on interface '{name}' needs the CAP_NET_RAW capability for an AF_PACKET socket: run as root or grant it (systemd: AmbientCapabilities=CAP_NET_RAW).",
            LinuxSocketInterop.Eafnosupport =>
                $"Cannot capture on interface '{name}': this kernel has no AF_PACKET sockets (CONFIG_PACKET).",
            _ => $"Cannot open an AF_PACKET socket for interface '{name}': {LinuxSocketInterop.Describe(errno)} (errno {errno}).",
        };
        throw new LiveCaptureException(message) { ErrorNumber = errno };
    }

    private static bool TrySetPacketOption(int descriptor, int option, int value) =>
        LinuxSocketInterop.SetSocketOption(descriptor, PacketSocketInterop.SolPacket, option, &value, sizeof(int)) == 0;

    private void SetPacketOption(int descriptor, int option, int value, string purpose)
    {
        if (!TrySetPacketOption(descriptor, option, value))
        {
            throw Failure(purpose, Marshal.GetLastPInvokeError());
        }
    }

    private void AttachFilter(int descriptor, BpfInstruction[] program)
    {
        fixed (BpfInstruction* instructions = program)
        {
            // The kernel copies the program; the array need not outlive the call.
            var filter = new SocketFilterProgram { Length = (ushort)program.Length, Filter = instructions };
            if (LinuxSocketInterop.SetSocketOption(descriptor, LinuxSocketInterop.SolSocket, PacketSocketInterop.SoAttachFilter, &filter, (uint)sizeof(SocketFilterProgram)) != 0)
            {
                throw Failure("attach the tunnel port filter", Marshal.GetLastPInvokeError());
            }
        }
    }

    private byte* MapRing(int descriptor, AfPacketSourceOptions options)
    {
        var request = new TpacketRequest3
        {
            BlockSize = (uint)options.BlockSizeBytes,
            BlockCount = (uint)options.BlockCount,
            FrameSize = (uint)options.FrameSizeBytes,
            FrameCount = (uint)(options.BlockSizeBytes / options.FrameSizeBytes * options.BlockCount),
            RetireBlockTimeout = (uint)options.BlockTimeoutMilliseconds,
        };
        var length = (nuint)options.BlockSizeBytes * (nuint)options.BlockCount;
        var megabytes = length / (1024 * 1024);
        if (LinuxSocketInterop.SetSocketOption(descriptor, PacketSocketInterop.SolPacket, PacketSocketInterop.PacketRxRing, &request, (uint)sizeof(TpacketRequest3)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno == LinuxSocketInterop.Enomem
                ? new LiveCaptureException($"Cannot allocate a {megabytes} MiB receive ring for interface '{Interface}' ({options.BlockCount} blocks of {options.BlockSizeBytes} bytes): out of memory; use fewer or smaller blocks.") { ErrorNumber = errno }
                : Failure($"set up a receive ring of {options.BlockCount} blocks of {options.BlockSizeBytes} bytes", errno);
        }

        var ring = LinuxSocketInterop.Mmap(null, length, LinuxSocketInterop.ProtReadWrite, LinuxSocketInterop.MapShared, descriptor, 0);
        if (ring == (void*)-1)
        {
            throw Failure($"map the {megabytes} MiB receive ring", Marshal.GetLastPInvokeError());
        }

        _handle.SetRing((byte*)ring, length);
        return (byte*)ring;
    }

    private void Bind(int descriptor)
    {
        var address = new LinkLayerAddress
        {
            Family = PacketSocketInterop.AfPacket,
            Protocol = BinaryPrimitives.ReverseEndianness(PacketSocketInterop.EthPAll),
            InterfaceIndex = InterfaceIndex,
        };
        if (LinuxSocketInterop.Bind(descriptor, &address, (uint)sizeof(LinkLayerAddress)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno is LinuxSocketInterop.Enodev or LinuxSocketInterop.Enxio
                ? new LiveCaptureException($"Interface '{Interface}' does not exist.") { ErrorNumber = errno }
                : Failure("bind to the interface", errno);
        }
    }

    private void JoinFanout(int descriptor, int group, AfPacketFanoutMode mode)
    {
        // packet(7): the argument is the group id in the low 16 bits and the mode (with flags) in the high 16.
        var argument = group | ((int)mode << 16);
        if (LinuxSocketInterop.SetSocketOption(descriptor, PacketSocketInterop.SolPacket, PacketSocketInterop.PacketFanout, &argument, sizeof(int)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno == LinuxSocketInterop.Einval
                ? new LiveCaptureException($"Cannot join fanout group {group} on interface '{Interface}': the group already exists with another mode or on another interface.") { ErrorNumber = errno }
                : Failure($"join fanout group {group}", errno);
        }
    }

    private void EnterPromiscuousMode(int descriptor)
    {
        // A membership, not the interface flag: the kernel counts it and drops it when the socket closes.
        var request = new PacketMembershipRequest { InterfaceIndex = InterfaceIndex, Type = PacketSocketInterop.PacketMrPromisc };
        if (LinuxSocketInterop.SetSocketOption(descriptor, PacketSocketInterop.SolPacket, PacketSocketInterop.PacketAddMembership, &request, (uint)sizeof(PacketMembershipRequest)) != 0)
        {
            throw Failure("enter promiscuous mode", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>poll(2) for the next block. Returns false on timeout, signal, or a reported interface-down event.</summary>
    private bool Wait(int timeoutMilliseconds)
    {
        var descriptor = new PollDescriptor { Descriptor = _handle.Descriptor, Events = LinuxSocketInterop.PollIn };
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
        return errno == LinuxSocketInterop.Eintr ? false : throw Failure("wait for frames (poll)", errno);
    }

    /// <summary>
    /// Reads (and so clears) the socket's pending error. ENETDOWN, set when the interface goes down,
    /// is counted rather than thrown: the socket stays bound and frames flow again once the
    /// interface is back up.
    /// </summary>
    private bool TakeSocketError()
    {
        if (!LinuxSocketInterop.TryTakeSocketError(_handle.Descriptor, out var error))
        {
            throw Failure("read the socket error", Marshal.GetLastPInvokeError());
        }

        if (error == LinuxSocketInterop.Enetdown)
        {
            InterfaceDownEvents++;
            return false;
        }

        return error == 0 ? true : throw Failure("receive", error);
    }

    /// <summary>Delivers every frame of a block the kernel handed over, then hands it back.</summary>
    private int ReadBlock<THandler>(ref THandler handler, byte* block)
        where THandler : struct, IPacketHandler
    {
        var descriptor = (TpacketBlockDescriptor*)block;
        var count = descriptor->PacketCount;
        var offset = (long)descriptor->OffsetToFirstPacket;
        var delivered = 0;
        long bytes = 0;
        try
        {
            for (uint i = 0; i < count && offset <= _blockSize - sizeof(Tpacket3Header); i++)
            {
                var header = (Tpacket3Header*)(block + offset);
                var room = _blockSize - offset;
                if (block[offset + PacketSocketInterop.FrameAddressOffset + PacketSocketInterop.AddressPacketTypeOffset] != PacketSocketInterop.PacketOutgoing)
                {
                    var mac = (int)header->MacOffset;
                    var captured = (int)Math.Min(header->SnapLength, (uint)Math.Max(room - mac, 0));
                    var length = (int)Math.Min(header->Length, int.MaxValue - VlanTagLength);
                    var frame = block + offset + mac;
                    if ((header->Status & PacketSocketInterop.TpStatusVlanValid) != 0
                        && mac >= PacketSocketInterop.Tpacket3HeaderLength + VlanTagLength
                        && captured >= MacAddressesLength)
                    {
                        frame = RestoreVlanTag(header, frame);
                        captured += VlanTagLength;
                        length += VlanTagLength;
                    }

                    if (captured < length)
                    {
                        TruncatedPackets++;
                    }

                    var timestamp = ((long)header->Seconds * 1_000_000_000L) + header->Nanoseconds;
                    handler.OnPacket(new CapturedPacket(timestamp, length, LinkType.Ethernet), new ReadOnlySpan<byte>(frame, captured));
                    bytes += captured;
                    delivered++;
                }

                if (header->NextOffset == 0)
                {
                    break;
                }

                offset += header->NextOffset;
            }
        }
        finally
        {
            // Return the block even if the handler threw, so the ring never stalls on it: the
            // release write orders every read of the block before the kernel may refill it.
            Volatile.Write(ref descriptor->BlockStatus, PacketSocketInterop.TpStatusKernel);
            _nextBlock = _nextBlock + 1 == BlockCount ? 0 : _nextBlock + 1;
            Blocks++;
            Packets += delivered;
            Bytes += bytes;
        }

        return delivered;
    }

    /// <summary>
    /// Puts the VLAN tag the kernel took out back into the frame, as it was on the wire: the MAC
    /// addresses move 4 bytes down into the reserved headroom and the tag (TPID, TCI) follows them.
    /// Returns the frame's new start.
    /// </summary>
    private static byte* RestoreVlanTag(Tpacket3Header* header, byte* frame)
    {
        var tpid = (header->Status & PacketSocketInterop.TpStatusVlanTpidValid) != 0 && header->VlanTpid != 0 ? header->VlanTpid : (ushort)0x8100;
        var start = frame - VlanTagLength;
        Buffer.MemoryCopy(frame, start, MacAddressesLength, MacAddressesLength);
        var tag = new Span<byte>(start + MacAddressesLength, VlanTagLength);
        BinaryPrimitives.WriteUInt16BigEndian(tag, tpid);
        BinaryPrimitives.WriteUInt16BigEndian(tag[2..], (ushort)header->VlanTci);
        return start;
    }

    private void ReadStatistics()
    {
        _statisticsDue = Environment.TickCount64 + StatisticsIntervalMilliseconds;
        TpacketStats3 statistics;
        var length = (uint)sizeof(TpacketStats3);
        if (LinuxSocketInterop.GetSocketOption(_handle.Descriptor, PacketSocketInterop.SolPacket, PacketSocketInterop.PacketStatistics, &statistics, &length) != 0)
        {
            throw Failure("read the kernel's packet statistics", Marshal.GetLastPInvokeError());
        }

        Interlocked.Add(ref _kernelPackets, statistics.Packets);
        Interlocked.Add(ref _kernelDrops, statistics.Drops);
        Interlocked.Add(ref _kernelFreezeCount, statistics.FreezeQueueCount);
    }

    private LiveCaptureException Failure(string action, int errno) =>
        new($"Cannot {action} on the AF_PACKET socket for interface '{Interface}': {LinuxSocketInterop.Describe(errno)} (errno {errno}).")
        {
            ErrorNumber = errno,
        };
}
