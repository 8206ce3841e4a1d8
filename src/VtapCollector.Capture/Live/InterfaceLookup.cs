using System.Runtime.InteropServices;
using VtapCollector.Capture.Udp;

namespace VtapCollector.Capture.Live;

/// <summary>Finds a network interface's index by name, for the sources that bind to one interface (AF_PACKET, AF_XDP).</summary>
internal static class InterfaceLookup
{
    /// <summary>
    /// if_nametoindex(3), in the calling thread's network namespace. Throws
    /// <see cref="LiveCaptureException"/> with one sentence when there is no such interface
    /// (ENODEV, or ENXIO on older C libraries) or the lookup fails.
    /// </summary>
    public static int IndexOf(string name)
    {
        var index = LinuxSocketInterop.InterfaceIndex(name);
        if (index != 0)
        {
            return (int)index;
        }

        var errno = Marshal.GetLastPInvokeError();
        throw errno is LinuxSocketInterop.Enodev or LinuxSocketInterop.Enxio
            ? new LiveCaptureException($"Interface '{name}' does not exist.") { ErrorNumber = errno }
            : new LiveCaptureException($"Cannot look up interface '{name}': {LinuxSocketInterop.Describe(errno)} (errno {errno}).") { ErrorNumber = errno };
    }
}
