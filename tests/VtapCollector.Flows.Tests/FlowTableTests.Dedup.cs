using VtapCollector.Decoding;
using static VtapCollector.Flows.Tests.Packets;

namespace VtapCollector.Flows.Tests;

/// <summary>
/// With deduplication on (packets carry a signature): a copy marked as another tap's view moves no
/// counter, flag or state, only the copies removed in its direction; the record names the taps.
/// </summary>
public partial class FlowTableTests
{
    private static readonly IpAddress ServerTap = IpAddress.Parse("192.0.2.77");
    private static readonly IpAddress ThirdTap = IpAddress.Parse("192.0.2.99");

    private static DecodedPacket Signed(DecodedPacket packet, ulong signature, IpAddress? tap = null, bool duplicate = false)
    {
        packet.Signature = signature;
        packet.TunnelSource = tap ?? TunnelSource;
        if (duplicate)
        {
            packet.Flags |= PacketFlags.DuplicateCopy;
        }

        return packet;
    }

    [Fact]
    public void Update_DuplicateCopies_CountOnlyAsCopiesRemovedEachWay()
    {
        var table = NewTable();
        table.Update(Signed(FromClient(Syn, 60), 1), At(0));
        table.Update(Signed(FromClient(Syn, 60), 1, ServerTap, duplicate: true), At(0.0001));
        table.Update(Signed(FromServer(SynAck, 60), 2, ServerTap), At(0.001));
        table.Update(Signed(FromServer(SynAck, 60), 2, duplicate: true), At(0.0011));
        table.Update(Signed(FromServer(Ack, 52), 3, duplicate: true), At(0.0012));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal((1UL, 60UL, 1UL, 60UL), (record.PacketsSrcToDst, record.BytesSrcToDst, record.PacketsDstToSrc, record.BytesDstToSrc));
        Assert.Equal((1UL, 2UL), (record.CopiesRemovedSrcToDst, record.CopiesRemovedDstToSrc));
        Assert.Equal(TcpFlagBits.Syn | TcpFlagBits.Ack, record.TcpFlagsDstToSrc);
        Assert.Equal(TimeSpan.FromMilliseconds(1), TimeSpan.FromTicks((record.LastSeenNanos - record.FirstSeenNanos) / 100));
        Assert.Equal(2, record.ObservationPoints);
        Assert.Equal(TunnelSource, record.TunnelSource);
        Assert.Equal(ServerTap, record.SecondTunnelSource);
    }

    [Fact]
    public void Update_DuplicateSynOfAClosedConnection_DoesNotEndIt()
    {
        var table = NewTable();
        table.Update(Signed(FromClient(Syn, 60), 1), At(0));
        table.Update(Signed(FromClient(Rst, 40), 2), At(0.001));
        table.Update(Signed(FromClient(Syn, 60), 1, ServerTap, duplicate: true), At(0.0015));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(2UL, record.PacketsSrcToDst);
        Assert.Equal(1UL, record.CopiesRemovedSrcToDst);
    }

    [Fact]
    public void Update_ThreeTaps_ReportsTwoAddressesAndThreeOrMore()
    {
        var table = NewTable();
        table.Update(Signed(FromClient(Syn, 60), 1), At(0));
        table.Update(Signed(FromClient(Syn, 60), 1, ServerTap, duplicate: true), At(0.0001));
        table.Update(Signed(FromClient(Syn, 60), 1, ThirdTap, duplicate: true), At(0.0002));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(3, record.ObservationPoints);
        Assert.Equal((TunnelSource, ServerTap), (record.TunnelSource, record.SecondTunnelSource));
        Assert.Equal(2UL, record.CopiesRemovedSrcToDst);
    }

    [Fact]
    public void Update_CopiesRemoved_AreDeltasBetweenRecords()
    {
        var table = NewTable(new FlowTableOptions { Capacity = 1024, ActiveTimeout = TimeSpan.FromSeconds(10) });
        table.Update(Signed(Udp(Client, 5000, Server, 53), 1), At(0));
        table.Update(Signed(Udp(Client, 5000, Server, 53), 1, ServerTap, duplicate: true), At(0.001));
        table.Expire(At(10));
        table.Update(Signed(Udp(Client, 5000, Server, 53), 2), At(11));
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal([1UL, 0UL], _writer.Records.Select(r => r.CopiesRemovedSrcToDst));
        Assert.All(_writer.Records, r => Assert.Equal(2, r.ObservationPoints));
    }

    [Fact]
    public void Update_WithoutSignatures_RecordsNoObservationPoints()
    {
        var table = NewTable();
        table.Update(FromClient(Syn, 60), At(0));
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(0, Assert.Single(_writer.Records).ObservationPoints);
    }
}
