using System.Runtime.InteropServices;

namespace VtapCollector.Capture.Live;

/// <summary>
/// The Linux calls, constants and structures behind <see cref="AfPacketSource"/>: an AF_PACKET
/// socket (packet(7)), its TPACKET_V3 receive ring (linux/if_packet.h, described in the kernel's
/// Documentation/networking/packet_mmap.rst), a classic BPF filter (SO_ATTACH_FILTER,
/// Documentation/networking/filter.rst). The calls every live source shares (socket(2),
/// setsockopt(2), bind(2), mmap(2), poll(2), if_nametoindex(3)) and errno values are in
/// <see cref="Udp.LinuxSocketInterop"/>.
/// </summary>
/// <remarks>
/// Layouts are those of the LP64 Linux ABI (x86-64 and arm64 agree on every structure and constant
/// here); offsets were checked against the kernel's uapi headers with offsetof. Every structure is
/// declared with explicit offsets so nothing depends on the marshaller's layout rules.
/// </remarks>
internal static unsafe partial class PacketSocketInterop
{
    /// <summary>address_families(7) AF_PACKET.</summary>
    public const int AfPacket = 17;

    /// <summary>linux/if_ether.h ETH_P_ALL: every protocol, in host order (bind wants it in network order).</summary>
    public const ushort EthPAll = 0x0003;

    /// <summary>socket(7) SO_ATTACH_FILTER: attach a classic BPF program (struct sock_fprog).</summary>
    public const int SoAttachFilter = 26;

    /// <summary>packet(7) level of the PACKET_* options.</summary>
    public const int SolPacket = 263;

    /// <summary>packet(7) PACKET_ADD_MEMBERSHIP (struct packet_mreq); dropped by the kernel when the socket closes.</summary>
    public const int PacketAddMembership = 1;

    /// <summary>packet_mmap.rst PACKET_RX_RING: set up the receive ring (struct tpacket_req3 for TPACKET_V3).</summary>
    public const int PacketRxRing = 5;

    /// <summary>packet(7) PACKET_STATISTICS: struct tpacket_stats_v3; reading resets the counters.</summary>
    public const int PacketStatistics = 6;

    /// <summary>packet_mmap.rst PACKET_VERSION: ring header layout; must be set before PACKET_RX_RING.</summary>
    public const int PacketVersion = 10;

    /// <summary>packet(7) PACKET_RESERVE: bytes of headroom the kernel leaves between the frame header and the frame.</summary>
    public const int PacketReserve = 12;

    /// <summary>packet(7) PACKET_FANOUT: join a fanout group, argument group id | (mode | flags) &lt;&lt; 16.</summary>
    public const int PacketFanout = 18;

    /// <summary>packet(7) PACKET_IGNORE_OUTGOING (Linux 4.20): do not deliver frames this host transmits.</summary>
    public const int PacketIgnoreOutgoing = 23;

    /// <summary>packet(7) PACKET_MR_PROMISC: membership type that puts the interface in promiscuous mode.</summary>
    public const ushort PacketMrPromisc = 1;

    /// <summary>packet(7) sll_pkttype PACKET_OUTGOING: a frame this host sent.</summary>
    public const byte PacketOutgoing = 4;

    /// <summary>linux/if_packet.h enum tpacket_versions TPACKET_V3.</summary>
    public const int TpacketV3 = 2;

    /// <summary>Block status TP_STATUS_KERNEL: the kernel owns the block.</summary>
    public const uint TpStatusKernel = 0;

    /// <summary>Block status TP_STATUS_USER: the kernel retired the block; user space reads it and hands it back.</summary>
    public const uint TpStatusUser = 1;

    /// <summary>Frame status TP_STATUS_VLAN_VALID: tp_vlan_tci holds the 802.1Q tag the kernel took out of the frame.</summary>
    public const uint TpStatusVlanValid = 1 << 4;

    /// <summary>Frame status TP_STATUS_VLAN_TPID_VALID: tp_vlan_tpid holds that tag's TPID (0x8100 or 0x88a8).</summary>
    public const uint TpStatusVlanTpidValid = 1 << 6;

