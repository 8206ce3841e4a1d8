using System.Net;
using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Engine.Sources;

/// <summary>
/// The live daemon's sources: UDP sockets and capture rings, each read by its own thread that runs
/// an ingress of the engine. <see cref="Open"/> opens every source first, so a port in use or a
/// missing interface fails before anything runs.
/// </summary>
internal sealed class LiveSources(FlowEngine engine) : IDisposable
{
    private readonly List<ReceiverThread> _receivers = [];

    public IReadOnlyList<ReceiverThread> Receivers => _receivers;

    /// <summary>How capture sources were set up where it depends on the machine (the AF_XDP modes), one phrase each, for the start-up log.</summary>
    public List<string> Details { get; } = [];

    /// <summary>The UDP addresses actually bound (the real port when 0 was configured).</summary>
    public IEnumerable<IPEndPoint> UdpEndPoints => _receivers.OfType<UdpReceiverThread>().Select(r => r.LocalEndPoint).Distinct();

    /// <summary>The first receiving thread that died of an exception, if any.</summary>
    public Exception? Failure => _receivers.Select(r => r.Failure).FirstOrDefault(f => f is not null);

    /// <summary>
    /// Opens every source the settings enable (throws <see cref="UdpSocketException"/> or a capture
    /// exception with one sentence when one cannot be opened, closing those already open) and gives each
    /// its receiving thread, not yet started.
    /// </summary>
    public void Open(SourcesSettings settings, DecoderOptions decoder)
    {
        var opened = new List<(string Label, IDisposable Resource, Func<string, ReceiverThread> CreateThread)>();
        try
        {
            if (settings.Udp.Enabled)
            {
                OpenUdp(settings.Udp, settings.Udp.EndPoints(), settings.Udp.EffectiveSockets, decoder, opened);
            }

            CaptureSources.Open(settings, settings.AfPacket.EffectiveRings, decoder, engine, opened, Details);
        }
        catch
        {
            foreach (var source in opened)
            {
                source.Resource.Dispose();
            }

            throw;
        }

        for (var r = 0; r < opened.Count; r++)
        {
            _receivers.Add(opened[r].CreateThread($"vtap-recv-{r}"));
        }
    }

    public void Start()
    {
        foreach (var receiver in _receivers)
        {
            receiver.Start();
        }
    }

    /// <summary>Stops every receiving thread by <paramref name="deadline"/>; false when one did not stop in time.</summary>
    public bool Stop(long deadline)
    {
        engine.Stopping.Stop();
        var finished = true;
        foreach (var receiver in _receivers)
        {
            finished &= receiver.Join(FlowEngine.Remaining(deadline));
        }

        return finished;
    }

    public void Dispose()
    {
        foreach (var receiver in _receivers)
        {
            receiver.Dispose();
        }
    }

    /// <summary>Opens every UDP socket: <c>Sources:Udp:Sockets</c> per address, sharing the port with SO_REUSEPORT.</summary>
    private void OpenUdp(UdpSourceSettings udp, IReadOnlyList<IPEndPoint> listen, int sockets, DecoderOptions decoder, List<(string, IDisposable, Func<string, ReceiverThread>)> opened)
    {
        foreach (var requested in listen)
        {
            var kind = decoder.GenevePorts.Contains((ushort)requested.Port) ? TunnelKind.Geneve : TunnelKind.Vxlan;
            var endPoint = requested;
            for (var i = 0; i < sockets; i++)
            {
                var socket = new UdpTunnelReceiver(new UdpTunnelReceiverOptions
                {
                    EndPoint = endPoint,
                    ReceiveBufferBytes = udp.ReceiveBufferBytes,
                    BatchSize = udp.BatchSize,
                    MaxDatagramBytes = udp.MaxDatagramBytes,
                    ReusePort = true,
                });

                // Port 0 (tests) lets the first socket pick a port; the others must join that one.
                endPoint = socket.LocalEndPoint;
                opened.Add(("udp", socket, name => new UdpReceiverThread(name, socket, kind, engine.AddIngress("udp"), engine.Stopping)));
            }
        }
    }
}
