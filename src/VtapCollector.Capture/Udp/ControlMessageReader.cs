using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Udp;

/// <summary>What one datagram's ancillary data carried, as <see cref="ControlMessageReader.Read"/> found it.</summary>
internal struct ReceivedControl
{
    /// <summary>Kernel receive time in nanoseconds since the Unix epoch (SO_TIMESTAMPNS or SO_TIMESTAMP); 0 when none came.</summary>
    public long TimestampNanos;

    /// <summary>The socket's SO_RXQ_OVFL drop counter; -1 when none came (the kernel sends it only once non-zero).</summary>
    public long KernelDrops;

    /// <summary>The destination address of the datagram's IP header (IP_PKTINFO ipi_addr or IPV6_PKTINFO ipi6_addr); IPv4-mapped addresses are IPv4.</summary>
    public IpAddress Destination;

    /// <summary>4 or 6: the family of <see cref="Destination"/>; 0 when no pktinfo came.</summary>
    public byte DestinationIpVersion;
}

/// <summary>
/// Walks the control messages recvmsg(2) left in a datagram's control buffer (cmsg(3):
/// CMSG_FIRSTHDR / CMSG_NXTHDR by hand, over a span) and keeps those the receiver asked for.
/// </summary>
/// <remarks>
/// A message whose data is shorter than its type needs (the kernel cuts the last one when the
/// buffer is too small, and sets MSG_CTRUNC) is skipped, so a field it would have set keeps its
/// "none came" value. On a dual-mode IPv6 socket with both IP_PKTINFO and IPV6_RECVPKTINFO set, an
/// IPv4 datagram carries both messages (Linux 6.x: IPV6_PKTINFO with the IPv4-mapped address, then
/// IP_PKTINFO); they name the same address, so whichever comes last is kept.
/// </remarks>
internal static class ControlMessageReader
{
    /// <summary>Reads <paramref name="control"/> (the msg_controllen bytes the kernel filled). Allocates nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReceivedControl Read(ReadOnlySpan<byte> control)
    {
        var result = new ReceivedControl { KernelDrops = -1 };
        var offset = 0;
        while (offset <= control.Length - LinuxSocketInterop.CmsgHeaderLength)
        {
            var message = control[offset..];

            // cmsg_len counts the header and the data; never trust it past the bytes filled.
            var length = (int)Math.Min(MemoryMarshal.Read<nuint>(message), (nuint)message.Length);
            if (length < LinuxSocketInterop.CmsgHeaderLength)
            {
                break;
            }

            var level = MemoryMarshal.Read<int>(message[8..]);
            var type = MemoryMarshal.Read<int>(message[12..]);
            var data = message[LinuxSocketInterop.CmsgHeaderLength..length];
            switch (level)
            {
                case LinuxSocketInterop.SolSocket:
                    ReadSocketLevel(type, data, ref result);
                    break;
                case LinuxSocketInterop.SolIp when type == LinuxSocketInterop.IpPktinfo && data.Length >= LinuxSocketInterop.InPktinfoLength:
                    result.Destination = IpAddress.ReadIPv4(data.Slice(LinuxSocketInterop.InPktinfoAddressOffset, 4));
                    result.DestinationIpVersion = 4;
                    break;
                case LinuxSocketInterop.SolIpv6 when type == LinuxSocketInterop.Ipv6Pktinfo && data.Length >= LinuxSocketInterop.In6PktinfoLength:
                    // IpAddress keeps IPv4 as IPv4-mapped, so a mapped ipi6_addr already is the IPv4 address.
                    result.Destination = IpAddress.ReadIPv6(data);
                    result.DestinationIpVersion = result.Destination.IsIPv4Mapped ? (byte)4 : (byte)6;
                    break;
            }

            offset += LinuxSocketInterop.CmsgAlign(length);
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReadSocketLevel(int type, ReadOnlySpan<byte> data, ref ReceivedControl result)
    {
        switch (type)
        {
            case LinuxSocketInterop.SoTimestampns when data.Length >= 16:
                // struct timespec { time_t tv_sec; long tv_nsec; }
                result.TimestampNanos = (MemoryMarshal.Read<long>(data) * 1_000_000_000L) + MemoryMarshal.Read<long>(data[8..]);
                break;
            case LinuxSocketInterop.SoTimestamp when data.Length >= 16:
                // struct timeval { time_t tv_sec; suseconds_t tv_usec; }
                result.TimestampNanos = (MemoryMarshal.Read<long>(data) * 1_000_000_000L) + (MemoryMarshal.Read<long>(data[8..]) * 1_000L);
                break;
            case LinuxSocketInterop.SoRxqOvfl when data.Length >= 4:
                result.KernelDrops = MemoryMarshal.Read<uint>(data);
                break;
        }
    }
}
