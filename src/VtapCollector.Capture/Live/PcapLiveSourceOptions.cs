namespace VtapCollector.Capture.Live;

/// <summary>Settings of a <see cref="PcapLiveSource"/>.</summary>
public sealed class PcapLiveSourceOptions
{
    /// <summary>The default filter: the tunnel ports VXLAN (4789 IANA, 8472 Linux) and Geneve (6081).</summary>
    public const string DefaultFilter = "udp and (dst port 4789 or dst port 8472 or dst port 6081)";

    /// <summary>Default kernel buffer: 32 MiB.</summary>
    public const int DefaultBufferSizeBytes = 32 * 1024 * 1024;

    /// <summary>Name of the interface to capture on (for example eth1, or any), as <c>ip link</c> or <c>tcpdump -D</c> shows it. Required.</summary>
    public string Interface { get; init; } = "";

    /// <summary>
    /// Capture filter in pcap-filter(7) syntax, compiled by libpcap and run in the kernel. Default
    /// <see cref="DefaultFilter"/>; an empty string captures everything.
    /// </summary>
    public string Filter { get; init; } = DefaultFilter;

    /// <summary>Bytes kept of each packet (pcap_set_snaplen), 64 to 262144. Default 65535: any mirror datagram whole.</summary>
    public int SnapLength { get; init; } = 65535;

    /// <summary>Kernel buffer (libpcap's ring) in bytes (pcap_set_buffer_size), 64 KiB to 1 GiB. Default 32 MiB.</summary>
    public int BufferSizeBytes { get; init; } = DefaultBufferSizeBytes;

    /// <summary>Put the interface in promiscuous mode while capturing (pcap_set_promisc). Default false: tunnelled mirror traffic is addressed to this host.</summary>
    public bool Promiscuous { get; init; }

    /// <summary>
    /// Packet buffer timeout in milliseconds (pcap_set_timeout): how long the kernel may hold packets
    /// to deliver them together, the longest a packet waits when traffic is light. 1 to 10 000;
    /// default 10. Ignored in <see cref="ImmediateMode"/>.
    /// </summary>
    public int TimeoutMilliseconds { get; init; } = 10;

    /// <summary>Deliver each packet as soon as it arrives (pcap_set_immediate_mode): lowest latency, more wake-ups under load. Default false.</summary>
    public bool ImmediateMode { get; init; }

    /// <summary>Most packets one <see cref="PcapLiveSource.ReceiveBatch"/> call delivers, 1 to 65536. Default 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Returns a sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        var invalidInterface = AfPacketSourceOptions.ValidateInterfaceName(Interface);
        if (invalidInterface is not null)
        {
            return invalidInterface;
        }

        if (Filter is null)
        {
            return "Filter must be set (an empty string captures everything).";
        }

        if (SnapLength is < 64 or > 262_144)
        {
            return $"SnapLength must be between 64 and 262144 (was {SnapLength}).";
        }

        if (BufferSizeBytes is < 64 * 1024 or > 1024 * 1024 * 1024)
        {
            return $"BufferSizeBytes must be between 64 KiB and 1 GiB (was {BufferSizeBytes}).";
        }

        if (TimeoutMilliseconds is < 1 or > 10_000)
        {
            return $"TimeoutMilliseconds must be between 1 and 10000 (was {TimeoutMilliseconds}).";
        }

        if (BatchSize is < 1 or > 65_536)
        {
            return $"BatchSize must be between 1 and 65536 (was {BatchSize}).";
        }

        return null;
    }
}
