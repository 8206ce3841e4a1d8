using Microsoft.Extensions.Logging;

namespace VtapCollector.Service;

/// <summary>
/// Every log line of the daemon, with stable event ids (journald and log pipelines can match on
/// them). Nothing here is per packet: counts are reported by the periodic status check, and
/// repeated warnings are rate-limited by their callers.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Collecting from {Sources} with {Workers} flow workers ({Capacity} flows, {MemoryMiB} MiB reserved); records to {Sinks}; metrics on http://{Metrics}/metrics.")]
    public static partial void Started(ILogger logger, string sources, int workers, long capacity, long memoryMiB, string sinks, string metrics);

    [LoggerMessage(1001, LogLevel.Warning, "No allow-list is set: any host that can reach {Sources} can create flows. Set AllowList:SourceCidrs to the mirror sources (and AllowList:Vnis to the tapped VNIs).")]
    public static partial void AllowListOpen(ILogger logger, string sources);

    [LoggerMessage(1002, LogLevel.Warning, "The kernel granted {Granted} bytes of receive buffer per socket instead of the {Requested} asked for: bursts may be dropped. Raise net.core.rmem_max (sysctl) or give the service CAP_NET_ADMIN.")]
    public static partial void ReceiveBufferSmall(ILogger logger, long granted, long requested);

    [LoggerMessage(1003, LogLevel.Information, "Allow-list: {AllowList}.")]
    public static partial void AllowListInForce(ILogger logger, string allowList);

    [LoggerMessage(1004, LogLevel.Information, "The packet path was compiled and warmed up with synthetic traffic in {Milliseconds} ms before the first real packet.")]
    public static partial void WarmedUp(ILogger logger, long milliseconds);

    [LoggerMessage(1005, LogLevel.Information, "Networks: {Networks}.")]
    public static partial void NetworksInForce(ILogger logger, string networks);

    [LoggerMessage(1010, LogLevel.Information, "Stopping: receiving stopped, ending {Flows} active flows as shutdown records.")]
    public static partial void Stopping(ILogger logger, long flows);

    [LoggerMessage(1011, LogLevel.Information, "Stopped: every record was handed to the sinks and flushed ({Records} records in all).")]
    public static partial void Stopped(ILogger logger, long records);

    [LoggerMessage(1012, LogLevel.Error, "Stopping took longer than Pipeline:ShutdownTimeoutSeconds ({Seconds} s); records still queued were lost.")]
    public static partial void StopTimedOut(ILogger logger, int seconds);

    [LoggerMessage(1020, LogLevel.Information, "Configuration reloaded: allow-list now {AllowList}; networks now {Networks}.")]
    public static partial void Reloaded(ILogger logger, string allowList, string networks);

    [LoggerMessage(1021, LogLevel.Warning, "Configuration reload rejected, the previous settings stay in force: {Reason}")]
    public static partial void ReloadRejected(ILogger logger, string reason);

    [LoggerMessage(1022, LogLevel.Warning, "Settings other than the allow-list and the networks changed; they take effect at the next restart.")]
    public static partial void ReloadNeedsRestart(ILogger logger);

    [LoggerMessage(1030, LogLevel.Warning, "The kernel dropped {Drops} packets in the last {Seconds} s before the collector could read them. Raise Sources:Udp:ReceiveBufferBytes and net.core.rmem_max, or add sockets and cores.")]
    public static partial void KernelDrops(ILogger logger, long drops, long seconds);

    [LoggerMessage(1031, LogLevel.Warning, "{Drops} records were dropped in the last {Seconds} s ({Where}).")]
    public static partial void RecordsDropped(ILogger logger, long drops, long seconds, string where);

    [LoggerMessage(1032, LogLevel.Warning, "Sink '{Sink}' cannot deliver; its records are counted as dropped until it recovers.")]
    public static partial void SinkUnhealthy(ILogger logger, string sink);

    [LoggerMessage(1033, LogLevel.Information, "Sink '{Sink}' delivers again.")]
    public static partial void SinkRecovered(ILogger logger, string sink);

    [LoggerMessage(1034, LogLevel.Warning, "{Packets} decoded packets were dropped in the last {Seconds} s because the flow workers' queues were full; add workers (Pipeline:Workers) or cores.")]
    public static partial void DispatchDropped(ILogger logger, long packets, long seconds);

    [LoggerMessage(1050, LogLevel.Information, "Kafka ({Cause}): {Message}")]
    public static partial void KafkaInformation(ILogger logger, string cause, string message);

    [LoggerMessage(1051, LogLevel.Warning, "Kafka ({Cause}): {Message}")]
    public static partial void KafkaWarning(ILogger logger, string cause, string message);

    [LoggerMessage(1052, LogLevel.Error, "Kafka ({Cause}): {Message}")]
    public static partial void KafkaError(ILogger logger, string cause, string message);

    [LoggerMessage(1060, LogLevel.Warning, "{Sentence}")]
    public static partial void CaptureStateChanged(ILogger logger, string sentence);

    [LoggerMessage(1061, LogLevel.Information, "Capture '{Name}' started ({Filter}); files in {Directory}.")]
    public static partial void CaptureStarted(ILogger logger, string name, string filter, string directory);

    [LoggerMessage(1062, LogLevel.Information, "Capture '{Name}' stopped: {Reason}.")]
    public static partial void CaptureStopped(ILogger logger, string name, string reason);

    [LoggerMessage(1063, LogLevel.Warning, "Capture session not started: {Reason}")]
    public static partial void CaptureNotStarted(ILogger logger, string reason);

    [LoggerMessage(1040, LogLevel.Critical, "A collector thread failed; stopping.")]
    public static partial void ThreadFailed(ILogger logger, Exception error);
}
