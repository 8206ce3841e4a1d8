using System.Runtime.InteropServices;

namespace VtapCollector.Capture.Udp;

/// <summary>
/// The Linux system calls and structures the UDP receiver and sender use that .NET's
/// <see cref="System.Net.Sockets.Socket"/> does not expose: recvmmsg(2), sendmmsg(2), poll(2), and
/// the ancillary data (cmsg(3)) that carries kernel receive timestamps, the socket's drop
/// counter and each datagram's destination address; and the calls every live source shares
/// (socket(2), setsockopt(2), bind(2), mmap(2), if_nametoindex(3)) with their flags and errno values.
/// </summary>
/// <remarks>
/// Layouts are those of the LP64 Linux ABI (x86-64; arm64 is identical for every structure and
/// constant here, since both use asm-generic/socket.h): pointers and <c>size_t</c> are 8 bytes,
/// <c>int</c> and <c>socklen_t</c> 4. Every structure is declared with explicit offsets, padding
/// included, so nothing depends on the marshaller's layout rules. <c>"libc"</c> is mapped by the
/// .NET runtime to the C library's real soname (libc.so.6 on glibc).
/// </remarks>
internal static unsafe partial class LinuxSocketInterop
{
    /// <summary>socket(7): level of the SO_* options and of their control messages.</summary>
    public const int SolSocket = 1;

    /// <summary>socket(7) SO_ERROR: reads and clears the socket's pending error.</summary>
    public const int SoError = 4;

    /// <summary>socket(7) SO_RCVBUF: receive buffer size; the kernel doubles the value set (bookkeeping) and getsockopt returns the doubled value.</summary>
    public const int SoRcvbuf = 8;

    /// <summary>socket(7) SO_SNDBUF: send buffer size, doubled like SO_RCVBUF.</summary>
    public const int SoSndbuf = 7;

    /// <summary>socket(7) SO_REUSEPORT (Linux 3.9): several sockets may bind the same address and port; the kernel spreads datagrams over them by flow hash.</summary>
    public const int SoReuseport = 15;

    /// <summary>socket(7) SO_TIMESTAMP: a <c>struct timeval</c> receive time per datagram, as SCM_TIMESTAMP.</summary>
    public const int SoTimestamp = 29;

    /// <summary>socket(7) SO_RCVBUFFORCE: as SO_RCVBUF but past net.core.rmem_max; needs CAP_NET_ADMIN.</summary>
    public const int SoRcvbufforce = 33;

    /// <summary>socket(7) SO_TIMESTAMPNS (SO_TIMESTAMPNS_OLD, whose timespec is 64-bit on LP64): a <c>struct timespec</c> receive time per datagram, as SCM_TIMESTAMPNS.</summary>
    public const int SoTimestampns = 35;

    /// <summary>socket(7) SO_RXQ_OVFL: a <c>uint32_t</c> control message with the number of datagrams the socket dropped (receive queue full) before this one was queued; sent only once it is non-zero.</summary>
    public const int SoRxqOvfl = 40;

    /// <summary>ip(7): level (IPPROTO_IP) of the IP_* options and of their control messages.</summary>
    public const int SolIp = 0;

    /// <summary>
    /// ip(7) IP_PKTINFO: as a socket option, asks for an IP_PKTINFO control message per datagram; its
    /// data is a <c>struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst; struct in_addr ipi_addr; }</c>
    /// (12 bytes). Accepted on AF_INET6 sockets too, where it applies to IPv4 datagrams of dual mode.
    /// </summary>
    public const int IpPktinfo = 8;

    /// <summary>sizeof(struct in_pktinfo).</summary>
    public const int InPktinfoLength = 12;

    /// <summary>
    /// Offset of in_pktinfo's ipi_addr: the destination address in the datagram's IP header. (ipi_spec_dst,
    /// offset 4, is the local address a reply would be sent from, which differs for broadcasts.)
    /// </summary>
    public const int InPktinfoAddressOffset = 8;

    /// <summary>ipv6(7): level (IPPROTO_IPV6) of the IPV6_* options and of their control messages.</summary>
    public const int SolIpv6 = 41;

    /// <summary>ipv6(7) IPV6_RECVPKTINFO (RFC 3542 section 6.1): asks for an IPV6_PKTINFO control message per datagram.</summary>
    public const int Ipv6Recvpktinfo = 49;

    /// <summary>
    /// ipv6(7) IPV6_PKTINFO: the control message type; its data is a
    /// <c>struct in6_pktinfo { struct in6_addr ipi6_addr; int ipi6_ifindex; }</c> (20 bytes, RFC 3542
    /// section 6.1), ipi6_addr being the datagram's destination address (IPv4-mapped for an IPv4
    /// datagram on a dual-mode socket).
    /// </summary>
    public const int Ipv6Pktinfo = 50;

