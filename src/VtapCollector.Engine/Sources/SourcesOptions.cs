using System.Net;
using VtapCollector.Capture;
using VtapCollector.Capture.Live;
using VtapCollector.Capture.Live.Xdp;
using VtapCollector.Capture.Udp;

namespace VtapCollector.Engine.Sources;

/// <summary>Where mirrored traffic comes from. Several sources may run at once.</summary>
public sealed class SourcesSettings
{
    public UdpSourceSettings Udp { get; set; } = new();
    public AfPacketSourceSettings AfPacket { get; set; } = new();
    public PcapSourceSettings Pcap { get; set; } = new();
    public GreSourceSettings Gre { get; set; } = new();

    public XdpSourceSettings Xdp { get; set; } = new();

    /// <summary>One sentence naming the first invalid setting of the <c>Sources</c> section, or null.</summary>
    public string? Validate()
    {
        if (!Udp.Enabled && !AfPacket.Enabled && !Pcap.Enabled && !Gre.Enabled && !Xdp.Enabled)
        {
            return "No source is enabled; set Sources:Udp:Enabled, Sources:AfPacket:Enabled, Sources:Pcap:Enabled, Sources:Gre:Enabled or Sources:Xdp:Enabled to true.";
        }

        return (Udp.Enabled ? Udp.Validate() : null) ?? AfPacket.Validate() ?? (Pcap.Enabled ? Pcap.Validate() : null) ?? (Gre.Enabled ? Gre.Validate() : null) ?? (Xdp.Enabled ? Xdp.Validate() : null);
    }
}

/// <summary>UDP sockets: the default source, needs no privileges.</summary>
public sealed class UdpSourceSettings
{
    /// <summary>Receive on UDP sockets. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Addresses to listen on, <c>ADDRESS:PORT</c>. Default <c>0.0.0.0:4789</c>. A port listed in <c>Decoder:GenevePorts</c> is read as Geneve, any other as VXLAN.</summary>
    public List<string> Listen { get; set; } = [];

    /// <summary>Sockets per address sharing the port with SO_REUSEPORT, each read by its own thread. 0: one per core. Default 0.</summary>
    public int Sockets { get; set; }

    /// <summary>Receive buffer per socket (SO_RCVBUF, forced past net.core.rmem_max with CAP_NET_ADMIN). Default 33554432 (32 MiB).</summary>
    public int ReceiveBufferBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Datagrams per recvmmsg call. Default 64.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Largest datagram kept whole; longer ones are cut and counted. Default 9216.</summary>
    public int MaxDatagramBytes { get; set; } = 9216;

    /// <summary>The sockets per address <see cref="Sockets"/> asks for on this machine.</summary>
    public int EffectiveSockets => Sockets == 0 ? Environment.ProcessorCount : Sockets;

    /// <summary>The addresses to listen on (<c>0.0.0.0:4789</c> when none is given); valid once <see cref="Validate"/> returned null.</summary>
    public IReadOnlyList<IPEndPoint> EndPoints() => [.. (Listen.Count == 0 ? ["0.0.0.0:4789"] : Listen).Select(text => EndPointText.TryParse(text, out var endPoint) ? endPoint! : throw new InvalidOperationException($"Sources:Udp:Listen entry '{text}' was not validated."))];

    /// <summary>One sentence naming the first invalid setting, or null.</summary>
    public string? Validate()
    {
        foreach (var text in Listen)
        {
            if (!EndPointText.TryParse(text, out _))
            {
                return $"Sources:Udp:Listen entry '{text}' is not ADDRESS:PORT (examples: 0.0.0.0:4789, [::]:4789).";
            }
        }

        if (Sockets is < 0 or > 64)
        {
            return $"Sources:Udp:Sockets must be between 0 (one per core) and 64 (was {Sockets}).";
        }

        var socket = new UdpTunnelReceiverOptions { ReceiveBufferBytes = ReceiveBufferBytes, BatchSize = BatchSize, MaxDatagramBytes = MaxDatagramBytes };
        return socket.Validate() is { } error ? "Sources:Udp:" + error : null;
    }
}

/// <summary>AF_PACKET TPACKET_V3 ring on a dedicated NIC: sees outer headers and traffic to any address; needs CAP_NET_RAW.</summary>
public sealed class AfPacketSourceSettings
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The interface to capture on (required when enabled).</summary>
    public string Interface { get; set; } = "";

    /// <summary>Rings (threads) joined in one fanout group. 0: one per core. Default 0.</summary>
    public int Rings { get; set; }

    /// <summary>Ring block size in bytes (a multiple of the page size). Default 1048576 (1 MiB).</summary>
    public int BlockSizeBytes { get; set; } = 1024 * 1024;

    /// <summary>Blocks per ring. Default 64 (64 MiB per ring).</summary>
    public int BlockCount { get; set; } = 64;

    /// <summary>Put the interface in promiscuous mode (for a SPAN port whose copies are not addressed to this host). Default false.</summary>
    public bool Promiscuous { get; set; }

    /// <summary>The rings <see cref="Rings"/> asks for on this machine.</summary>
    public int EffectiveRings => Rings == 0 ? Environment.ProcessorCount : Rings;

    /// <summary>One sentence naming the first invalid setting, or null.</summary>
    public string? Validate()
    {
        if (Rings is < 0 or > 64)
        {
            return $"Sources:AfPacket:Rings must be between 0 (one per core) and 64 (was {Rings}).";
        }

        if (!Enabled)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(Interface))
        {
            return "Sources:AfPacket:Interface must name the network interface to capture on (for example eth1).";
        }

        var ring = new AfPacketSourceOptions { Interface = Interface, BlockSizeBytes = BlockSizeBytes, BlockCount = BlockCount };
        return ring.Validate() is { } error ? "Sources:AfPacket: " + error : null;
    }
}

