using System.Runtime.InteropServices;
using VtapCollector.Capture.Udp;

namespace VtapCollector.Capture.Live.Xdp;

/// <summary>
/// Owns an AF_XDP socket descriptor, its UMEM (anonymous memory registered with the socket) and
/// the rings mapped from it. Reference counted as a <see cref="SafeHandle"/>: a receive in progress
/// holds a reference, so disposing on another thread defers munmap(2) and close(2) until it ends.
/// </summary>
internal sealed unsafe class XdpSocketHandle : SafeHandle
{
    private readonly List<(nint Address, nuint Length)> _mappings = [];

    public XdpSocketHandle(int descriptor)
        : base(-1, ownsHandle: true) => SetHandle(descriptor);

    public override bool IsInvalid => handle == -1;

    public int Descriptor => (int)handle;

    /// <summary>Records a mapping to unmap when the handle is released (after the socket closes, the UMEM last).</summary>
    public void AddMapping(void* address, nuint length) => _mappings.Add(((nint)address, length));

    protected override bool ReleaseHandle()
    {
        var closed = LinuxSocketInterop.Close((int)handle) == 0;
        for (var i = _mappings.Count - 1; i >= 0; i--)
        {
            _ = LinuxSocketInterop.Munmap((void*)_mappings[i].Address, _mappings[i].Length);
        }

        _mappings.Clear();
        return closed;
    }
}
