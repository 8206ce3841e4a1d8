using VtapCollector.Decoding;
using VtapCollector.Export;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>
/// The one thread that writes every capture session's files: it drains each session's queue into its
/// <see cref="CaptureFileSet"/>, commits the files about once a second, ends sessions at their limits,
/// and pauses a session whose disk is full (ENOSPC), retrying every few seconds until space is freed.
/// The receiving threads never wait for it: when it falls behind, their packets are dropped and counted.
/// </summary>
internal sealed class CaptureWriter : IDisposable
{
    /// <summary>Packets written from one session before the next session gets its turn.</summary>
    private const int Turn = 256;
    private const int IdleMilliseconds = 5;

    /// <summary>Time without packets after which the writer sleeps long instead of napping.</summary>
    private const long LingerMilliseconds = 100;
    private const long CommitMilliseconds = 1000;
    private const long RetainMilliseconds = 10_000;

    /// <summary>Free space that resumes a session paused by a full disk: a few of its staged writes.</summary>
    private const long ResumeFreeBytes = 4L << 20;

    private readonly CaptureSessions _sessions;
    private readonly Dictionary<CaptureSession, Writing> _open = [];
    private readonly Thread _thread;
    private readonly PacketComments _comments = new();
    private readonly WriterDoorbell _doorbell;
    private readonly Func<bool> _drainOnce;
    private volatile bool _stopping;
    private long _lastCommit;
    private long _lastRetain;

    public CaptureWriter(CaptureSessions sessions)
    {
        _sessions = sessions;
        _doorbell = sessions.Doorbell;
        _drainOnce = DrainOnce;
        _thread = new Thread(Run) { Name = "capture-writer", IsBackground = true };
    }

    /// <summary>Called on this thread when a session pauses, resumes, completes or fails, with a sentence.</summary>
    public event Action<CaptureSession, string>? StateChanged;

    public Exception? Failure { get; private set; }

