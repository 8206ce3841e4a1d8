using System.Runtime.CompilerServices;
using VtapCollector.Capture;
using VtapCollector.Decoding;

namespace VtapCollector.Service;

/// <summary>A decoded packet on its way from a receiver to a flow worker.</summary>
internal struct QueuedPacket
{
    public DecodedPacket Packet;
    public long TimestampNanos;
}

/// <summary>The allow-list in force; a reload swaps it (a reference write, atomic).</summary>
internal sealed class AllowListHolder(AllowList initial)
{
    private AllowList _current = initial;

    public AllowList Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value);
    }
}

/// <summary>
/// The receiving thread's part of the packet path: allow-list, decode, count, and hand the decoded
/// packet to the worker that owns its flow. The worker is chosen by a hash of (VNI, protocol, inner
/// addresses) that is the same for both directions, so a flow's two halves meet in one flow table
/// whatever the mirror does with the outer header. Ports are left out of the hash on purpose: later
/// IP fragments carry none, and they must reach the worker whose table holds their first fragment.
/// </summary>
internal sealed class PacketIngress
{
    private readonly PacketDecoder _decoder;
    private readonly AllowListHolder _allowList;
    private readonly SpscQueue<QueuedPacket>[] _queues;
    private readonly OverflowPolicy _overflow;
    private readonly ReceiverCounters _counters;
    private readonly LabelIndex<uint> _vnis;
    private readonly LabelIndex<IpAddress> _tunnelSources;
    private readonly StopSignal _stop;
    private DecodedPacket _scratch;

    public PacketIngress(
        PacketDecoder decoder,
        AllowListHolder allowList,
        SpscQueue<QueuedPacket>[] queues,
        OverflowPolicy overflow,
        ReceiverCounters counters,
        LabelIndex<uint> vnis,
        LabelIndex<IpAddress> tunnelSources,
        StopSignal stop)
    {
        _decoder = decoder;
        _allowList = allowList;
        _queues = queues;
        _overflow = overflow;
        _counters = counters;
        _vnis = vnis;
        _tunnelSources = tunnelSources;
        _stop = stop;
    }

    public ReceiverCounters Counters => _counters;

    /// <summary>A tunnel payload from a UDP socket: the sender is the mirror source.</summary>
    public void OnTunnelPayload(TunnelKind kind, in ReceivedDatagram meta, IpAddress localAddress, ReadOnlySpan<byte> payload)
    {
        var allowList = _allowList.Current;
        if (!allowList.AllowsSource(meta.Source))
        {
            _counters.Rejected[RejectReason.SourceNotAllowed]++;
            return;
        }

        _counters.TunnelSourcePackets[_tunnelSources.IndexOf(meta.Source, meta.Source.GetHashCode())]++;
        var status = _decoder.DecodeTunnelPayload(kind, meta.Source, localAddress, meta.SourceIpVersion, payload, out _scratch);
        Accept(status, allowList, meta.TimestampNanos);
    }

    /// <summary>A whole frame from a capture source: the outer header names the mirror source.</summary>
    public void OnFrame(in CapturedPacket meta, ReadOnlySpan<byte> frame)
    {
        var allowList = _allowList.Current;
        var status = _decoder.Decode(meta.LinkType, frame, out _scratch);
        if (status == DecodeStatus.Ok)
        {
            // Untunnelled (SPAN) traffic has no mirror source to check.
            if (_scratch.Tunnel != TunnelKind.None)
            {
                var source = _scratch.TunnelSource;
                if (!allowList.AllowsSource(source))
                {
                    _counters.Rejected[RejectReason.SourceNotAllowed]++;
                    return;
                }

                _counters.TunnelSourcePackets[_tunnelSources.IndexOf(source, source.GetHashCode())]++;
            }
        }

        Accept(status, allowList, meta.TimestampNanos);
    }

    private void Accept(DecodeStatus status, AllowList allowList, long timestampNanos)
    {
        if (status != DecodeStatus.Ok)
        {
            _counters.Rejected[(int)status]++;
            return;
        }

        ref readonly var packet = ref _scratch;
        if (!allowList.AllowsVni(packet.Vni))
        {
            _counters.Rejected[RejectReason.VniNotAllowed]++;
            return;
        }

        var vniIndex = _vnis.IndexOf(packet.Vni, (int)Mix(packet.Vni));
        _counters.VniPackets[vniIndex]++;
        _counters.VniBytes[vniIndex] += packet.IpBytes;

        var queue = _queues[WorkerOf(packet, _queues.Length)];
        int slot;
        while (!queue.TryClaim(out slot))
        {
            if (_overflow == OverflowPolicy.DropNewest || _stop.IsStopping)
            {
                _counters.DispatchDropped++;
                return;
            }

            // Block: the worker frees room within microseconds; meanwhile the kernel buffers.
            Thread.Yield();
        }

        ref var item = ref queue[slot];
        item.Packet = packet;
        item.TimestampNanos = timestampNanos;
        queue.Publish();
    }

    /// <summary>
    /// The worker for a packet: the sum of the two endpoint hashes does not change when source and
    /// destination swap, so both directions land on the same worker.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WorkerOf(in DecodedPacket packet, int workers)
    {
        if (workers == 1)
        {
            return 0;
        }

        var endpoints = Mix(packet.Source.Hi ^ (packet.Source.Lo * 0x9E37_79B9_7F4A_7C15UL))
            + Mix(packet.Destination.Hi ^ (packet.Destination.Lo * 0x9E37_79B9_7F4A_7C15UL));
        var hash = Mix(endpoints ^ ((ulong)packet.Vni << 8) ^ packet.Protocol);
        return (int)(((hash >> 32) * (ulong)workers) >> 32);
    }

    /// <summary>A 64-bit finaliser (splitmix64's): every input bit affects every output bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong value)
    {
        value = (value ^ (value >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return value ^ (value >> 31);
    }
}

/// <summary>Set once when the collector begins to stop; read by every loop.</summary>
internal sealed class StopSignal
{
    private volatile bool _stopping;

    public bool IsStopping => _stopping;

    public void Stop() => _stopping = true;
}
