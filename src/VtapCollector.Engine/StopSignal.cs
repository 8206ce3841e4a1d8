namespace VtapCollector.Engine;

/// <summary>Set once when the collector begins to stop; read by every loop.</summary>
public sealed class StopSignal
{
    private volatile bool _stopping;

    public bool IsStopping => _stopping;

    public void Stop() => _stopping = true;
}
