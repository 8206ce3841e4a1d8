namespace VtapCollector.Engine.PacketCapture;

/// <summary>Where a capture session is in its life.</summary>
internal enum CaptureState
{
    /// <summary>Keeping packets.</summary>
    Running,
    /// <summary>Its disk is full: packets are dropped (and counted) until space is freed.</summary>
    Paused,
    /// <summary>A limit (packets, bytes, duration) was reached; its files stay.</summary>
    Completed,
    /// <summary>Stopped by the API or by a reload; its files stay.</summary>
    Stopped,
    /// <summary>Its files cannot be written (other than a full disk); see the reason.</summary>
    Failed,
}

/// <summary>
/// One capture session: its settings, its queue to the writer, and its counters. The receiving
/// threads call <see cref="Enqueue"/>; the writer thread owns the files and the written counters.
/// </summary>
internal sealed class CaptureSession
{
    private long _dropped;
    private long _packets;
    private long _bytes;
    private int _state;
    private string? _reason;

    private readonly WriterDoorbell? _doorbell;

    public CaptureSession(CaptureSpec spec, string directory, DateTimeOffset started, WriterDoorbell? doorbell = null, bool singleProducer = false)
    {
        _doorbell = doorbell;
        Spec = spec;
        Filter = spec.Filter;
        Directory = directory;
        Started = started;
        Queue = new CaptureQueue(spec.QueueSlots, spec.SnapLength, singleProducer);
    }

    public CaptureSpec Spec { get; }

    public string Name => Spec.Name;

    /// <summary>The session's filter (<see cref="CaptureSpec.Filter"/>), read per packet by the receiving threads.</summary>
    public CaptureFilter Filter { get; }

    /// <summary>The folder of this session's files.</summary>
    public string Directory { get; }

    public DateTimeOffset Started { get; }

    public CaptureQueue Queue { get; }

    public CaptureState State => (CaptureState)Volatile.Read(ref _state);

    /// <summary>Why the session is paused, failed or ended; null while running.</summary>
    public string? Reason => Volatile.Read(ref _reason);

    /// <summary>True while packets are kept (running or paused by a full disk).</summary>
    public bool IsActive => State is CaptureState.Running or CaptureState.Paused;

    /// <summary>Packets refused: the queue was full, or the disk was.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Packets written to files.</summary>
    public long Packets => Volatile.Read(ref _packets);

    /// <summary>Packet bytes written (as kept, after the snap length).</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>
    /// A receiving thread keeps a packet, or counts a drop when the writer is behind. It does not ring
    /// the writer's doorbell: the ingress rings once after its next publish to the workers
    /// (<see cref="WriterDoorbell.Ring"/> is a full fence, and a fence on the reading thread waits for
    /// the streaming stores of that hand-off).
    /// </summary>
    public void Enqueue(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data, in CapturedFrame frame)
    {
        if (Queue.TryEnqueue(prefix, data, frame))
        {
            return;
        }

        if (Spec.WaitWhenFull)
        {
            // A replay: the writer, woken from its nap at once (not only from a long sleep), empties
            // the queue soon; the reading thread yields it the core a few times before napping itself.
            // Ringing only woke a long sleep, so a full queue waited out the writer's 5 ms nap (2-3
            // times a replay of the IMIX corpus with a session keeping 1.2 %). A writer that died is
            // given a minute, then the packet is counted lost.
            var deadline = Environment.TickCount64 + 60_000;
            var waits = 0;
            while (Environment.TickCount64 < deadline)
            {
                _doorbell?.WakeNow();
                FullQueueWait.Once(ref waits);
                if (Queue.TryEnqueue(prefix, data, frame))
                {
                    return;
                }
            }
        }

        Interlocked.Increment(ref _dropped);
    }

    /// <summary>Counts packets that could not be kept: discarded by the writer (disk full), or whose inner frame was not found.</summary>
    public void CountDropped(long packets) => Interlocked.Add(ref _dropped, packets);

    /// <summary>The writer counts a packet written.</summary>
    public void CountWritten(int bytes)
    {
        Volatile.Write(ref _packets, _packets + 1);
        Volatile.Write(ref _bytes, _bytes + bytes);
    }

    /// <summary>Moves to <paramref name="state"/> unless the session has already ended; false when it had.</summary>
    public bool TrySetState(CaptureState state, string? reason)
    {
        while (true)
        {
            var current = Volatile.Read(ref _state);
            if (current is (int)CaptureState.Completed or (int)CaptureState.Stopped or (int)CaptureState.Failed)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _state, (int)state, current) == current)
            {
                Volatile.Write(ref _reason, reason);
                return true;
            }
        }
    }

    /// <summary>True when a packet or byte limit is reached (the writer then completes the session).</summary>
    public bool LimitReached =>
        (Spec.MaxPackets > 0 && Packets >= Spec.MaxPackets) || (Spec.MaxBytes > 0 && Bytes >= Spec.MaxBytes);
}
