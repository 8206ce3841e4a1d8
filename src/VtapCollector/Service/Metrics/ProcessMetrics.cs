using System.Diagnostics;
using System.Globalization;
using VtapCollector.Export.Metrics;

namespace VtapCollector.Service.Metrics;

/// <summary>The build, the process (CPU, memory, descriptors) and the .NET garbage collector, so a scrape shows nothing is allocated per packet.</summary>
internal sealed class ProcessMetrics : IMetricSource
{
    public void CollectMetrics(MetricSet m)
    {
        m.Gauge("vtap_build_info", "Build of the running collector; the value is always 1.", 1, ("version", BuildInfo.Version), ("runtime", Environment.Version.ToString()));
        using var process = Process.GetCurrentProcess();
        m.Counter("process_cpu_seconds_total", "User and system CPU time of the process, in seconds.", process.TotalProcessorTime.TotalSeconds);
        m.Gauge("process_resident_memory_bytes", "Resident memory of the process.", process.WorkingSet64);
        m.Gauge("process_start_time_seconds", "Start time of the process, Unix seconds.", new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        m.Gauge("process_open_fds", "Open file descriptors.", Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : 0);
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            m.Counter("dotnet_gc_collections_total", "Garbage collections, by generation.", GC.CollectionCount(generation), ("generation", generation.ToString(CultureInfo.InvariantCulture)));
        }

        m.Gauge("dotnet_gc_heap_size_bytes", "Managed heap size after the last collection.", GC.GetGCMemoryInfo().HeapSizeBytes);
        m.Counter("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since start (flat under traffic: nothing is allocated per packet).", GC.GetTotalAllocatedBytes(precise: false));
    }
}