    /// <summary>TPACKET_ALIGNMENT: frames and frame sizes are aligned to 16 bytes.</summary>
    public const int TpacketAlignment = 16;

    /// <summary>TPACKET3_HDRLEN: TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) + sizeof(struct sockaddr_ll) = 48 + 20.</summary>
    public const int Tpacket3HeaderLength = 68;

    /// <summary>Offset of the struct sockaddr_ll that follows each tpacket3_hdr: TPACKET_ALIGN(sizeof(struct tpacket3_hdr)).</summary>
    public const int FrameAddressOffset = 48;

    /// <summary>Offset of sll_pkttype in struct sockaddr_ll.</summary>
    public const int AddressPacketTypeOffset = 10;
}

/// <summary>
/// <c>struct tpacket_req3</c> (linux/if_packet.h), 28 bytes: the ring geometry for PACKET_RX_RING
/// with TPACKET_V3 (packet_mmap.rst, "TPACKET_V3 ... tpacket_req3").
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 28)]
internal struct TpacketRequest3
{
    /// <summary>tp_block_size: a multiple of the page size (a power of two pages wastes nothing).</summary>
    [FieldOffset(0)]
    public uint BlockSize;

    /// <summary>tp_block_nr.</summary>
    [FieldOffset(4)]
    public uint BlockCount;

    /// <summary>tp_frame_size: checked for consistency only; in V3 frames are packed at their real size.</summary>
    [FieldOffset(8)]
    public uint FrameSize;

    /// <summary>tp_frame_nr: must equal (tp_block_size / tp_frame_size) * tp_block_nr.</summary>
    [FieldOffset(12)]
    public uint FrameCount;

    /// <summary>tp_retire_blk_tov: milliseconds after which a block that holds packets is handed to user space even if not full (0: the kernel picks from the link speed).</summary>
    [FieldOffset(16)]
    public uint RetireBlockTimeout;

    /// <summary>tp_sizeof_priv: per-block private area, unused (0).</summary>
    [FieldOffset(20)]
    public uint SizeOfPrivate;

    /// <summary>tp_feature_req_word: TP_FT_REQ_FILL_RXHASH or 0.</summary>
    [FieldOffset(24)]
    public uint FeatureRequestWord;
}

/// <summary><c>struct tpacket_stats_v3</c>, 12 bytes: PACKET_STATISTICS with TPACKET_V3.</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
internal struct TpacketStats3
{
    /// <summary>tp_packets: frames that passed the filter since the last read, dropped ones included (the kernel adds tp_drops in before copying out).</summary>
    [FieldOffset(0)]
    public uint Packets;

    /// <summary>tp_drops: frames that passed the filter but found no room in the ring.</summary>
    [FieldOffset(4)]
    public uint Drops;

    /// <summary>tp_freeze_q_cnt: times the ring filled up and the kernel froze it until user space returned a block.</summary>
    [FieldOffset(8)]
    public uint FreezeQueueCount;
}

/// <summary>
/// <c>struct tpacket_block_desc</c> with its <c>struct tpacket_hdr_v1</c> (linux/if_packet.h), the
/// header at the start of every ring block (packet_mmap.rst, "TPACKET_V3").
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal struct TpacketBlockDescriptor
{
    /// <summary>version.</summary>
    [FieldOffset(0)]
    public uint Version;

    /// <summary>offset_to_priv.</summary>
    [FieldOffset(4)]
    public uint OffsetToPrivate;

    /// <summary>hdr.bh1.block_status: TP_STATUS_KERNEL or TP_STATUS_USER (the handshake between kernel and user space).</summary>
    [FieldOffset(8)]
    public uint BlockStatus;

    /// <summary>hdr.bh1.num_pkts.</summary>
    [FieldOffset(12)]
    public uint PacketCount;

    /// <summary>hdr.bh1.offset_to_first_pkt, from the start of the block.</summary>
    [FieldOffset(16)]
    public uint OffsetToFirstPacket;

    /// <summary>hdr.bh1.blk_len: bytes of the block in use.</summary>
    [FieldOffset(20)]
    public uint BlockLength;

    /// <summary>hdr.bh1.seq_num: increases by one per block the kernel retires.</summary>
    [FieldOffset(24)]
    public ulong SequenceNumber;
}

