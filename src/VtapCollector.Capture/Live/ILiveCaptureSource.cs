namespace VtapCollector.Capture.Live;

/// <summary>
/// A live capture on an interface (<see cref="AfPacketSource"/>, <see cref="PcapLiveSource"/>, <see cref="Xdp.XdpSource"/>): what
/// a receiving thread needs, one call per batch. The per-packet call goes to the struct handler.
/// </summary>
public interface ILiveCaptureSource : IDisposable
{
    /// <summary>Frames delivered to handlers.</summary>
    long Packets { get; }

    /// <summary>Bytes delivered to handlers.</summary>
    long Bytes { get; }

    /// <summary>Frames delivered shorter than they were on the wire.</summary>
    long TruncatedPackets { get; }

    /// <summary>Frames the kernel dropped before the source read them, as of the last <see cref="RefreshKernelStatistics"/>.</summary>
    long KernelDrops { get; }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for frames and hands each to <paramref name="handler"/>; returns how many.</summary>
    int ReceiveBatch<THandler>(ref THandler handler, int timeoutMilliseconds)
        where THandler : struct, IPacketHandler;

    /// <summary>Reads the kernel's counters (a system call: about once a second is enough). Call it from the receiving thread.</summary>
    void RefreshKernelStatistics();
}
