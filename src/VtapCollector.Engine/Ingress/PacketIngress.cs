using System.Runtime.CompilerServices;
using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine.PacketCapture;
using VtapCollector.Engine.Workers;

namespace VtapCollector.Engine.Ingress;

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
/// With the packet clock (a replay), the ingress also sends every worker a tick each time packet time
/// passes a second, in line with the packets, so the workers expire flows where a single table would.
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
    private readonly bool _packetClock;
    private readonly VniGroups? _vniGroups;
    private readonly CaptureSessions? _captureSessions;
    private CaptureSession[] _captures = [];
    private CaptureGate _captureGate;
    private bool _captureRingPending;
    private DecodedPacket _scratch;

    // The packet being handed to a worker, in pinned memory: the streaming copy into the queue reads
    // it through a pointer, which a heap object the GC may move could not give.
    private readonly QueuedPacket[] _staging = GC.AllocateArray<QueuedPacket>(1, pinned: true);
    private long _now;
    private long _nextTick;

    public PacketIngress(
        PacketDecoder decoder,
        AllowListHolder allowList,
        SpscQueue<QueuedPacket>[] queues,
        OverflowPolicy overflow,
        ReceiverCounters counters,
        LabelIndex<uint> vnis,
        LabelIndex<IpAddress> tunnelSources,
        StopSignal stop,
        EngineClock clock = EngineClock.Wall,
        VniGroups? vniGroups = null,
        CaptureSessions? captures = null)
    {
        _vniGroups = vniGroups;
        _packetClock = clock == EngineClock.Packet;
        _decoder = decoder;
        _allowList = allowList;
        _queues = queues;
        _overflow = overflow;
        _counters = counters;
        _vnis = vnis;
        _tunnelSources = tunnelSources;
        _stop = stop;
        _captureSessions = captures;
        BeginBatch();
    }

    public ReceiverCounters Counters => _counters;

    /// <summary>A tunnel payload from a UDP socket: the sender is the mirror source, the datagram's destination the tunnel's.</summary>
    public void OnTunnelPayload(TunnelKind kind, in ReceivedDatagram meta, ReadOnlySpan<byte> payload)
    {
        var allowList = _allowList.Current;
        if (!allowList.AllowsSource(meta.Source))
        {
            _counters.Rejected[RejectReason.SourceNotAllowed]++;
            return;
        }

        _counters.TunnelSourcePackets[_tunnelSources.IndexOf(meta.Source, LabelHash.Of(meta.Source))]++;
        var status = _decoder.DecodeTunnelPayload(kind, meta.Source, meta.Destination, meta.SourceIpVersion, payload, out _scratch);
        if (Accept(status, allowList, meta.TimestampNanos) && _captures.Length != 0 && _captureGate.Passes(_scratch))
        {
            KeepPayload(kind, meta, payload);
        }
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

                _counters.TunnelSourcePackets[_tunnelSources.IndexOf(source, LabelHash.Of(source))]++;
            }
        }

        if (Accept(status, allowList, meta.TimestampNanos) && _captures.Length != 0 && _captureGate.Passes(_scratch))
        {
            KeepFrame(meta, frame);
        }

        if (_packetClock)
        {
            AdvancePacketTime(meta.TimestampNanos);
        }
    }

    /// <summary>
    /// Packet time only moves forward here, even if a merged capture steps back a little. Each time it
    /// passes the next whole second since the last tick, every worker gets a tick.
    /// </summary>
    private void AdvancePacketTime(long timestampNanos)
    {
        if (timestampNanos <= _now)
        {
            return;
        }

        _now = timestampNanos;
        if (_now < _nextTick)
        {
            return;
        }

        _nextTick = _now + TickIntervalNanos;
        foreach (var queue in _queues)
        {
            int slot;
            var waits = 0;
            while (!queue.TryClaim(out slot))
            {
                // A tick is never dropped: the replay waits for the worker.
                FullQueueWait.Once(ref waits);
            }

            ref var item = ref queue[slot];
            item.IsTick = true;
            item.TimestampNanos = _now;

            // Publishes the packets staged before the tick with it, in order.
            queue.Publish();
        }
    }

    /// <summary>Packet time between ticks: flows are expired at most once a second of packet time.</summary>
    public const long TickIntervalNanos = 1_000_000_000L;

    /// <summary>Counts and dispatches a decoded packet; true when the allow-list accepted it (whether or not a full queue then dropped it).</summary>
    private bool Accept(DecodeStatus status, AllowList allowList, long timestampNanos)
    {
        if (status != DecodeStatus.Ok)
        {
            _counters.Rejected[(int)status]++;
            return false;
        }

        ref readonly var packet = ref _scratch;
        if (!allowList.AllowsVni(packet.Vni))
        {
            _counters.Rejected[RejectReason.VniNotAllowed]++;
            return false;
        }

        if ((packet.Flags & PacketFlags.TruncatedCopy) != 0)
        {
            _counters.TruncatedCopies++;
        }

        var vniIndex = _vnis.IndexOf(packet.Vni, LabelHash.Of(packet.Vni));
        _counters.VniPackets[vniIndex]++;
        _counters.VniBytes[vniIndex] += packet.IpBytes;
        if (_vniGroups is not null)
        {
            // After the per-VNI metrics (they count what each tap sent), before the worker and the
            // flow key: copies under two VNIs of one group must meet in one flow of one worker.
            _scratch.Vni = _vniGroups.Canonical(packet.Vni);
        }

        var queue = _queues[WorkerOf(packet, _queues.Length)];
        int slot;
        var waits = 0;
        while (!queue.TryClaim(out slot))
        {
            if (_overflow == OverflowPolicy.DropNewest || _stop.IsStopping)
            {
                _counters.DispatchDropped++;
                return true;
            }

            // Block: the worker frees room soon; meanwhile the kernel buffers.
            FullQueueWait.Once(ref waits);
        }

        ref var staged = ref _staging[0];
        staged.Packet = packet;
        staged.TimestampNanos = timestampNanos;
        queue.WriteStreaming(slot, in staged);
        queue.Stage();
        if (queue.Staged >= PublishBatch)
        {
            queue.PublishStaged();
            if (_captureRingPending)
            {
                RingCaptureWriter();
            }
        }

        return true;
    }

    /// <summary>
    /// Rings the capture writer's doorbell for the packets kept since the last ring: once per publish
    /// to the workers, right after its store fence, not once per kept packet, because the doorbell's
    /// full fence waits for every streaming store of the hand-off still in flight (perf put that wait
    /// at a third of a kept packet's cost on the reading thread).
    /// </summary>
    private void RingCaptureWriter()
    {
        _captureRingPending = false;
        _captureSessions!.Doorbell.Ring();
    }

    /// <summary>Packets staged in a worker's queue before they are published to it in one write.</summary>
    private const int PublishBatch = 32;

    /// <summary>
    /// Makes every packet staged for the workers visible to them. The source thread calls it after each
    /// batch it receives (a recvmmsg call, a ring block) and at the end, so no packet waits longer than
    /// one receive call; the engine calls it when it finishes, after the sources stopped.
    /// </summary>
    public void Flush()
    {
        foreach (var queue in _queues)
        {
            queue.PublishStaged();
        }

        if (_captureRingPending)
        {
            RingCaptureWriter();
        }

        BeginBatch();
    }

    /// <summary>
    /// Marks the capture sessions to be read again, once per batch (a source thread calls it before each
    /// receive call, and <see cref="Flush"/> after). They are read at the batch's first packet, after the
    /// receive call's wait, not before it: a session started while a receiver waited gets the packets
    /// that ended the wait. Until then the gate is open, so that first packet reaches <see cref="SessionsRead"/>.
    /// </summary>
    public void BeginBatch()
    {
        _captures = _captureSessions is null ? [] : Unread;
        _captureGate = CaptureGate.Open;
    }

    /// <summary>Stands for "not read yet this batch": one entry, so the batch's first packet reaches <see cref="SessionsRead"/>.</summary>
    private static readonly CaptureSession[] Unread = [null!];

    /// <summary>
    /// At a batch's first packet, reads the sessions and closes the gate to the one session's cheap
    /// terms (several sessions leave it open: each is then asked in full); true when the packet may
    /// still be kept. Every later packet of the batch meets the gate inline, in the receiving method.
    /// </summary>
    private bool SessionsRead()
    {
        if (!ReferenceEquals(_captures, Unread))
        {
            return true;
        }

        _captures = _captureSessions!.Active;
        _captureGate = _captures is [var only] ? only.Filter.Gate : CaptureGate.Open;
        return _captures.Length != 0 && _captureGate.Passes(_scratch);
    }

    /// <summary>
    /// Offers a socket's tunnel payload to the sessions whose filter the decoded packet passes: only
    /// the packets through the gate come here, so this method's frame is never set up for the others.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void KeepPayload(TunnelKind kind, in ReceivedDatagram meta, ReadOnlySpan<byte> payload)
    {
        if (!SessionsRead())
        {
            return;
        }

        var locals = _captureSessions!.LocalAddresses;
        ref readonly var packet = ref _scratch;
        InnerFrame inner = default;
        var located = 0;
        Span<byte> prefix = stackalloc byte[OuterHeader.MaxLength];
        foreach (var session in _captures)
        {
            if (!session.Filter.Matches(packet, locals))
            {
                continue;
            }

            var frame = Described(packet, meta.TimestampNanos);
            if (session.Spec.Outer)
            {
                var length = OuterHeader.Write(prefix, meta, payload.Length);
                frame.LinkType = LinkType.Raw;
                frame.OriginalLength = length + payload.Length;
                session.Enqueue(prefix[..length], payload, frame);
                _captureRingPending = true;
                continue;
            }

            if (located == 0)
            {
                located = _captureSessions.Locator.TryLocateInPayload(kind, payload, packet.TunnelDepth, out inner) ? 1 : -1;
            }

            if (located > 0)
            {
                frame.LinkType = inner.LinkType;
                frame.OriginalLength = inner.Length;
                session.Enqueue(default, payload.Slice(inner.Offset, inner.Length), frame);
                _captureRingPending = true;
            }
            else
            {
                // A tunnel the decoder removes but the locator cannot walk: counted, never silent.
                session.CountDropped(1);
            }
        }
    }

    /// <summary>Offers a captured frame (or its inner frame) to the sessions whose filter the decoded packet passes (as <see cref="KeepPayload"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void KeepFrame(in CapturedPacket meta, ReadOnlySpan<byte> data)
    {
        if (!SessionsRead())
        {
            return;
        }

        var locals = _captureSessions!.LocalAddresses;
        ref readonly var packet = ref _scratch;
        InnerFrame inner = default;
        var located = 0;
        foreach (var session in _captures)
        {
            if (!session.Filter.Matches(packet, locals))
            {
                continue;
            }

            var frame = Described(packet, meta.TimestampNanos);

            // Bytes the capture itself cut off the frame are missing from the inner frame's end as well.
            var cut = Math.Max(0, meta.OriginalLength - data.Length);
            if (session.Spec.Outer)
            {
                frame.LinkType = meta.LinkType;
                frame.OriginalLength = data.Length + cut;
                session.Enqueue(default, data, frame);
                _captureRingPending = true;
                continue;
            }

            if (located == 0)
            {
                located = _captureSessions.Locator.TryLocate(meta.LinkType, data, packet.TunnelDepth, out inner) ? 1 : -1;
            }

            if (located > 0)
            {
                frame.LinkType = inner.LinkType;
                frame.OriginalLength = inner.Length + cut;
                session.Enqueue(default, data.Slice(inner.Offset, inner.Length), frame);
                _captureRingPending = true;
            }
            else
            {
                // A tunnel the decoder removes but the locator cannot walk: counted, never silent.
                session.CountDropped(1);
            }
        }
    }

    private static CapturedFrame Described(in DecodedPacket packet, long timestampNanos) => new()
    {
        TimestampNanos = timestampNanos,
        Tunnel = packet.Tunnel,
        Vni = packet.Vni,
        TunnelSource = packet.TunnelSource,
        TunnelIpVersion = packet.TunnelIpVersion,
    };

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
