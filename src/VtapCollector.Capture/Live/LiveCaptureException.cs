namespace VtapCollector.Capture.Live;

/// <summary>
/// A live capture source (<see cref="AfPacketSource"/>, <see cref="PcapLiveSource"/>, <see cref="Xdp.XdpSource"/>) could not be
/// opened or read. The message is one sentence for the user: which interface, what went wrong and
/// what to do about it. <see cref="ErrorNumber"/> and <see cref="PcapStatus"/> keep the
/// operating system's or libpcap's code for callers that branch on it.
/// </summary>
public sealed class LiveCaptureException : IOException
{
    public LiveCaptureException()
    {
    }

    public LiveCaptureException(string message)
        : base(message)
    {
    }

    public LiveCaptureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The errno of the failed system call, or 0 when the failure did not come from one.</summary>
    public int ErrorNumber { get; init; }

    /// <summary>The libpcap status code (PCAP_ERROR_*, negative) of the failed call, or 0.</summary>
    public int PcapStatus { get; init; }
}
