using VtapCollector.Decoding;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>Why a session could not be started.</summary>
internal enum CaptureRefusal
{
    None,
    /// <summary>The settings are wrong (HTTP 400).</summary>
    Invalid,
    /// <summary>A session of that name exists (HTTP 409).</summary>
    NameTaken,
    /// <summary>As many sessions as allowed are running (HTTP 429).</summary>
    TooMany,
}

/// <summary>
/// The capture sessions of one engine. The receiving threads see the active ones through
/// <see cref="Active"/>, an array replaced whole on every change (a reference write) and read by each
/// ingress once per batch: with no session the packet path checks one array's length and does
/// nothing else. Sessions that ended stay listed (with their files) until they are deleted.
/// </summary>
internal sealed class CaptureSessions
{
    /// <summary>Ended sessions remembered for the API before the oldest is forgotten.</summary>
    private const int MaxEnded = 64;

    private readonly object _gate = new();
    private readonly List<CaptureSession> _all = [];
    private readonly List<CaptureSession> _writable = [];
    private CaptureSession[] _active = [];
    private CaptureSession[] _writableSnapshot = [];
    private ILocalAddresses? _locals;

    public CaptureSessions(string directory, int maxSessions, DecoderOptions decoder)
    {
        Directory = directory;
        MaxSessions = maxSessions;
        Locator = new InnerFrameLocator(decoder);
    }

    /// <summary>The folder under which each session has its own.</summary>
    public string Directory { get; }

    /// <summary>Sessions that may run at once.</summary>
    public int MaxSessions { get; }

    /// <summary>True when one thread alone offers packets (a replay): the sessions' queues claim slots without a locked instruction.</summary>
    public bool SingleProducer { get; init; }

    /// <summary>Finds the inner frame of a kept packet (stateless: shared by the receiving threads).</summary>
    public InnerFrameLocator Locator { get; }

    /// <summary>The sessions keeping packets now (read by the receiving threads).</summary>
    public CaptureSession[] Active => Volatile.Read(ref _active);

    /// <summary>Rung by every session's receiving threads when the writer sleeps long.</summary>
    public WriterDoorbell Doorbell { get; } = new();

    /// <summary>Which endpoint is the tapped side; null: the tunnel-source rule (see <see cref="ILocalAddresses"/>).</summary>
    public ILocalAddresses? LocalAddresses
    {
        get => Volatile.Read(ref _locals);
        set => Volatile.Write(ref _locals, value);
    }

    /// <summary>Every session, active and ended, in the order they started.</summary>
    public IReadOnlyList<CaptureSession> All()
    {
        lock (_gate)
        {
            return [.. _all];
        }
    }

    public CaptureSession? Find(string name)
    {
        lock (_gate)
        {
            return _all.Find(s => s.Name == name);
        }
    }

    /// <summary>Starts a session, or says why not.</summary>
    public CaptureSession? TryStart(CaptureSpec spec, out CaptureRefusal refusal, out string? error)
    {
        error = spec.Validate();
        if (error is not null)
        {
            refusal = CaptureRefusal.Invalid;
            return null;
        }

        lock (_gate)
        {
            if (_all.Exists(s => s.Name == spec.Name))
            {
                refusal = CaptureRefusal.NameTaken;
                error = $"A capture named '{spec.Name}' exists; delete it first or choose another name.";
                return null;
            }

            if (_active.Length >= MaxSessions)
            {
                refusal = CaptureRefusal.TooMany;
                error = $"{MaxSessions} captures are running already (Capture:MaxSessions); stop one first.";
                return null;
            }

            var session = new CaptureSession(spec, Path.Combine(Directory, spec.Name), DateTimeOffset.UtcNow, Doorbell, SingleProducer);
            _all.Add(session);
            _writable.Add(session);
            Publish();
            refusal = CaptureRefusal.None;
            return session;
        }
    }

    /// <summary>Stops a session (its queued packets are still written); false when there is none of that name.</summary>
    public bool Stop(string name, string why)
    {
        var session = Find(name);
        if (session is null)
        {
            return false;
        }

        session.TrySetState(CaptureState.Stopped, why);
        Refresh();
        return true;
    }

    /// <summary>Forgets an ended session (its files stay on disk); false when it is active or unknown.</summary>
    public bool Forget(string name)
    {
        lock (_gate)
        {
            var session = _all.Find(s => s.Name == name);
            if (session is null || session.IsActive || _writable.Contains(session))
            {
                return false;
            }

            _all.Remove(session);
            return true;
        }
    }

    /// <summary>
    /// Makes the configured sessions those of <paramref name="configured"/>: a configured session that
    /// is gone or changed stops (a changed one starts again with its new settings); a new one starts.
    /// Returns a sentence per session that could not start.
    /// </summary>
    public IReadOnlyList<string> Reconcile(IReadOnlyList<CaptureSpec> configured)
    {
        var problems = new List<string>();
        foreach (var session in All())
        {
            if (!session.Spec.FromConfiguration || !session.IsActive)
            {
                continue;
            }

            var wanted = configured.FirstOrDefault(c => c.Name == session.Name);
            if (wanted is null || !Same(wanted, session.Spec))
            {
                Stop(session.Name, "the configuration changed");
            }
        }

        foreach (var spec in configured)
        {
            var existing = Find(spec.Name);
            if (existing is not null && existing.IsActive)
            {
                continue;
            }

            if (existing is not null && !Forget(spec.Name))
            {
                problems.Add($"Capture '{spec.Name}' starts once its previous run has written its last packets (at the next reload).");
                continue;
            }

            if (TryStart(spec with { FromConfiguration = true }, out _, out var error) is null)
            {
                problems.Add(error!);
            }
        }

        return problems;
    }

    /// <summary>Stops every active session (the daemon's stop).</summary>
    public void StopAll(string why)
    {
        foreach (var session in All())
        {
            if (session.IsActive)
            {
                Stop(session.Name, why);
            }
        }
    }

    /// <summary>Takes a session off the receiving threads' list (the writer still drains it).</summary>
    public void Refresh()
    {
        lock (_gate)
        {
            Publish();
        }
    }

    /// <summary>The writer is done with an ended session.</summary>
    public void Finished(CaptureSession session)
    {
        lock (_gate)
        {
            _writable.Remove(session);
            _writableSnapshot = [.. _writable];
            var ended = 0;
            for (var i = _all.Count - 1; i >= 0; i--)
            {
                if (!_all[i].IsActive && !_writable.Contains(_all[i]) && ++ended > MaxEnded)
                {
                    _all.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Sessions the writer serves: the active ones and those whose last packets it has yet to write.</summary>
    public CaptureSession[] Writable() => Volatile.Read(ref _writableSnapshot);

    private void Publish()
    {
        Volatile.Write(ref _active, [.. _writable.Where(s => s.IsActive)]);
        Volatile.Write(ref _writableSnapshot, [.. _writable]);

        // A session started or stopped: the writer opens or closes its files now, not after a long sleep.
        Doorbell.WakeNow();
    }

    private static bool Same(CaptureSpec a, CaptureSpec b) =>
        (a with { Filter = CaptureFilter.All, FromConfiguration = false }) == (b with { Filter = CaptureFilter.All, FromConfiguration = false })
        && a.Filter.ToString() == b.Filter.ToString();
}
