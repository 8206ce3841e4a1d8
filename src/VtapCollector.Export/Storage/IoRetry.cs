namespace VtapCollector.Export.Storage;

/// <summary>
/// The health of a component that writes files (a record file, a segment log): an I/O error makes it
/// unhealthy and keeps the error's message, and recovery is attempted at most once per retry
/// interval, so that a full disk costs one failed system call per interval rather than one per record.
/// The owner keeps whatever it had buffered and writes it once <see cref="RetryDue"/> lets it reopen.
/// </summary>
/// <remarks>
/// Written by the owner's one thread; <see cref="IsHealthy"/> and <see cref="LastError"/> may be read
/// from any thread (a scrape, <c>/readyz</c>).
/// </remarks>
public sealed class IoRetry
{
    private readonly TimeProvider _time;
    private volatile bool _healthy = true;
    private volatile string? _lastError;
    private long _failedAt;

    /// <summary>Creates a healthy state.</summary>
    /// <param name="retryInterval">The least time between two recovery attempts; positive.</param>
    /// <param name="timeProvider">The clock. Default <see cref="TimeProvider.System"/>.</param>
    public IoRetry(TimeSpan retryInterval, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retryInterval, TimeSpan.Zero);
        RetryInterval = retryInterval;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The least time between two recovery attempts.</summary>
    public TimeSpan RetryInterval { get; }

    /// <summary>False from a failure until the next successful recovery.</summary>
    public bool IsHealthy => _healthy;

    /// <summary>The message of the error that made the component unhealthy, or null while it is healthy.</summary>
    public string? LastError => _lastError;

    /// <summary>Failures recorded, the first of each outage and every failed retry alike.</summary>
    public long Failures { get; private set; }

    /// <summary>Records a failure: unhealthy, with its message, and the retry interval starts now. Returns true if the component was healthy until now (report it once).</summary>
    public bool Fail(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var first = _healthy;
        _healthy = false;
        _lastError = error.Message;
        _failedAt = _time.GetTimestamp();
        Failures++;
        return first;
    }

    /// <summary>True when unhealthy and the retry interval has passed since the last failure: time to try reopening.</summary>
    public bool RetryDue() => !_healthy && _time.GetElapsedTime(_failedAt) >= RetryInterval;

    /// <summary>Records a successful recovery (or a first success): healthy, no error.</summary>
    public void Recovered()
    {
        _lastError = null;
        _healthy = true;
    }

    /// <summary>Whether <paramref name="error"/> is a file-system failure the component survives (rather than a bug to surface).</summary>
    public static bool IsFileError(Exception error) => error is IOException or UnauthorizedAccessException;
}
