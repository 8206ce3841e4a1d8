using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine.Ingress;

namespace VtapCollector.Engine.Sources;

/// <summary>
/// A receiving thread: takes batches from one source (a UDP socket, a capture ring) and runs the
/// ingress path on each packet. The per-batch call is virtual; the per-packet call is not (the
/// sources take struct handlers as generic arguments).
/// </summary>
internal abstract class ReceiverThread : IDisposable
{
    /// <summary>How long one wait for traffic lasts, so the loop notices a stop promptly.</summary>
    protected const int PollMilliseconds = 100;

    private readonly Thread _thread;
    private readonly StopSignal _stop;

    protected ReceiverThread(string name, PacketIngress ingress, StopSignal stop)
    {
        Ingress = ingress;
        _stop = stop;
        Name = name;
        _thread = new Thread(Run) { Name = name, IsBackground = true };
    }

    public string Name { get; }

    public PacketIngress Ingress { get; }

    public ReceiverCounters Counters => Ingress.Counters;

    public Exception? Failure { get; private set; }

    public void Start() => _thread.Start();

    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    public abstract void Dispose();

    /// <summary>Receives one batch (waiting up to <see cref="PollMilliseconds"/>) and refreshes the source's counters.</summary>
    protected abstract void ReceiveOnce();

    private void Run()
    {
        try
        {
            while (!_stop.IsStopping)
            {
                // The capture sessions in force for this batch (a reference read; nothing per packet).
                Ingress.BeginBatch();
                ReceiveOnce();
                Volatile.Write(ref Counters.Heartbeat, Environment.TickCount64);
            }
        }
        catch (Exception error)
        {
            Failure = error;
        }
    }
}

/// <summary>One UDP socket (of possibly several sharing the port with SO_REUSEPORT).</summary>
internal sealed class UdpReceiverThread : ReceiverThread
{
    private readonly UdpTunnelReceiver _socket;
    private Handler _handler;

    public UdpReceiverThread(string name, UdpTunnelReceiver socket, TunnelKind kind, PacketIngress ingress, StopSignal stop)
        : base(name, ingress, stop)
    {
        _socket = socket;
        _handler = new Handler(ingress, kind);
        Counters.ReceiveBufferBytes = socket.ReceiveBufferBytes;
    }

    public System.Net.IPEndPoint LocalEndPoint => _socket.LocalEndPoint;

    public override void Dispose() => _socket.Dispose();

    protected override void ReceiveOnce()
    {
        if (_socket.ReceiveBatch(ref _handler, PollMilliseconds) > 0)
        {
            Ingress.Flush();
            var counters = Counters;
            Volatile.Write(ref counters.Packets, _socket.Datagrams);
            Volatile.Write(ref counters.Bytes, _socket.Bytes);
            Volatile.Write(ref counters.Truncated, _socket.TruncatedDatagrams);
            Volatile.Write(ref counters.KernelDrops, _socket.KernelDrops);
        }
    }

    private readonly struct Handler(PacketIngress ingress, TunnelKind kind) : IDatagramHandler
    {
        public void OnDatagram(in ReceivedDatagram meta, ReadOnlySpan<byte> payload) =>
            ingress.OnTunnelPayload(kind, meta, payload);
    }
}
