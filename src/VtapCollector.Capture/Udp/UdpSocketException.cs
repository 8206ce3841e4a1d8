namespace VtapCollector.Capture;

/// <summary>
/// A UDP socket could not be opened, bound, read or written. The message is one sentence for the
/// user (which port, which address, what to do); the inner exception, when there is one, is the
/// operating system's error.
/// </summary>
public sealed class UdpSocketException : IOException
{
    public UdpSocketException()
    {
    }

    public UdpSocketException(string message)
        : base(message)
    {
    }

    public UdpSocketException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The errno of a failed system call, or 0 when the failure came from .NET's socket.</summary>
    public int ErrorNumber { get; init; }
}
