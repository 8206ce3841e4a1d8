using System.Buffers.Binary;
using System.Net;
using VtapCollector.Capture.Udp;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests.Udp;

/// <summary>
/// The control-message walk over hand-built buffers in the LP64 Linux layout (cmsg(3)): a 16-byte
/// header { size_t cmsg_len; int cmsg_level; int cmsg_type; }, then the data, the next message at
/// CMSG_ALIGN(cmsg_len). The layouts are those a Linux 6.x kernel wrote for the same options (seen
/// with recvmsg on loopback); the receiver tests check the real thing end to end.
/// </summary>
public class ControlMessageReaderTests
{
    private const long Seconds = 1_764_990_000;
    private const long Nanoseconds = 123_456_789;

    [Fact]
    public void Read_InPktinfo_ReturnsTheHeaderDestinationIpiAddrNotIpiSpecDst()
    {
        var control = new ControlBuilder()
            .InPktinfo(ifindex: 2, specDst: "192.0.2.10", addr: "192.0.2.255")
            .Build();

        var result = ControlMessageReader.Read(control);

        Assert.Equal(IpAddress.Parse("192.0.2.255"), result.Destination);
        Assert.Equal(4, result.DestinationIpVersion);
    }

    [Fact]
    public void Read_In6Pktinfo_ReturnsIpi6AddrAsIPv6()
    {
        var control = new ControlBuilder().In6Pktinfo("2001:db8::7", ifindex: 3).Build();

        var result = ControlMessageReader.Read(control);

        Assert.Equal(IpAddress.Parse("2001:db8::7"), result.Destination);
        Assert.Equal(6, result.DestinationIpVersion);
    }

    [Fact]
    public void Read_In6PktinfoWithAnIPv4MappedAddress_ReturnsIPv4()
    {
        var control = new ControlBuilder().In6Pktinfo("::ffff:198.51.100.4", ifindex: 1).Build();

        var result = ControlMessageReader.Read(control);

        Assert.Equal(IpAddress.Parse("198.51.100.4"), result.Destination);
        Assert.Equal(4, result.DestinationIpVersion);
    }

    [Fact]
    public void Read_EveryMessageOfADualModeIPv4Datagram_ReturnsEachField()
    {
        // The order a dual-mode socket gets them: timestamp, drop count, IPV6_PKTINFO, IP_PKTINFO.
        var control = new ControlBuilder()
            .Timespec(Seconds, Nanoseconds)
            .RxqOvfl(17)
            .In6Pktinfo("::ffff:127.0.0.3", ifindex: 1)
            .InPktinfo(ifindex: 1, specDst: "127.0.0.3", addr: "127.0.0.3")
            .Build();

        var result = ControlMessageReader.Read(control);

        Assert.Equal(128, control.Length);
        Assert.Equal((Seconds * 1_000_000_000L) + Nanoseconds, result.TimestampNanos);
        Assert.Equal(17, result.KernelDrops);
        Assert.Equal(IpAddress.Parse("127.0.0.3"), result.Destination);
        Assert.Equal(4, result.DestinationIpVersion);
    }

    [Fact]
    public void Read_NoPktinfo_LeavesTheDestinationUnset()
    {
        var control = new ControlBuilder().Timeval(Seconds, 654_321).Build();

        var result = ControlMessageReader.Read(control);

        Assert.Equal(0, result.DestinationIpVersion);
        Assert.Equal(default, result.Destination);
        Assert.Equal((Seconds * 1_000_000_000L) + (654_321 * 1_000L), result.TimestampNanos);
        Assert.Equal(-1, result.KernelDrops);
    }

    [Fact]
    public void Read_AnEmptyBuffer_ReturnsNothing()
    {
        var result = ControlMessageReader.Read([]);

        Assert.Equal(0, result.DestinationIpVersion);
        Assert.Equal(0, result.TimestampNanos);
        Assert.Equal(-1, result.KernelDrops);
    }

    [Fact]
    public void Read_APktinfoCutShortByTheKernel_IsSkipped()
    {
        // MSG_CTRUNC: put_cmsg writes what fits and sets cmsg_len to it.
        var whole = new ControlBuilder().Timespec(Seconds, Nanoseconds).InPktinfo(1, "127.0.0.1", "127.0.0.1").Build();
        var cut = whole.AsSpan(0, 32 + 16 + 8).ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(cut.AsSpan(32), 16 + 8);

        var result = ControlMessageReader.Read(cut);

        Assert.Equal(0, result.DestinationIpVersion);
        Assert.Equal((Seconds * 1_000_000_000L) + Nanoseconds, result.TimestampNanos);
    }

