using System.Buffers;
using System.Text;

namespace VtapCollector.Capture.Live;

/// <summary>
/// How the kernel spreads an interface's frames over the sockets of one fanout group
/// (packet(7) PACKET_FANOUT). The values are the kernel's PACKET_FANOUT_* modes.
/// </summary>
public enum AfPacketFanoutMode
{
    /// <summary>PACKET_FANOUT_HASH: by the frame's flow hash (outer addresses and ports), so one outer flow stays on one socket. Mirrors usually vary the outer source port with the inner flow, which spreads the load.</summary>
    Hash = 0,

    /// <summary>PACKET_FANOUT_LB: round robin, frame by frame.</summary>
    LoadBalance = 1,

    /// <summary>PACKET_FANOUT_CPU: by the CPU that received the frame (pairs well with RSS and IRQ affinity).</summary>
    Cpu = 2,

    /// <summary>PACKET_FANOUT_QM: by the NIC receive queue the frame arrived on.</summary>
    QueueMapping = 5,
}

/// <summary>Settings of an <see cref="AfPacketSource"/>.</summary>
/// <remarks>
/// The ring is <see cref="BlockCount"/> blocks of <see cref="BlockSizeBytes"/>; the kernel fills
/// one block at a time with frames packed at their real size and hands it over when it is full or
/// <see cref="BlockTimeoutMilliseconds"/> after its first frame (Documentation/networking/packet_mmap.rst,
/// "TPACKET_V3"). The defaults (64 blocks of 1 MiB) hold about 40 000 full-size mirror frames of burst.
/// </remarks>
public sealed class AfPacketSourceOptions
{
    private static readonly SearchValues<char> ForbiddenInInterfaceNames = SearchValues.Create("/: \t\r\n");

    /// <summary>Default ring block: 1 MiB.</summary>
    public const int DefaultBlockSizeBytes = 1024 * 1024;

    /// <summary>Largest ring the options accept: 2 GiB (the kernel refuses 4 GiB and more).</summary>
    public const long MaxRingBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>Name of the interface to capture on (for example eth1), as <c>ip link</c> shows it. Required.</summary>
    public string Interface { get; init; } = "";

    /// <summary>
    /// UDP destination ports the kernel filter lets through (IPv4 and IPv6, untagged or under one
    /// VLAN tag); everything else is dropped before it reaches the ring. Default 4789 (VXLAN, IANA),
    /// 8472 (VXLAN, Linux default) and 6081 (Geneve). 1 to <see cref="TunnelPortFilter.MaxPorts"/> ports.
    /// </summary>
    public IList<ushort> Ports { get; init; } = [4789, 8472, 6081];

    /// <summary>Let GRE (IP protocol 47: ERSPAN, Ethernet bridged over GRE) through the kernel filter as well. Default false.</summary>
    public bool Gre { get; init; }

    /// <summary>Bytes per ring block: a power of two, at least one page (4 KiB), at most 256 MiB. Default 1 MiB. A frame longer than a block is cut to it.</summary>
    public int BlockSizeBytes { get; init; } = DefaultBlockSizeBytes;

    /// <summary>Blocks in the ring (1 or more; the whole ring at most 2 GiB). Default 64.</summary>
    public int BlockCount { get; init; } = 64;

    /// <summary>
    /// The ring's nominal frame size in bytes: a multiple of 16, from 80 to <see cref="BlockSizeBytes"/>.
    /// Default 2048. TPACKET_V3 packs frames at their real length, so this only has to satisfy the
    /// kernel's geometry check (block size / frame size frames per block).
    /// </summary>
    public int FrameSizeBytes { get; init; } = 2048;

    /// <summary>
    /// Milliseconds after which the kernel hands over a block that holds frames but is not full
    /// (tp_retire_blk_tov): the longest a frame waits when traffic is light. 0 lets the kernel pick
    /// from the link speed. Default 10; at most 10 000.
    /// </summary>
    public int BlockTimeoutMilliseconds { get; init; } = 10;

    /// <summary>
    /// Fanout group id (0 to 65535) to join so that several sources on the same interface (threads or
    /// processes in the same network namespace) share its frames, each frame going to one of them;
    /// null (the default) joins no group. Every source in a group must use the same
    /// <see cref="FanoutMode"/>.
    /// </summary>
    public int? FanoutGroup { get; init; }

    /// <summary>How a fanout group spreads frames. Default <see cref="AfPacketFanoutMode.Hash"/>. Ignored without <see cref="FanoutGroup"/>.</summary>
    public AfPacketFanoutMode FanoutMode { get; init; } = AfPacketFanoutMode.Hash;

    /// <summary>
    /// Put the interface in promiscuous mode while the source is open, to see frames addressed to
    /// other MAC addresses (a SPAN port or a mirror that does not rewrite the destination MAC).
    /// Default false: tunnelled mirror traffic is addressed to this host.
    /// </summary>
    public bool Promiscuous { get; init; }

    /// <summary>Returns a sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        var invalidInterface = ValidateInterfaceName(Interface);
        if (invalidInterface is not null)
        {
            return invalidInterface;
        }

        if (Ports is null || Ports.Count == 0)
        {
            return "Ports must list at least one UDP destination port.";
        }

        if (Ports.Count > TunnelPortFilter.MaxPorts)
        {
            return $"Ports may list at most {TunnelPortFilter.MaxPorts} ports (has {Ports.Count}).";
        }

        if (Ports.Contains((ushort)0))
        {
            return "Ports must not contain 0.";
        }

        if (BlockSizeBytes < Environment.SystemPageSize || BlockSizeBytes > 256 * 1024 * 1024 || !int.IsPow2(BlockSizeBytes))
        {
            return $"BlockSizeBytes must be a power of two from {Environment.SystemPageSize} (one page) to 256 MiB (was {BlockSizeBytes}).";
        }

        if (BlockCount < 1 || (long)BlockCount * BlockSizeBytes > MaxRingBytes)
        {
            return $"BlockCount must be at least 1 and BlockCount x BlockSizeBytes at most 2 GiB (was {BlockCount} x {BlockSizeBytes}).";
        }

        if (FrameSizeBytes < 80 || FrameSizeBytes > BlockSizeBytes || FrameSizeBytes % PacketSocketInterop.TpacketAlignment != 0)
        {
            return $"FrameSizeBytes must be a multiple of 16 from 80 to BlockSizeBytes (was {FrameSizeBytes}).";
        }

        if (BlockTimeoutMilliseconds is < 0 or > 10_000)
        {
            return $"BlockTimeoutMilliseconds must be between 0 and 10000 (was {BlockTimeoutMilliseconds}).";
        }

        if (FanoutGroup is < 0 or > ushort.MaxValue)
        {
            return $"FanoutGroup must be between 0 and 65535 (was {FanoutGroup}).";
        }

        if (!Enum.IsDefined(FanoutMode))
        {
            return $"FanoutMode must be Hash, LoadBalance, Cpu or QueueMapping (was {(int)FanoutMode}).";
        }

        return null;
    }

    /// <summary>The kernel's dev_valid_name rules: 1 to 15 bytes (IFNAMSIZ - 1), no '/', ':' or white space, not "." or "..".</summary>
    internal static string? ValidateInterfaceName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "Interface must name the network interface to capture on.";
        }

        if (Encoding.UTF8.GetByteCount(name) > 15 || name is "." or ".." || name.AsSpan().ContainsAny(ForbiddenInInterfaceNames))
        {
            return $"Interface '{name}' is not a valid interface name (1 to 15 characters, no '/', ':' or spaces).";
        }

        return null;
    }
}
