namespace VtapCollector.Engine.PacketCapture;

/// <summary>
/// How a receiving thread wakes the capture writer from a long sleep. While packets come the writer
/// naps a few milliseconds at a time and nobody rings; after a while with none it sleeps longer and
/// says so here, and the first packet queued after that rings. Both sides fence between their write
/// and their read (the writer: "asleep", then the queues; a receiver: the packet, then "asleep"), so
/// either the writer sees the packet or the receiver sees the writer asleep: no packet waits out the
/// long sleep. A ring is remembered until the writer's next wait takes it.
/// </summary>
internal sealed class WriterDoorbell
{
    private readonly object _gate = new();
    private volatile bool _asleep;
    private bool _rung;

    /// <summary>A receiving thread, after it queued a packet: one fence and one read unless the writer sleeps.</summary>
    public void Ring()
    {
        Interlocked.MemoryBarrier();
        if (_asleep)
        {
            WakeNow();
        }
    }

    /// <summary>Wakes the writer whatever it is doing (a packet while it sleeps, or a stop).</summary>
    public void WakeNow()
    {
        lock (_gate)
        {
            _rung = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// The writer: announces a long sleep, then runs <paramref name="drain"/> once more (a packet
    /// queued before the announcement was seen is written now) and sleeps only if it wrote nothing,
    /// until rung or <paramref name="timeout"/>. True when it drained something instead of sleeping.
    /// </summary>
    public bool SleepUnlessDrained(Func<bool> drain, TimeSpan timeout)
    {
        _asleep = true;
        Interlocked.MemoryBarrier();
        try
        {
            if (drain())
            {
                return true;
            }

            Nap(timeout);
            return false;
        }
        finally
        {
            _asleep = false;
        }
    }

    /// <summary>The writer: waits until rung or <paramref name="timeout"/>, and takes the ring.</summary>
    public void Nap(TimeSpan timeout)
    {
        lock (_gate)
        {
            if (!_rung)
            {
                Monitor.Wait(_gate, timeout);
            }

            _rung = false;
        }
    }
}