/// <summary>
/// <c>struct tpacket3_hdr</c> (linux/if_packet.h), 48 bytes, the header of each frame in a TPACKET_V3
/// block; a <c>struct sockaddr_ll</c> follows at offset 48 and the frame itself at tp_mac.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal struct Tpacket3Header
{
    /// <summary>tp_next_offset: from this header to the next frame's in the same block (0 for the last).</summary>
    [FieldOffset(0)]
    public uint NextOffset;

    /// <summary>tp_sec: receive time, seconds since the Unix epoch.</summary>
    [FieldOffset(4)]
    public uint Seconds;

    /// <summary>tp_nsec: receive time, nanoseconds.</summary>
    [FieldOffset(8)]
    public uint Nanoseconds;

    /// <summary>tp_snaplen: bytes of the frame in the ring.</summary>
    [FieldOffset(12)]
    public uint SnapLength;

    /// <summary>tp_len: the frame's length as it arrived.</summary>
    [FieldOffset(16)]
    public uint Length;

    /// <summary>tp_status: TP_STATUS_* flags of this frame.</summary>
    [FieldOffset(20)]
    public uint Status;

    /// <summary>tp_mac: offset of the frame from this header.</summary>
    [FieldOffset(24)]
    public ushort MacOffset;

    /// <summary>tp_net: offset of the network header from this header.</summary>
    [FieldOffset(26)]
    public ushort NetworkOffset;

    /// <summary>hv1.tp_rxhash.</summary>
    [FieldOffset(28)]
    public uint RxHash;

    /// <summary>hv1.tp_vlan_tci: the tag control information of the VLAN tag taken out of the frame.</summary>
    [FieldOffset(32)]
    public uint VlanTci;

    /// <summary>hv1.tp_vlan_tpid: that tag's TPID.</summary>
    [FieldOffset(36)]
    public ushort VlanTpid;
}

/// <summary>
/// <c>struct sockaddr_ll</c> (packet(7)), 20 bytes:
/// <c>{ unsigned short sll_family; __be16 sll_protocol; int sll_ifindex; unsigned short sll_hatype; unsigned char sll_pkttype; unsigned char sll_halen; unsigned char sll_addr[8]; }</c>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
internal struct LinkLayerAddress
{
    /// <summary>sll_family: AF_PACKET.</summary>
    [FieldOffset(0)]
    public ushort Family;

    /// <summary>sll_protocol, network byte order.</summary>
    [FieldOffset(2)]
    public ushort Protocol;

    /// <summary>sll_ifindex.</summary>
    [FieldOffset(4)]
    public int InterfaceIndex;
}

/// <summary><c>struct packet_mreq</c> (packet(7)), 16 bytes: <c>{ int mr_ifindex; unsigned short mr_type; unsigned short mr_alen; unsigned char mr_address[8]; }</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct PacketMembershipRequest
{
    /// <summary>mr_ifindex.</summary>
    [FieldOffset(0)]
    public int InterfaceIndex;

    /// <summary>mr_type: PACKET_MR_*.</summary>
    [FieldOffset(4)]
    public ushort Type;
}

/// <summary><c>struct sock_fprog</c> (linux/filter.h), 16 bytes: <c>{ unsigned short len; /* 6 bytes padding */ struct sock_filter *filter; }</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct SocketFilterProgram
{
    /// <summary>len: number of instructions.</summary>
    [FieldOffset(0)]
    public ushort Length;

    /// <summary>filter: the instructions, 8 bytes each (struct sock_filter, the layout of <see cref="BpfInstruction"/>).</summary>
    [FieldOffset(8)]
    public BpfInstruction* Filter;
}