    /// <summary>sizeof(struct in6_pktinfo); ipi6_addr is at offset 0.</summary>
    public const int In6PktinfoLength = 20;

    /// <summary>recvmsg(2) msg_flags: the datagram was longer than the buffer; its tail was discarded.</summary>
    public const int MsgTrunc = 0x20;

    /// <summary>recvmsg(2) msg_flags: control data was discarded for lack of space.</summary>
    public const int MsgCtrunc = 0x08;

    /// <summary>recv(2) flags: do not block, whatever the socket's mode (EAGAIN when nothing is queued).</summary>
    public const int MsgDontwait = 0x40;

    /// <summary>poll(2) events: data to read.</summary>
    public const short PollIn = 0x001;

    /// <summary>poll(2) revents POLLERR: the socket has a pending error (SO_ERROR).</summary>
    public const short PollErr = 0x008;

    /// <summary>poll(2) events: room to write.</summary>
    public const short PollOut = 0x004;

    /// <summary>address_families(7) AF_INET.</summary>
    public const ushort AfInet = 2;

    /// <summary>address_families(7) AF_INET6.</summary>
    public const ushort AfInet6 = 10;

    /// <summary>errno EPERM: the operation needs a privilege (a raw socket without CAP_NET_RAW).</summary>
    public const int Eperm = 1;

    /// <summary>errno EINTR: a signal interrupted the call.</summary>
    public const int Eintr = 4;

    /// <summary>errno EAGAIN / EWOULDBLOCK: nothing to receive, or no room to send, right now.</summary>
    public const int Eagain = 11;

    /// <summary>errno ENXIO.</summary>
    public const int Enxio = 6;

    /// <summary>errno EACCES.</summary>
    public const int Eacces = 13;

    /// <summary>errno ENODEV: no such interface.</summary>
    public const int Enodev = 19;

    /// <summary>errno EINVAL.</summary>
    public const int Einval = 22;

    /// <summary>errno EAFNOSUPPORT: the kernel lacks the address family (AF_PACKET without CONFIG_PACKET, AF_XDP without CONFIG_XDP_SOCKETS).</summary>
    public const int Eafnosupport = 97;

    /// <summary>errno ENETDOWN: the interface went down (set as the socket's pending error).</summary>
    public const int Enetdown = 100;

    /// <summary>errno ENOBUFS: the interface queue is full (transient).</summary>
    public const int Enobufs = 105;

    /// <summary>errno ENOMEM.</summary>
    public const int Enomem = 12;

    /// <summary>cmsg(3) CMSG_ALIGN on LP64: control messages and their data are aligned to sizeof(size_t).</summary>
    public const int CmsgAlignment = 8;

    /// <summary>cmsg(3): sizeof(struct cmsghdr), which CMSG_DATA skips (already aligned).</summary>
    public const int CmsgHeaderLength = 16;

    /// <summary>
    /// recvmmsg(2): <c>int recvmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags, struct timespec *timeout)</c>.
    /// Returns the number of messages received, or -1 and errno. The timeout argument is not used
    /// (the man page's BUGS: it is only checked after a datagram arrives); poll(2) waits instead.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMmsg(int socket, MultiMessageHeader* messages, uint count, int flags, void* timeout);

    /// <summary>
    /// sendmmsg(2): <c>int sendmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags)</c>.
    /// Returns how many of the messages were sent (possibly fewer than vlen), or -1 and errno when
    /// the first one failed.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMmsg(int socket, MultiMessageHeader* messages, uint count, int flags);

    /// <summary>socket(2) SOCK_RAW: a raw socket (frames with their link-layer header for AF_PACKET).</summary>
    public const int SockRaw = 3;

    /// <summary>socket(2) SOCK_CLOEXEC: a child process (a hook script) does not inherit the descriptor.</summary>
    public const int SockCloexec = 0x80000;

    /// <summary>socket(2) type SOCK_RAW, with SOCK_CLOEXEC so a child process does not inherit the descriptor.</summary>
    public const int SockRawCloexec = SockRaw | SockCloexec;

    /// <summary>mmap(2) PROT_READ | PROT_WRITE: user space writes the ring's status words back.</summary>
    public const int ProtReadWrite = 0x1 | 0x2;

    /// <summary>mmap(2) MAP_SHARED: the mapping is shared with the kernel.</summary>
    public const int MapShared = 0x01;

