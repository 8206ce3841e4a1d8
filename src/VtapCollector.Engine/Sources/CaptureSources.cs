using System.Globalization;
using VtapCollector.Capture.Live;
using VtapCollector.Capture.Live.Xdp;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;

namespace VtapCollector.Engine.Sources;

/// <summary>
/// Opens the capture sources the settings enable: AF_PACKET rings joined in one fanout group (the
/// kernel spreads frames over them; the symmetric dispatch after decoding still brings both
/// directions of a flow to one worker), one libpcap capture, and one AF_XDP socket per receive
/// queue. All are filtered in the kernel to UDP towards the configured tunnel ports, and to GRE
/// when the decoder decapsulates it.
/// </summary>
internal static class CaptureSources
{
    public static void Open(SourcesSettings raw, int afPacketRings, DecoderOptions decoder, FlowEngine engine, List<(string, IDisposable, Func<string, ReceiverThread>)> sources, List<string> details)
    {
        var stop = engine.Stopping;
        var ports = decoder.VxlanPorts.Concat(decoder.GenevePorts).Distinct().ToList();
        if (raw.AfPacket.Enabled)
        {
            // A fanout group id is per network namespace; the process id keeps two collectors apart.
            int? group = afPacketRings > 1 ? Environment.ProcessId & 0xFFFF : null;
            for (var i = 0; i < afPacketRings; i++)
            {
                var ring = new AfPacketSource(new AfPacketSourceOptions
                {
                    Interface = raw.AfPacket.Interface,
                    Ports = ports,
                    Gre = decoder.Gre,
                    BlockSizeBytes = raw.AfPacket.BlockSizeBytes,
                    BlockCount = raw.AfPacket.BlockCount,
                    FanoutGroup = group,
                    FanoutMode = AfPacketFanoutMode.Hash,
                    Promiscuous = raw.AfPacket.Promiscuous,
                });
                sources.Add(("af_packet", ring, name => new CaptureReceiverThread(name, ring, engine.AddIngress("af_packet"), stop)));
            }
        }

        if (raw.Pcap.Enabled)
        {
            var filter = raw.Pcap.Filter.Length > 0 ? raw.Pcap.Filter : DefaultPcapFilter(ports, decoder.Gre);
            var capture = new PcapLiveSource(new PcapLiveSourceOptions
            {
                Interface = raw.Pcap.Interface,
                Filter = filter,
                BufferSizeBytes = raw.Pcap.BufferSizeBytes,
                Promiscuous = raw.Pcap.Promiscuous,
            });
            sources.Add(("pcap", capture, name => new CaptureReceiverThread(name, capture, engine.AddIngress("pcap"), stop)));
        }

        if (raw.Gre.Enabled)
        {
            foreach (var address in raw.Gre.Addresses())
            {
                var socket = new GreSocketSource(new GreSocketSourceOptions
                {
                    Address = address,
                    ReceiveBufferBytes = raw.Gre.ReceiveBufferBytes,
                    BatchSize = raw.Gre.BatchSize,
                    MaxPacketBytes = raw.Gre.MaxPacketBytes,
                });
                sources.Add(("gre", socket, name => new CaptureReceiverThread(name, socket, engine.AddIngress("gre"), stop)));
            }
        }

        if (raw.Xdp.Enabled)
        {
            var sockets = XdpSource.Open(raw.Xdp.ToOptions(ports, decoder.Gre));
            foreach (var socket in sockets)
            {
                sources.Add(("xdp", socket, name => new CaptureReceiverThread(name, socket, engine.AddIngress("xdp"), stop)));
            }

            var first = sockets[0];
            details.Add($"xdp on {first.Interface} ({sockets.Count} {(sockets.Count == 1 ? "queue" : "queues")}, {(first.AttachMode == XdpAttachMode.Native ? "native" : "generic")} XDP, {(first.ZeroCopy ? "zero-copy" : "copy mode")})");
        }
    }

    /// <summary>UDP to the tunnel ports; with GRE, also IP protocol 47 over IPv4 or IPv6 (ERSPAN, bridged Ethernet).</summary>
    public static string DefaultPcapFilter(IEnumerable<ushort> ports, bool gre)
    {
        var udp = "udp and (" + string.Join(" or ", ports.Select(p => "dst port " + p.ToString(CultureInfo.InvariantCulture))) + ")";
        return gre ? "(" + udp + ") or ip proto 47 or ip6 proto 47" : udp;
    }
}

/// <summary>
/// One live capture (an AF_PACKET ring, a libpcap handle, a GRE socket or an AF_XDP socket): frames with their outer headers,
/// decoded from the link layer up.
/// </summary>
internal sealed class CaptureReceiverThread : ReceiverThread
{
    private readonly ILiveCaptureSource _source;
    private FrameHandler _handler;
    private long _nextStatistics;

    public CaptureReceiverThread(string name, ILiveCaptureSource source, PacketIngress ingress, StopSignal stop)
        : base(name, ingress, stop)
    {
        _source = source;
        _handler = new FrameHandler(ingress);
        if (source is AfPacketSource ring)
        {
            Counters.ReceiveBufferBytes = (long)ring.BlockSizeBytes * ring.BlockCount;
        }
        else if (source is XdpSource socket)
        {
            Counters.ReceiveBufferBytes = socket.UmemBytes;
        }
    }

    public override void Dispose() => _source.Dispose();

    protected override void ReceiveOnce()
    {
        _source.ReceiveBatch(ref _handler, PollMilliseconds);
        Ingress.Flush();
        var counters = Counters;
        Volatile.Write(ref counters.Packets, _source.Packets);
        Volatile.Write(ref counters.Bytes, _source.Bytes);
        Volatile.Write(ref counters.Truncated, _source.TruncatedPackets);

        // The kernel's statistics cost a system call (libpcap's must also be read on this thread):
        // once a second is enough.
        if (Environment.TickCount64 >= _nextStatistics)
        {
            _source.RefreshKernelStatistics();
            Volatile.Write(ref counters.KernelDrops, _source.KernelDrops);
            _nextStatistics = Environment.TickCount64 + 1000;
        }
    }
}