    [Fact]
    public void Read_ACmsgLenShorterThanItsHeader_StopsTheWalk()
    {
        var control = new ControlBuilder().Timespec(Seconds, Nanoseconds).In6Pktinfo("::1", 1).Build();
        BinaryPrimitives.WriteUInt64LittleEndian(control, 8);

        var result = ControlMessageReader.Read(control);

        Assert.Equal(0, result.TimestampNanos);
        Assert.Equal(0, result.DestinationIpVersion);
    }

    [Fact]
    public void Read_EveryPrefixOfAGoodBuffer_NeverThrowsAndNeverInventsAnAddress()
    {
        var control = new ControlBuilder()
            .Timespec(Seconds, Nanoseconds)
            .RxqOvfl(3)
            .In6Pktinfo("::ffff:127.0.0.9", 1)
            .InPktinfo(1, "127.0.0.9", "127.0.0.9")
            .Build();

        for (var length = 0; length <= control.Length; length++)
        {
            var result = ControlMessageReader.Read(control.AsSpan(0, length));

            if (result.DestinationIpVersion != 0)
            {
                Assert.Equal(IpAddress.Parse("127.0.0.9"), result.Destination);
                Assert.Equal(4, result.DestinationIpVersion);
            }
        }
    }

    [Fact]
    public void Read_RandomBytes_NeverThrow()
    {
        var random = new Random(4789);
        var buffer = new byte[128];
        for (var i = 0; i < 10_000; i++)
        {
            random.NextBytes(buffer);

            // Small cmsg_len values, so the walk goes past the first message now and then.
            BinaryPrimitives.WriteUInt64LittleEndian(buffer, (ulong)random.Next(0, 140));
            var result = ControlMessageReader.Read(buffer);

            Assert.Contains(result.DestinationIpVersion, new byte[] { 0, 4, 6 });
        }
    }

    /// <summary>Writes control messages as the kernel lays them out on LP64 Linux.</summary>
    private sealed class ControlBuilder
    {
        private readonly List<byte> _bytes = [];

        public ControlBuilder Timespec(long seconds, long nanoseconds) => Add(1, 35, Longs(seconds, nanoseconds));      // SOL_SOCKET, SCM_TIMESTAMPNS

        public ControlBuilder Timeval(long seconds, long microseconds) => Add(1, 29, Longs(seconds, microseconds));    // SOL_SOCKET, SCM_TIMESTAMP

        public ControlBuilder RxqOvfl(uint drops)
        {
            var data = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(data, drops);
            return Add(1, 40, data);                                                                                 // SOL_SOCKET, SO_RXQ_OVFL
        }

        /// <summary>struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst; struct in_addr ipi_addr; }.</summary>
        public ControlBuilder InPktinfo(int ifindex, string specDst, string addr)
        {
            var data = new byte[12];
            BinaryPrimitives.WriteInt32LittleEndian(data, ifindex);
            IPAddress.Parse(specDst).TryWriteBytes(data.AsSpan(4, 4), out _);
            IPAddress.Parse(addr).TryWriteBytes(data.AsSpan(8, 4), out _);
            return Add(0, 8, data);                                                                                  // IPPROTO_IP, IP_PKTINFO
        }

        /// <summary>struct in6_pktinfo { struct in6_addr ipi6_addr; int ipi6_ifindex; }.</summary>
        public ControlBuilder In6Pktinfo(string addr, int ifindex)
        {
            var data = new byte[20];
            IPAddress.Parse(addr).TryWriteBytes(data.AsSpan(0, 16), out _);
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(16), ifindex);
            return Add(41, 50, data);                                                                                // IPPROTO_IPV6, IPV6_PKTINFO
        }

        public byte[] Build() => [.. _bytes];

        private static byte[] Longs(long first, long second)
        {
            var data = new byte[16];
            BinaryPrimitives.WriteInt64LittleEndian(data, first);
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), second);
            return data;
        }

        private ControlBuilder Add(int level, int type, byte[] data)
        {
            var header = new byte[16];
            BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)(16 + data.Length));      // cmsg_len: header + data, unpadded
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), level);                 // cmsg_level
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), type);                 // cmsg_type
            _bytes.AddRange(header);
            _bytes.AddRange(data);
            while (_bytes.Count % 8 != 0)
            {
                _bytes.Add(0);                                                                // CMSG_ALIGN padding
            }

            return this;
        }
    }
}
