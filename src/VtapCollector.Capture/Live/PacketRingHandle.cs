using System.Runtime.InteropServices;
using VtapCollector.Capture.Udp;

namespace VtapCollector.Capture.Live;

/// <summary>
/// Owns an AF_PACKET socket descriptor and the receive ring mapped from it. As a
/// <see cref="SafeHandle"/> it is reference counted: a receive in progress holds a reference, so
/// disposing the source on another thread defers munmap(2) and close(2) until that receive ends,
/// instead of pulling the ring out from under it.
/// </summary>
internal sealed unsafe class PacketRingHandle : SafeHandle
{
    public PacketRingHandle(int descriptor)
        : base(-1, ownsHandle: true) => SetHandle(descriptor);

    public override bool IsInvalid => handle == -1;

    /// <summary>The socket descriptor.</summary>
    public int Descriptor => (int)handle;

    /// <summary>Start of the mapped ring, or null before it is mapped.</summary>
    public byte* Ring { get; private set; }

    /// <summary>Bytes mapped.</summary>
    public nuint RingLength { get; private set; }

    /// <summary>Records the ring mapped from the socket, so that releasing the handle unmaps it.</summary>
    public void SetRing(byte* ring, nuint length)
    {
        Ring = ring;
        RingLength = length;
    }

    protected override bool ReleaseHandle()
    {
        if (Ring != null)
        {
            _ = LinuxSocketInterop.Munmap(Ring, RingLength);
            Ring = null;
        }

        return LinuxSocketInterop.Close((int)handle) == 0;
    }
}