    /// <summary>
    /// socket(2): <c>int socket(int domain, int type, int protocol)</c>. Used for raw IP sockets of a
    /// protocol .NET's <see cref="System.Net.Sockets.ProtocolType"/> does not map (GRE, 47).
    /// </summary>
    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    /// <summary>poll(2): <c>int poll(struct pollfd *fds, nfds_t nfds, int timeout)</c>; 0 on timeout.</summary>
    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollDescriptor* descriptors, nuint count, int timeoutMilliseconds);

    /// <summary>setsockopt(2).</summary>
    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSocketOption(int socket, int level, int name, void* value, uint length);

    /// <summary>getsockopt(2).</summary>
    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSocketOption(int socket, int level, int name, void* value, uint* length);

    /// <summary>bind(2).</summary>
    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int socket, void* address, uint length);

    /// <summary>close(2).</summary>
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int descriptor);

    /// <summary>mmap(2); returns MAP_FAILED ((void*)-1) on error. <c>off_t</c> is 64-bit on LP64.</summary>
    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial void* Mmap(void* address, nuint length, int protection, int flags, int descriptor, long offset);

    /// <summary>munmap(2).</summary>
    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(void* address, nuint length);

    /// <summary>if_nametoindex(3): 0 and errno ENODEV when the calling thread's network namespace has no such interface.</summary>
    [LibraryImport("libc", EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint InterfaceIndex(string name);

    /// <summary>
    /// getsockopt(2) SO_ERROR: reads (and so clears) the socket's pending error into
    /// <paramref name="error"/>, 0 when none. False when the call itself failed; errno is then
    /// Marshal.GetLastPInvokeError().
    /// </summary>
    public static bool TryTakeSocketError(int descriptor, out int error)
    {
        var value = 0;
        var length = (uint)sizeof(int);
        var taken = GetSocketOption(descriptor, SolSocket, SoError, &value, &length) == 0;
        error = value;
        return taken;
    }

    /// <summary>cmsg(3) CMSG_ALIGN.</summary>
    public static int CmsgAlign(int length) => (length + CmsgAlignment - 1) & ~(CmsgAlignment - 1);

    /// <summary>cmsg(3) CMSG_SPACE: room for a control message carrying <paramref name="dataLength"/> bytes.</summary>
    public static int CmsgSpace(int dataLength) => CmsgHeaderLength + CmsgAlign(dataLength);

    /// <summary>strerror text of an errno value.</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}

/// <summary>
/// <c>struct iovec</c> (readv(2), recvmsg(2)): <c>{ void *iov_base; size_t iov_len; }</c>, 16 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct IoVector
{
    /// <summary>iov_base, offset 0.</summary>
    [FieldOffset(0)]
    public byte* Base;

    /// <summary>iov_len, offset 8.</summary>
    [FieldOffset(8)]
    public nuint Length;
}

/// <summary>
/// <c>struct msghdr</c> (recvmsg(2)), 56 bytes:
/// <c>{ void *msg_name; socklen_t msg_namelen; /* 4 bytes padding */ struct iovec *msg_iov; size_t msg_iovlen;
/// void *msg_control; size_t msg_controllen; int msg_flags; /* 4 bytes padding */ }</c>.
/// On input msg_namelen and msg_controllen give the buffers' sizes; the kernel overwrites them with
/// the lengths used, and sets msg_flags (MSG_TRUNC, MSG_CTRUNC).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
internal unsafe struct MessageHeader
{
    /// <summary>msg_name, offset 0: where the sender's address is written (a sockaddr_in or sockaddr_in6).</summary>
    [FieldOffset(0)]
    public void* Name;

    /// <summary>msg_namelen, offset 8.</summary>
    [FieldOffset(8)]
    public uint NameLength;

    /// <summary>msg_iov, offset 16.</summary>
    [FieldOffset(16)]
    public IoVector* Iov;

    /// <summary>msg_iovlen, offset 24.</summary>
    [FieldOffset(24)]
    public nuint IovLength;

    /// <summary>msg_control, offset 32: the ancillary data buffer (cmsg(3)).</summary>
    [FieldOffset(32)]
    public void* Control;

    /// <summary>msg_controllen, offset 40.</summary>
    [FieldOffset(40)]
    public nuint ControlLength;

    /// <summary>msg_flags, offset 48.</summary>
    [FieldOffset(48)]
    public int Flags;
}

/// <summary>
/// <c>struct mmsghdr</c> (recvmmsg(2), sendmmsg(2)): <c>{ struct msghdr msg_hdr; unsigned int msg_len; /* 4 bytes padding */ }</c>, 64 bytes.
/// msg_len is the number of bytes received (at most the buffer's size) or sent.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct MultiMessageHeader
{
    /// <summary>msg_hdr, offset 0.</summary>
    [FieldOffset(0)]
    public MessageHeader Header;

    /// <summary>msg_len, offset 56.</summary>
    [FieldOffset(56)]
    public uint Length;
}

/// <summary>
/// <c>struct cmsghdr</c> (cmsg(3)): <c>{ size_t cmsg_len; int cmsg_level; int cmsg_type; /* unsigned char cmsg_data[]; */ }</c>,
/// 16 bytes; cmsg_len counts the header and the data, CMSG_DATA is at offset 16, and the next
/// message starts CMSG_ALIGN(cmsg_len) bytes on. SO_TIMESTAMPNS's data is a <c>struct timespec</c>
/// <c>{ time_t tv_sec; long tv_nsec; }</c> (16 bytes), SO_TIMESTAMP's a <c>struct timeval</c>
/// <c>{ time_t tv_sec; suseconds_t tv_usec; }</c> (16 bytes), SO_RXQ_OVFL's a <c>uint32_t</c>,
/// IP_PKTINFO's a <c>struct in_pktinfo</c> (12 bytes) and IPV6_PKTINFO's a <c>struct in6_pktinfo</c> (20 bytes).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct ControlMessageHeader
{
    /// <summary>cmsg_len, offset 0.</summary>
    [FieldOffset(0)]
    public nuint Length;

    /// <summary>cmsg_level, offset 8.</summary>
    [FieldOffset(8)]
    public int Level;

    /// <summary>cmsg_type, offset 12.</summary>
    [FieldOffset(12)]
    public int Type;
}

/// <summary><c>struct pollfd</c> (poll(2)): <c>{ int fd; short events; short revents; }</c>, 8 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct PollDescriptor
{
    /// <summary>fd, offset 0.</summary>
    [FieldOffset(0)]
    public int Descriptor;

    /// <summary>events, offset 4.</summary>
    [FieldOffset(4)]
    public short Events;

    /// <summary>revents, offset 6.</summary>
    [FieldOffset(6)]
    public short ReturnedEvents;
}

/// <summary>
/// Reads and writes socket addresses in the kernel's layout. ip(7) <c>struct sockaddr_in</c>, 16 bytes:
/// <c>{ sa_family_t sin_family (2, host order); in_port_t sin_port (2, network order); struct in_addr sin_addr (4); unsigned char sin_zero[8]; }</c>.
/// ipv6(7) <c>struct sockaddr_in6</c>, 28 bytes:
/// <c>{ sa_family_t sin6_family; in_port_t sin6_port; uint32_t sin6_flowinfo; struct in6_addr sin6_addr (16, offset 8); uint32_t sin6_scope_id (offset 24); }</c>.
/// </summary>
internal static class SocketAddressLayout
{
    /// <summary>sizeof(struct sockaddr_in).</summary>
    public const int Ipv4Length = 16;

    /// <summary>sizeof(struct sockaddr_in6).</summary>
    public const int Ipv6Length = 28;

    /// <summary>Room reserved per address: sockaddr_in6 rounded up to 8 bytes.</summary>
    public const int Slot = 32;

    /// <summary>
    /// Reads a sender address the kernel wrote. An IPv4-mapped IPv6 address (a dual-mode socket's
    /// IPv4 sender) is reported as IPv4. Returns false for a family other than AF_INET/AF_INET6.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> address, int length, out Decoding.IpAddress ip, out byte version, out ushort port)
    {
        ip = default;
        version = 0;
        port = 0;
        if (length < Ipv4Length || address.Length < length)
        {
            return false;
        }

        var family = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(address);
        port = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
        if (family == LinuxSocketInterop.AfInet)
        {
            ip = Decoding.IpAddress.ReadIPv4(address[4..]);
            version = 4;
            return true;
        }

        if (family == LinuxSocketInterop.AfInet6 && length >= Ipv6Length)
        {
            ip = Decoding.IpAddress.ReadIPv6(address[8..]);
            version = ip.IsIPv4Mapped ? (byte)4 : (byte)6;
            return true;
        }

        return false;
    }

    /// <summary>Writes <paramref name="endPoint"/> as a sockaddr_in or sockaddr_in6; returns its length.</summary>
    public static int Write(System.Net.IPEndPoint endPoint, Span<byte> destination)
    {
        destination[..Slot].Clear();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)endPoint.Port);
        if (endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(destination, LinuxSocketInterop.AfInet);
            endPoint.Address.TryWriteBytes(destination[4..8], out _);
            return Ipv4Length;
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(destination, LinuxSocketInterop.AfInet6);
        endPoint.Address.TryWriteBytes(destination[8..24], out _);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], (uint)endPoint.Address.ScopeId);
        return Ipv6Length;
    }
}
