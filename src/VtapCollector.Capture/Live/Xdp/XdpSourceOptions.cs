namespace VtapCollector.Capture.Live.Xdp;

/// <summary>Whether AF_XDP sockets receive into their UMEM without a copy.</summary>
public enum XdpCopyMode
{
    /// <summary>Zero-copy where the driver allows, copy mode elsewhere (the kernel tries zero-copy first); the source reports which.</summary>
    Auto = 0,

    /// <summary>Copy mode (the kernel copies each frame into the UMEM): every interface.</summary>
    Copy = 1,

    /// <summary>Zero-copy (the driver receives straight into the UMEM) or fail: drivers with AF_XDP zero-copy support only.</summary>
    ZeroCopy = 2,
}

/// <summary>Settings of the AF_XDP sources on one interface (<see cref="XdpSource.Open"/>).</summary>
/// <remarks>
/// Each receive queue gets one socket with its own UMEM of 2 x <see cref="RingSize"/> frames of
/// <see cref="FrameSizeBytes"/>: the receive ring holds <see cref="RingSize"/>, the fill ring all of
/// them (af_xdp.rst, "UMEM", "Rings"). The defaults take 64 MiB per queue.
/// </remarks>
public sealed class XdpSourceOptions
{
    /// <summary>Name of the interface to receive on (for example eth1). Required.</summary>
    public string Interface { get; init; } = "";

    /// <summary>UDP destination ports the XDP program redirects (IPv4 and IPv6, untagged or under one or two VLAN tags); everything else goes to the kernel. Default 4789, 8472, 6081. 1 to <see cref="XdpRedirectProgram.MaxPorts"/> ports.</summary>
    public IList<ushort> Ports { get; init; } = [4789, 8472, 6081];

    /// <summary>Redirect GRE packets (IP protocol 47: ERSPAN and other GRE mirrors) as well as the UDP ports, for a decoder that reads them. Default false.</summary>
    public bool RedirectGre { get; init; }

    /// <summary>Receive queues to read, from queue 0; 0: every receive queue the interface reports (ethtool channels; 1 when it reports none). Default 0.</summary>
    public int Queues { get; init; }

    /// <summary>Bytes per UMEM frame: 2048 or 4096. A frame longer than this minus 256 bytes of kernel headroom is dropped by the kernel (counted). Default 4096.</summary>
    public int FrameSizeBytes { get; init; } = 4096;

    /// <summary>Entries of each socket's receive ring: a power of two from 64 to 32768. Default 8192 (with the UMEM's 16384 frames of 4096 bytes, 64 MiB per queue, as much as an AF_PACKET ring's default).</summary>
    public int RingSize { get; init; } = 8192;

    /// <summary>Frames read per call at most. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Microseconds to let frames gather when a wake-up finds fewer than <see cref="BatchSize"/>:
    /// at low rates each frame would otherwise cost a wake-up of its own (the AF_PACKET ring's block
    /// timeout does the same, in milliseconds). 0 to 10 000; 0: read at once. Default 500.
    /// </summary>
    public int BatchWaitMicroseconds { get; init; } = 500;

    /// <summary>Native or generic XDP. Default <see cref="XdpAttachMode.Auto"/>.</summary>
    public XdpAttachMode AttachMode { get; init; } = XdpAttachMode.Auto;

    /// <summary>Zero-copy or copy mode. Default <see cref="XdpCopyMode.Auto"/>.</summary>
    public XdpCopyMode CopyMode { get; init; } = XdpCopyMode.Auto;

    /// <summary>Returns a sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        var invalidInterface = AfPacketSourceOptions.ValidateInterfaceName(Interface);
        if (invalidInterface is not null)
        {
            return invalidInterface;
        }

        if (Ports is null || Ports.Count is 0 or > XdpRedirectProgram.MaxPorts || Ports.Contains((ushort)0))
        {
            return $"Ports must list 1 to {XdpRedirectProgram.MaxPorts} UDP destination ports, none of them 0.";
        }

        if (Queues is < 0 or > 256)
        {
            return $"Queues must be between 0 (every receive queue) and 256 (was {Queues}).";
        }

        if (FrameSizeBytes is not (2048 or 4096))
        {
            return $"FrameSizeBytes must be 2048 or 4096 (was {FrameSizeBytes}).";
        }

        if (RingSize is < 64 or > 32768 || !int.IsPow2(RingSize))
        {
            return $"RingSize must be a power of two from 64 to 32768 (was {RingSize}).";
        }

        if (BatchSize is < 1 or > 1024)
        {
            return $"BatchSize must be between 1 and 1024 (was {BatchSize}).";
        }

        if (BatchWaitMicroseconds is < 0 or > 10_000)
        {
            return $"BatchWaitMicroseconds must be between 0 and 10000 (was {BatchWaitMicroseconds}).";
        }

        if (!Enum.IsDefined(AttachMode))
        {
            return $"AttachMode must be Auto, Native or Generic (was {(int)AttachMode}).";
        }

        return Enum.IsDefined(CopyMode) ? null : $"CopyMode must be Auto, Copy or ZeroCopy (was {(int)CopyMode}).";
    }
}