    /// <summary>
    /// How long the writer sleeps once no packet has come for <see cref="LingerMilliseconds"/>; a
    /// packet queued meanwhile rings it awake (<see cref="WriterDoorbell"/>). Default 250 ms: an idle
    /// session wakes the thread 4 times a second instead of 200.
    /// </summary>
    public TimeSpan LongSleep { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a session paused by a full disk looks for free space again. Default 5 s.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    public void Start() => _thread.Start();

    /// <summary>Writes what is queued, closes every file, and ends the thread.</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        _doorbell.WakeNow();
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>One pass over every session (the thread's loop body; a replay calls it itself between packets too).</summary>
    public bool DrainOnce()
    {
        var now = Environment.TickCount64;
        var wrote = false;
        foreach (var session in _sessions.Writable())
        {
            wrote |= Drain(session, now);
        }

        if (now - _lastCommit >= CommitMilliseconds)
        {
            _lastCommit = now;
            CommitAll(now);
        }

        return wrote;
    }

    private void Run()
    {
        try
        {
            var lastWork = Environment.TickCount64;
            while (!_stopping)
            {
                if (DrainOnce())
                {
                    lastWork = Environment.TickCount64;
                    continue;
                }

                // Woken at once by a stop (a replay's end waits on this thread) and, from the long
                // sleep, by the next packet.
                if (Environment.TickCount64 - lastWork < LingerMilliseconds)
                {
                    _doorbell.Nap(TimeSpan.FromMilliseconds(IdleMilliseconds));
                }
                else if (_doorbell.SleepUnlessDrained(_drainOnce, LongSleep))
                {
                    lastWork = Environment.TickCount64;
                }
            }

            // Whatever was queued before the stop is written: each pass takes a turn from every session.
            while (DrainOnce())
            {
            }

            DrainOnce();
            CloseAll();
        }
        catch (Exception error)
        {
            Failure = error;
        }
    }

    /// <summary>Closes every file, committing what is staged (the replay's end and the daemon's stop).</summary>
    public void CloseAll()
    {
        foreach (var (session, writing) in _open)
        {
            Close(session, writing);
        }

        _open.Clear();
    }

    private bool Drain(CaptureSession session, long now)
    {
        if (!_open.TryGetValue(session, out var writing))
        {
            writing = new Writing(new CaptureFileSet(session.Spec, session.Directory));
            _open[session] = writing;
        }

        if (session.Spec.Duration > TimeSpan.Zero && session.State == CaptureState.Running
            && DateTimeOffset.UtcNow - session.Started >= session.Spec.Duration)
        {
            Complete(session, "its duration ended");
        }

        if (session.State == CaptureState.Paused && now - writing.PausedAt >= (long)RetryInterval.TotalMilliseconds)
        {
            writing.PausedAt = now;
            if (HasRoom(session.Directory) && session.TrySetState(CaptureState.Running, null))
            {
                StateChanged?.Invoke(session, $"Capture '{session.Name}' resumed: its folder has room again.");
            }
        }

        var written = 0;
        var queue = session.Queue;
        while (written < Turn && queue.TryPeek(out var frame, out var data))
        {
            if (session.State is CaptureState.Paused)
            {
                queue.Release();
                session.CountDropped(1);
                written++;
                continue;
            }

            if (session.State is CaptureState.Completed or CaptureState.Failed)
            {
                // Packets queued before the end are not kept (a limit is exact).
                queue.Release();
                written++;
                continue;
            }

            if (!Write(session, writing, frame, data, now))
            {
                queue.Release();
                written++;
                continue;
            }

            queue.Release();
            written++;
            if (session.LimitReached)
            {
                Complete(session, "its packet or byte limit was reached");
            }
        }

        if (!session.IsActive && written == 0)
        {
            // Stopped, completed or failed, and its queue is empty: its files are final.
            Close(session, writing);
            _open.Remove(session);
            _sessions.Finished(session);
        }

        return written > 0;
    }

    private bool Write(CaptureSession session, Writing writing, in CapturedFrame frame, ReadOnlySpan<byte> data, long now)
    {
        var staged = writing.Files.StagedPackets;
        try
        {
            writing.Files.Write(frame, data, _comments.Of(frame), now);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            Failed(session, writing, error, staged + 1, now);
            return false;
        }

        session.CountWritten(data.Length);
        return true;
    }

    private void CommitAll(long now)
    {
        var retain = now - _lastRetain >= RetainMilliseconds;
        if (retain)
        {
            _lastRetain = now;
        }

        foreach (var (session, writing) in _open)
        {
            var staged = writing.Files.StagedPackets;
            try
            {
                writing.Files.Commit();
                if (retain)
                {
                    writing.Files.Retain(DateTimeOffset.UtcNow);
                }
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                Failed(session, writing, error, staged, now);
            }
        }
    }

    /// <summary>A full disk pauses the session (packets meanwhile are counted as dropped); anything else fails it.</summary>
    private void Failed(CaptureSession session, Writing writing, Exception error, long lost, long now)
    {
        writing.Files.Abandon();
        session.CountDropped(lost);
        if (IsDiskFull(error))
        {
            writing.PausedAt = now;
            if (session.TrySetState(CaptureState.Paused, "the disk is full"))
            {
                StateChanged?.Invoke(session, $"Capture '{session.Name}' paused: the disk of {session.Directory} is full; it resumes when space is freed.");
            }
        }
        else if (session.TrySetState(CaptureState.Failed, error.Message))
        {
            _sessions.Refresh();
            StateChanged?.Invoke(session, $"Capture '{session.Name}' failed: {error.Message}");
        }
    }

    private void Complete(CaptureSession session, string why)
    {
        if (session.TrySetState(CaptureState.Completed, why))
        {
            _sessions.Refresh();
            StateChanged?.Invoke(session, $"Capture '{session.Name}' completed: {why}.");
        }
    }

    private void Close(CaptureSession session, Writing writing)
    {
        var staged = writing.Files.StagedPackets;
        try
        {
            writing.Files.Close();
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            writing.Files.Abandon();
            session.CountDropped(staged);
        }
    }

    /// <summary>Room for at least a few staged writes again: a paused session resumes.</summary>
    private static bool HasRoom(string directory)
    {
        // The session's own folder may not exist yet (or at all, with a single file): ask the nearest that does.
        var existing = directory;
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            existing = parent;
        }

        try
        {
            return new DriveInfo(existing).AvailableFreeSpace >= ResumeFreeBytes;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>ENOSPC (28) and EDQUOT (122) on Linux; the Windows codes of a full disk for completeness.</summary>
    private static bool IsDiskFull(Exception error) =>
        (error.HResult & 0xFFFF) is 28 or 122 or 39 or 112;

    /// <summary>The writer's state for one session.</summary>
    private sealed class Writing(CaptureFileSet files)
    {
        public CaptureFileSet Files { get; } = files;

        public long PausedAt { get; set; }
    }
}
