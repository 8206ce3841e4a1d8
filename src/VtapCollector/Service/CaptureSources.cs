using System.Globalization;
using VtapCollector.Capture.Live;

namespace VtapCollector.Service;

/// <summary>
/// Opens the capture sources the settings enable: AF_PACKET rings joined in one fanout group (the
/// kernel spreads frames over them; the symmetric dispatch after decoding still brings both
/// directions of a flow to one worker), and one libpcap capture. Both are filtered in the kernel to
/// UDP towards the configured tunnel ports.
/// </summary>
internal static class CaptureSources
{
    public static void Open(ValidatedSettings settings, StopSignal stop, List<OpenedSource> sources)
    {
        var raw = settings.Raw.Sources;
        var ports = settings.Decoder.VxlanPorts.Concat(settings.Decoder.GenevePorts).Distinct().ToList();
        if (raw.AfPacket.Enabled)
        {
            // A fanout group id is per network namespace; the process id keeps two collectors apart.
            int? group = settings.AfPacketRings > 1 ? Environment.ProcessId & 0xFFFF : null;
            for (var i = 0; i < settings.AfPacketRings; i++)
            {
                var ring = new AfPacketSource(new AfPacketSourceOptions
                {
                    Interface = raw.AfPacket.Interface,
                    Ports = ports,
                    BlockSizeBytes = raw.AfPacket.BlockSizeBytes,
                    BlockCount = raw.AfPacket.BlockCount,
                    FanoutGroup = group,
                    FanoutMode = AfPacketFanoutMode.Hash,
                    Promiscuous = raw.AfPacket.Promiscuous,
                });
                sources.Add(new OpenedSource("af_packet", ring, (ingress, name) => new AfPacketReceiverThread(name, ring, ingress, stop)));
            }
        }

        if (raw.Pcap.Enabled)
        {
            var filter = raw.Pcap.Filter.Length > 0
                ? raw.Pcap.Filter
                : "udp and (" + string.Join(" or ", ports.Select(p => "dst port " + p.ToString(CultureInfo.InvariantCulture))) + ")";
            var capture = new PcapLiveSource(new PcapLiveSourceOptions
            {
                Interface = raw.Pcap.Interface,
                Filter = filter,
                BufferSizeBytes = raw.Pcap.BufferSizeBytes,
                Promiscuous = raw.Pcap.Promiscuous,
            });
            sources.Add(new OpenedSource("pcap", capture, (ingress, name) => new PcapReceiverThread(name, capture, ingress, stop)));
        }
    }
}

/// <summary>One AF_PACKET ring: frames with their outer headers, decoded from Ethernet up.</summary>
internal sealed class AfPacketReceiverThread : ReceiverThread
{
    private readonly AfPacketSource _ring;
    private FrameHandler _handler;
    private long _nextStatistics;

    public AfPacketReceiverThread(string name, AfPacketSource ring, PacketIngress ingress, StopSignal stop)
        : base(name, ingress, stop)
    {
        _ring = ring;
        _handler = new FrameHandler(ingress);
        Counters.ReceiveBufferBytes = (long)ring.BlockSizeBytes * ring.BlockCount;
    }

    public override void Dispose() => _ring.Dispose();

    protected override void ReceiveOnce()
    {
        _ring.ReceiveBatch(ref _handler, PollMilliseconds);
        var counters = Counters;
        Volatile.Write(ref counters.Packets, _ring.Packets);
        Volatile.Write(ref counters.Bytes, _ring.Bytes);
        Volatile.Write(ref counters.Truncated, _ring.TruncatedPackets);

        // The kernel's statistics cost a system call (and reset on read): once a second is enough.
        if (Environment.TickCount64 >= _nextStatistics)
        {
            _ring.RefreshKernelStatistics();
            Volatile.Write(ref counters.KernelDrops, _ring.KernelDrops);
            _nextStatistics = Environment.TickCount64 + 1000;
        }
    }
}

/// <summary>One libpcap live capture.</summary>
internal sealed class PcapReceiverThread : ReceiverThread
{
    private readonly PcapLiveSource _capture;
    private FrameHandler _handler;
    private long _nextStatistics;

    public PcapReceiverThread(string name, PcapLiveSource capture, PacketIngress ingress, StopSignal stop)
        : base(name, ingress, stop)
    {
        _capture = capture;
        _handler = new FrameHandler(ingress);
    }

    public override void Dispose() => _capture.Dispose();

    protected override void ReceiveOnce()
    {
        _capture.ReceiveBatch(ref _handler, PollMilliseconds);
        var counters = Counters;
        Volatile.Write(ref counters.Packets, _capture.Packets);
        Volatile.Write(ref counters.Bytes, _capture.Bytes);
        Volatile.Write(ref counters.Truncated, _capture.TruncatedPackets);
        if (Environment.TickCount64 >= _nextStatistics)
        {
            // libpcap is not thread-safe: its statistics are read here, on the receiving thread.
            _capture.RefreshKernelStatistics();
            Volatile.Write(ref counters.KernelDrops, _capture.KernelDrops);
            _nextStatistics = Environment.TickCount64 + 1000;
        }
    }
}