/// <summary>libpcap live capture: the portable alternative to AF_PACKET; needs CAP_NET_RAW.</summary>
public sealed class PcapSourceSettings
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The interface to capture on (required when enabled).</summary>
    public string Interface { get; set; } = "";

    /// <summary>BPF filter. Empty: UDP to the configured VXLAN and Geneve ports.</summary>
    public string Filter { get; set; } = "";

    /// <summary>Kernel buffer in bytes. Default 33554432 (32 MiB).</summary>
    public int BufferSizeBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Default false.</summary>
    public bool Promiscuous { get; set; }

    /// <summary>One sentence naming the first invalid setting, or null.</summary>
    public string? Validate() =>
        string.IsNullOrWhiteSpace(Interface) ? "Sources:Pcap:Interface must name the network interface to capture on (for example eth1)." : null;
}

/// <summary>Raw IP sockets for GRE (ERSPAN, bridged Ethernet) sent to this host: no capture NIC needed; needs CAP_NET_RAW.</summary>
public sealed class GreSourceSettings
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Local addresses to receive GRE on, one raw socket (and thread) each. Default <c>0.0.0.0</c>: IPv4 GRE to any address; add <c>::</c> for IPv6.</summary>
    public List<string> Listen { get; set; } = [];

    /// <summary>Receive buffer per socket (SO_RCVBUF, forced past net.core.rmem_max with CAP_NET_ADMIN). Default 33554432 (32 MiB).</summary>
    public int ReceiveBufferBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Packets per recvmmsg call. Default 64.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Largest packet kept whole (IPv4 header included); longer ones are cut and counted. Default 9216.</summary>
    public int MaxPacketBytes { get; set; } = 9216;

    /// <summary>The addresses to receive on (<c>0.0.0.0</c> when none is given); valid once <see cref="Validate"/> returned null.</summary>
    public IReadOnlyList<IPAddress> Addresses() =>
        [.. (Listen.Count == 0 ? ["0.0.0.0"] : Listen).Select(text => IPAddress.TryParse(text, out var address) ? address : throw new InvalidOperationException($"Sources:Gre:Listen entry '{text}' was not validated."))];

    /// <summary>One sentence naming the first invalid setting, or null.</summary>
    public string? Validate()
    {
        foreach (var text in Listen)
        {
            // IPAddress.TryParse takes "1.2" as 1.0.0.2; an address here has four parts or a colon.
            if (!IPAddress.TryParse(text, out var address) || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && text.Count(c => c == '.') != 3))
            {
                return $"Sources:Gre:Listen entry '{text}' is not an IP address (examples: 0.0.0.0, ::, 10.1.2.3).";
            }
        }

        var socket = new GreSocketSourceOptions { ReceiveBufferBytes = ReceiveBufferBytes, BatchSize = BatchSize, MaxPacketBytes = MaxPacketBytes };
        return socket.Validate() is { } error ? "Sources:Gre:" + error : null;
    }
}

/// <summary>
/// AF_XDP sockets on one interface: an XDP program hands the tunnel traffic (UDP to the decoder's
/// VXLAN and Geneve ports, and GRE when Decoder:Gre is on) straight from the driver to the collector and passes everything else to
/// the kernel; needs CAP_NET_RAW, CAP_BPF, CAP_NET_ADMIN and a memlock limit that holds the UMEM (systemd/af-xdp.conf).
/// </summary>
public sealed class XdpSourceSettings
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The interface to receive on (required when enabled).</summary>
    public string Interface { get; set; } = "";

    /// <summary>Receive queues to read (one socket and thread each), from queue 0. 0: every receive queue of the interface. Default 0.</summary>
    public int Queues { get; set; }

    /// <summary>Bytes per UMEM frame, 2048 or 4096; a longer frame (minus 256 bytes of kernel headroom) is dropped and counted. Default 4096.</summary>
    public int FrameSizeBytes { get; set; } = 4096;

    /// <summary>Receive ring entries per queue, a power of two from 64 to 32768; the UMEM holds twice as many frames. Default 8192 (64 MiB per queue).</summary>
    public int RingSize { get; set; } = 8192;

    /// <summary>Frames read per batch at most. Default 64.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Microseconds to let frames gather when a wake-up finds less than a batch (0 to 10000; 0: read at once). Default 500.</summary>
    public int BatchWaitMicroseconds { get; set; } = 500;

    /// <summary>Auto (native XDP, else generic), Native or Generic. Default Auto.</summary>
    public XdpAttachMode AttachMode { get; set; } = XdpAttachMode.Auto;

    /// <summary>Auto (zero-copy where the driver allows, else copy), Copy or ZeroCopy. Default Auto.</summary>
    public XdpCopyMode CopyMode { get; set; } = XdpCopyMode.Auto;

    /// <summary>The socket options for <paramref name="ports"/> (and GRE when <paramref name="gre"/>: the decoder decapsulates it).</summary>
    public XdpSourceOptions ToOptions(IList<ushort> ports, bool gre = false) => new()
    {
        Interface = Interface,
        Ports = ports,
        RedirectGre = gre,
        Queues = Queues,
        FrameSizeBytes = FrameSizeBytes,
        RingSize = RingSize,
        BatchSize = BatchSize,
        BatchWaitMicroseconds = BatchWaitMicroseconds,
        AttachMode = AttachMode,
        CopyMode = CopyMode,
    };

    /// <summary>One sentence naming the first invalid setting, or null.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Interface))
        {
            return "Sources:Xdp:Interface must name the network interface to receive on (for example eth1).";
        }

        return ToOptions([4789]).Validate() is { } error ? "Sources:Xdp: " + error : null;
    }
}
