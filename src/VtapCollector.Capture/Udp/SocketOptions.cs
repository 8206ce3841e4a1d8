using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace VtapCollector.Capture.Udp;

/// <summary>
/// Integer socket options the receiving sockets (UDP tunnel receiver, raw GRE source) set before
/// they bind, through <see cref="Socket.SetRawSocketOption"/> because .NET names few of them.
/// </summary>
internal static class SocketOptions
{
    /// <summary>setsockopt(2) with an <c>int</c> value. Throws <see cref="SocketException"/> when the kernel refuses.</summary>
    public static void Set(Socket socket, int level, int option, int value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(int)];
        MemoryMarshal.Write(bytes, in value);
        socket.SetRawSocketOption(level, option, bytes);
    }

    /// <summary>setsockopt(2) with an <c>int</c> value; false when the kernel refuses.</summary>
    public static bool TrySet(Socket socket, int level, int option, int value)
    {
        try
        {
            Set(socket, level, option, value);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>getsockopt(2) of an <c>int</c> option.</summary>
    public static int Get(Socket socket, int level, int option)
    {
        Span<byte> bytes = stackalloc byte[sizeof(int)];
        socket.GetRawSocketOption(level, option, bytes);
        return MemoryMarshal.Read<int>(bytes);
    }

    /// <summary>SO_RCVBUFFORCE first (honoured past rmem_max with CAP_NET_ADMIN), else SO_RCVBUF (capped at rmem_max).</summary>
    public static void SetReceiveBuffer(Socket socket, int bytes)
    {
        if (!TrySet(socket, LinuxSocketInterop.SolSocket, LinuxSocketInterop.SoRcvbufforce, bytes))
        {
            Set(socket, LinuxSocketInterop.SolSocket, LinuxSocketInterop.SoRcvbuf, bytes);
        }
    }

    /// <summary>
    /// Asks for the kernel's receive time on every message: SO_TIMESTAMPNS, else SO_TIMESTAMP
    /// (microseconds) where that is refused. True when nanoseconds were granted.
    /// </summary>
    public static bool EnableReceiveTimestamps(Socket socket)
    {
        var nanoseconds = TrySet(socket, LinuxSocketInterop.SolSocket, LinuxSocketInterop.SoTimestampns, 1);
        if (!nanoseconds)
        {
            TrySet(socket, LinuxSocketInterop.SolSocket, LinuxSocketInterop.SoTimestamp, 1);
        }

        return nanoseconds;
    }
}
