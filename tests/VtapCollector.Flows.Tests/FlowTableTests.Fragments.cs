using VtapCollector.Decoding;
using static VtapCollector.Flows.Tests.Packets;

namespace VtapCollector.Flows.Tests;

/// <summary>IP fragments: later fragments carry no ports and take those of their first fragment.</summary>
public partial class FlowTableTests
{
    [Fact]
    public void Update_FirstAndLaterUdpFragment_CountInTheSameFlow()
    {
        var table = NewTable();
        var first = FirstFragment(Udp(Client, 5000, Server, 53, 1500), 777);
        var later = LaterFragment(IpProtocol.Udp, Client, Server, 777, 185, false, 520);

        Assert.Equal(DecodeStatus.Ok, table.Update(first, At(0)));
        Assert.Equal(DecodeStatus.Ok, table.Update(later, At(0.001)));

        Assert.Equal(1, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        var record = Assert.Single(_writer.Records);
        Assert.Equal((5000, 53), (record.SourcePort, record.DestinationPort));
        Assert.Equal((2UL, 2020UL), (record.PacketsSrcToDst, record.BytesSrcToDst));
    }

    [Fact]
    public void Update_ThreeFragmentsAndAReply_CountInOneFlow()
    {
        var table = NewTable();
        table.Update(FirstFragment(Udp(Client, 5000, Server, 53, 1500), 9), At(0));
        table.Update(LaterFragment(IpProtocol.Udp, Client, Server, 9, 185, true, 1500), At(0.001));
        table.Update(LaterFragment(IpProtocol.Udp, Client, Server, 9, 370, false, 300), At(0.002));
        table.Update(Udp(Server, 53, Client, 5000, 80), At(0.003));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal((3UL, 3300UL), (record.PacketsSrcToDst, record.BytesSrcToDst));
        Assert.Equal((1UL, 80UL), (record.PacketsDstToSrc, record.BytesDstToSrc));
    }

    [Fact]
    public void Update_Ipv6Fragments_CountInTheSameFlow()
    {
        var table = NewTable();
        var first = FirstFragment(Udp("2001:db8::20", 4500, "2001:db8::10", 4500, 1280), 0x8000_0001);
        var later = LaterFragment(IpProtocol.Udp, "2001:db8::20", "2001:db8::10", 0x8000_0001, 154, false, 400);

        Assert.Equal(DecodeStatus.Ok, table.Update(first, At(0)));
        Assert.Equal(DecodeStatus.Ok, table.Update(later, At(0.001)));

        table.FlushAll(EndReason.EndOfInput);
        var record = Assert.Single(_writer.Records);
        Assert.Equal((2UL, 1680UL), (record.PacketsSrcToDst, record.BytesSrcToDst));
        Assert.Equal(6, record.IpVersion);
    }

    [Fact]
    public void Update_FragmentedEchoRequest_CountsInTheEchoFlow()
    {
        var table = NewTable();
        table.Update(FirstFragment(Icmp(Client, Server, 8, 0, 1500), 31), At(0));
        table.Update(LaterFragment(IpProtocol.Icmp, Client, Server, 31, 185, false, 528), At(0.001));
        table.Update(Icmp(Server, Client, 0, 0, 2028), At(0.002));

        Assert.Equal(1, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        var record = Assert.Single(_writer.Records);
        Assert.Equal((8, 0), (record.SourcePort, record.DestinationPort));
        Assert.Equal((2UL, 1UL), (record.PacketsSrcToDst, record.PacketsDstToSrc));
    }

    [Fact]
    public void Update_LaterFragmentAlone_IsFragmentWithoutFirstAndMakesNoFlow()
    {
        var table = NewTable();
        var status = table.Update(LaterFragment(IpProtocol.Udp, Client, Server, 5, 185, false, 520), At(0));

        Assert.Equal(DecodeStatus.FragmentWithoutFirst, status);
        Assert.Equal(0, table.Count);
        Assert.Equal(0, table.FlowsCreated);
        table.FlushAll(EndReason.EndOfInput);
        Assert.Empty(_writer.Records);
    }

    [Theory]
    [InlineData(778u, Vni, IpProtocol.Udp, "10.0.0.20", "10.0.0.10")]   // another datagram's id
    [InlineData(777u, 1u, IpProtocol.Udp, "10.0.0.20", "10.0.0.10")]    // the same id in another VNI
    [InlineData(777u, Vni, IpProtocol.Tcp, "10.0.0.20", "10.0.0.10")]   // another protocol
    [InlineData(777u, Vni, IpProtocol.Udp, "10.0.0.21", "10.0.0.10")]   // another source
    [InlineData(777u, Vni, IpProtocol.Udp, "10.0.0.10", "10.0.0.20")]   // the reverse direction
    public void Update_LaterFragmentOfAnotherDatagram_IsFragmentWithoutFirst(uint id, uint vni, byte protocol, string source, string destination)
    {
        var table = NewTable();
        table.Update(FirstFragment(Udp(Client, 5000, Server, 53, 1500), 777), At(0));
        var status = table.Update(LaterFragment(protocol, source, destination, id, 185, false, 520, vni), At(0.001));

        Assert.Equal(DecodeStatus.FragmentWithoutFirst, status);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void FlushAll_ForgetsFirstFragments()
    {
        var table = NewTable();
        table.Update(FirstFragment(Udp(Client, 5000, Server, 53, 1500), 777), At(0));
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(DecodeStatus.FragmentWithoutFirst, table.Update(LaterFragment(IpProtocol.Udp, Client, Server, 777, 185, false, 520), At(1)));
    }
}
