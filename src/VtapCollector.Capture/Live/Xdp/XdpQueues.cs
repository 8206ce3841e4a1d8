using System.Runtime.InteropServices;
using System.Text;
using VtapCollector.Capture.Udp;

namespace VtapCollector.Capture.Live.Xdp;

/// <summary>How many receive queues an interface has, by the ethtool channels query (ETHTOOL_GCHANNELS): what one AF_XDP socket per queue needs.</summary>
internal static unsafe class XdpQueues
{
    private const int SockDgram = 2;

    /// <summary>
    /// Receive queues of <paramref name="name"/> in the calling thread's network namespace: its
    /// combined channels plus its receive-only ones; 1 when the driver does not report channels
    /// (a single-queue device). Needs no privilege.
    /// </summary>
    public static int Count(string name)
    {
        var socket = LinuxSocketInterop.Socket(LinuxSocketInterop.AfInet, SockDgram | LinuxSocketInterop.SockCloexec, 0);
        if (socket < 0)
        {
            return 1;
        }

        try
        {
            var channels = new EthtoolChannels { Command = XdpInterop.EthtoolGetChannels };
            var request = default(InterfaceRequest);
            var bytes = Encoding.UTF8.GetBytes(name);
            for (var i = 0; i < bytes.Length && i < 15; i++)
            {
                request.Name[i] = bytes[i];
            }

            request.Data = &channels;
            if (XdpInterop.Ioctl(socket, XdpInterop.SiocEthtool, &request) != 0)
            {
                _ = Marshal.GetLastPInvokeError();
                return 1;
            }

            return (int)Math.Clamp(channels.RxCount + channels.CombinedCount, 1u, 256u);
        }
        finally
        {
            _ = LinuxSocketInterop.Close(socket);
        }
    }
}
