using VtapCollector.Decoding;
using static VtapCollector.Flows.Tests.Packets;

namespace VtapCollector.Flows.Tests;

/// <summary>
/// How packets become flows: direction merging, initiator choice, per-direction counters, ICMP
/// pairing, connection states end to end, and the record life cycle (active and idle timeouts,
/// closing linger, port reuse). The client's address is higher than the server's, so a test that
/// expects the client as source cannot pass by the canonical key order alone.
/// </summary>
public partial class FlowTableTests
{
    private const string Client = "10.0.0.20";
    private const string Server = "10.0.0.10";
    private const ushort ClientPort = 40000;
    private const ushort ServerPort = 443;

    private readonly RecordingWriter _writer = new();

    private FlowTable NewTable(FlowTableOptions? options = null) =>
        new(options ?? new FlowTableOptions { Capacity = 1024 }, _writer);

    private static DecodedPacket FromClient(byte flags, uint ipBytes = 52) => Tcp(Client, ClientPort, Server, ServerPort, flags, ipBytes);

    private static DecodedPacket FromServer(byte flags, uint ipBytes = 52) => Tcp(Server, ServerPort, Client, ClientPort, flags, ipBytes);

    /// <summary>SYN, SYN-ACK, ACK at 0, 1 and 2 ms.</summary>
    private static void Handshake(FlowTable table, double startSeconds = 0)
    {
        table.Update(FromClient(Syn, 60), At(startSeconds));
        table.Update(FromServer(SynAck, 60), At(startSeconds + 0.001));
        table.Update(FromClient(Ack), At(startSeconds + 0.002));
    }

    // ---- direction, initiator, counters ----

    [Fact]
    public void Update_BothDirections_MergeIntoOneFlow()
    {
        var table = NewTable();
        table.Update(Udp(Client, 5353, Server, 53, 60), At(0));
        table.Update(Udp(Server, 53, Client, 5353, 120), At(0.001));
        table.Update(Udp(Client, 5353, Server, 53, 70), At(0.002));

        Assert.Equal(1, table.Count);
        Assert.Equal(1, table.FlowsCreated);
        table.FlushAll(EndReason.EndOfInput);
        var record = Assert.Single(_writer.Records);
        Assert.Equal((2UL, 130UL), (record.PacketsSrcToDst, record.BytesSrcToDst));
        Assert.Equal((1UL, 120UL), (record.PacketsDstToSrc, record.BytesDstToSrc));
    }

    [Fact]
    public void Update_SameTupleInTwoVnis_MakesTwoFlows()
    {
        var table = NewTable();
        table.Update(Udp(Client, 5353, Server, 53, vni: 100), At(0));
        table.Update(Udp(Client, 5353, Server, 53, vni: 200), At(0));
        table.Update(Udp(Server, 53, Client, 5353, vni: 200), At(0.001));

        Assert.Equal(2, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        var vni100 = Assert.Single(_writer.Records, r => r.Vni == 100);
        var vni200 = Assert.Single(_writer.Records, r => r.Vni == 200);
        Assert.Equal((1UL, 0UL), (vni100.PacketsSrcToDst, vni100.PacketsDstToSrc));
        Assert.Equal((1UL, 1UL), (vni200.PacketsSrcToDst, vni200.PacketsDstToSrc));
        Assert.NotEqual(vni100.FlowId, vni200.FlowId);
    }

    [Theory]
    [InlineData("10.0.0.20", "10.0.0.10")]
    [InlineData("10.0.0.10", "10.0.0.20")]
    [InlineData("2001:db8::20", "2001:db8::10")]
    public void Update_SynSynAckAck_InitiatorIsSynSender(string client, string server)
    {
        var table = NewTable();
        table.Update(Tcp(client, 50000, server, 80, Syn), At(0));
        table.Update(Tcp(server, 80, client, 50000, SynAck), At(0.001));
        table.Update(Tcp(client, 50000, server, 80, Ack), At(0.002));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(IpAddress.Parse(client), record.Source);
        Assert.Equal(50000, record.SourcePort);
        Assert.Equal(IpAddress.Parse(server), record.Destination);
        Assert.Equal(80, record.DestinationPort);
        Assert.Equal((2UL, 1UL), (record.PacketsSrcToDst, record.PacketsDstToSrc));
    }

    [Theory]
    [InlineData("10.0.0.20", "10.0.0.10")]
    [InlineData("10.0.0.10", "10.0.0.20")]
    public void Update_SynAckSeenFirst_InitiatorIsSynAckReceiver(string client, string server)
    {
        var table = NewTable();
        table.Update(Tcp(server, 80, client, 50000, SynAck), At(0));
        table.Update(Tcp(client, 50000, server, 80, Ack), At(0.001));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(IpAddress.Parse(client), record.Source);
        Assert.Equal(50000, record.SourcePort);
        Assert.Equal(80, record.DestinationPort);
        Assert.Equal((1UL, 1UL), (record.PacketsSrcToDst, record.PacketsDstToSrc));
    }

    [Theory]
    [InlineData("10.0.0.20", "10.0.0.10")]
    [InlineData("10.0.0.10", "10.0.0.20")]
    public void Update_UdpWithoutSyn_InitiatorIsFirstSender(string first, string second)
    {
        var table = NewTable();
        table.Update(Udp(first, 1234, second, 5678), At(0));
        table.Update(Udp(second, 5678, first, 1234), At(0.001));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(IpAddress.Parse(first), record.Source);
        Assert.Equal((1234, 5678), (record.SourcePort, record.DestinationPort));
    }

    [Fact]
    public void Update_MidstreamTcp_InitiatorIsFirstSender()
    {
        var table = NewTable();
        table.Update(FromServer(PshAck, 1000), At(0));
        table.Update(FromClient(Ack), At(0.001));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(IpAddress.Parse(Server), record.Source);
        Assert.Equal(ServerPort, record.SourcePort);
        Assert.Equal(ConnState.OTH, record.ConnState);
    }

    [Fact]
    public void Update_TcpConversation_CountsPacketsAndIpBytesPerDirectionAndOrsFlags()
    {
        var table = NewTable();
        table.Update(FromClient(Syn, 60), At(0));
        table.Update(FromServer(SynAck, 60), At(0.001));
        table.Update(FromClient(Ack, 52), At(0.002));
        table.Update(FromClient(PshAck, 552), At(0.003));
        table.Update(FromServer(Ack, 1452), At(0.004));
        table.Update(FromServer(Ack, 1452), At(0.005));
        table.Update(FromClient((byte)(Ack | TcpFlagBits.Urg), 52), At(0.006));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(4UL, record.PacketsSrcToDst);
        Assert.Equal(60UL + 52 + 552 + 52, record.BytesSrcToDst);
        Assert.Equal(3UL, record.PacketsDstToSrc);
        Assert.Equal(60UL + 1452 + 1452, record.BytesDstToSrc);
        Assert.Equal(TcpFlagBits.Syn | TcpFlagBits.Ack | TcpFlagBits.Psh | TcpFlagBits.Urg, record.TcpFlagsSrcToDst);
        Assert.Equal(TcpFlagBits.Syn | TcpFlagBits.Ack, record.TcpFlagsDstToSrc);
        Assert.Equal(At(0), record.FirstSeenNanos);
        Assert.Equal(At(0.006), record.LastSeenNanos);
        Assert.Equal(IpProtocol.Tcp, record.Protocol);
        Assert.Equal(4, record.IpVersion);
    }

    [Fact]
    public void Update_UdpFlow_ReportsZeroTcpFlags()
    {
        var table = NewTable();
        table.Update(Udp(Client, 1, Server, 2), At(0));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal((0, 0), (record.TcpFlagsSrcToDst, record.TcpFlagsDstToSrc));
    }

    [Fact]
    public void Update_NewFlow_CarriesTunnelEndpointsAndVlanOfItsFirstPacket()
    {
        var table = NewTable();
        var first = Udp(Client, 1, Server, 2);
        first.Vlan = 42;
        var second = Udp(Server, 2, Client, 1);
        second.TunnelSource = IpAddress.Parse("198.51.100.7");
        second.Vlan = 43;
        table.Update(first, At(0));
        table.Update(second, At(0.001));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(TunnelKind.Vxlan, record.Tunnel);
        Assert.Equal(4, record.TunnelIpVersion);
        Assert.Equal(Packets.TunnelSource, record.TunnelSource);
        Assert.Equal(Packets.TunnelDestination, record.TunnelDestination);
        Assert.Equal(42, record.Vlan);
        Assert.Equal(Packets.Vni, record.Vni);
    }

    // ---- ICMP ----

    [Fact]
    public void Update_IcmpEchoRequestAndReply_MakeOneFlowWithTypeAndCounterpartPorts()
    {
        var table = NewTable();
        table.Update(Icmp(Client, Server, 8, 0), At(0));
        table.Update(Icmp(Server, Client, 0, 0), At(0.001));
        table.Update(Icmp(Client, Server, 8, 0), At(1));
        table.Update(Icmp(Server, Client, 0, 0), At(1.001));

        Assert.Equal(1, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        var record = Assert.Single(_writer.Records);
        Assert.Equal(IpProtocol.Icmp, record.Protocol);
        Assert.Equal(IpAddress.Parse(Client), record.Source);
        Assert.Equal((8, 0), (record.SourcePort, record.DestinationPort));
        Assert.Equal((2UL, 2UL), (record.PacketsSrcToDst, record.PacketsDstToSrc));
        Assert.Equal(ConnState.SF, record.ConnState);
    }

    [Fact]
    public void Update_Icmpv6EchoRequestAndReply_MakeOneFlowWith128And129()
    {
        var table = NewTable();
        table.Update(Icmp("fe80::20", "fe80::10", 128, 0, 104), At(0));
        table.Update(Icmp("fe80::10", "fe80::20", 129, 0, 104), At(0.001));

        Assert.Equal(1, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        var record = Assert.Single(_writer.Records);
        Assert.Equal(IpProtocol.Icmpv6, record.Protocol);
        Assert.Equal(6, record.IpVersion);
        Assert.Equal(IpAddress.Parse("fe80::20"), record.Source);
        Assert.Equal((128, 129), (record.SourcePort, record.DestinationPort));
        Assert.Equal((1UL, 1UL), (record.PacketsSrcToDst, record.PacketsDstToSrc));
    }

    [Fact]
    public void Update_IcmpDestinationUnreachable_IsSeparateOneWayFlowWithTypeAndCode()
    {
        var table = NewTable();
        table.Update(Icmp(Client, Server, 8, 0), At(0));
        table.Update(Icmp(Server, Client, 3, 1, 112), At(0.001));

        Assert.Equal(2, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        var unreachable = Assert.Single(_writer.Records, r => r.SourcePort == 3);
        Assert.Equal(IpAddress.Parse(Server), unreachable.Source);
        Assert.Equal(1, unreachable.DestinationPort);
        Assert.Equal((1UL, 0UL), (unreachable.PacketsSrcToDst, unreachable.PacketsDstToSrc));
        Assert.Equal(ConnState.S0, unreachable.ConnState);
        var echo = Assert.Single(_writer.Records, r => r.SourcePort == 8);
        Assert.Equal((1UL, 0UL), (echo.PacketsSrcToDst, echo.PacketsDstToSrc));
    }

    [Fact]
    public void Update_PortlessProtocol_OneFlowPerAddressPair()
    {
        var table = NewTable();
        table.Update(Portless(IpProtocol.Gre, Client, Server), At(0));
        table.Update(Portless(IpProtocol.Gre, Server, Client), At(0.001));
        table.Update(Portless(IpProtocol.Esp, Client, Server), At(0.002));

        Assert.Equal(2, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        var gre = Assert.Single(_writer.Records, r => r.Protocol == IpProtocol.Gre);
        Assert.Equal((1UL, 1UL), (gre.PacketsSrcToDst, gre.PacketsDstToSrc));
        Assert.Equal(ConnState.SF, gre.ConnState);
    }

    // ---- connection states, end to end ----

    /// <summary>
    /// A script is packets one millisecond apart, each "c:" (client to server) or "s:" (server to
    /// client) and flags S, A, F, R, P. Then the table expires at the last packet plus the closing
    /// linger and flushes the rest with <see cref="EndReason.EndOfInput"/>.
    /// </summary>
    [Theory]
    [InlineData("c:S s:SA c:A c:FA s:FA c:A", ConnState.SF, EndReason.Fin)]
    [InlineData("c:S s:SA c:A s:FA c:FA s:A", ConnState.SF, EndReason.Fin)]
    [InlineData("c:S s:RA", ConnState.REJ, EndReason.Rst)]
    [InlineData("c:S", ConnState.S0, EndReason.EndOfInput)]
    [InlineData("c:S c:S c:S", ConnState.S0, EndReason.EndOfInput)]
    [InlineData("c:S s:SA c:A c:PA s:A c:R", ConnState.RSTO, EndReason.Rst)]
    [InlineData("c:S s:SA c:A c:PA s:RA", ConnState.RSTR, EndReason.Rst)]
    [InlineData("c:S s:SA c:A c:PA s:PA", ConnState.S1, EndReason.EndOfInput)]
    [InlineData("c:S s:SA c:A c:FA", ConnState.S2, EndReason.EndOfInput)]
    [InlineData("c:S s:SA c:A s:FA", ConnState.S3, EndReason.EndOfInput)]
    [InlineData("c:S c:R", ConnState.RSTOS0, EndReason.Rst)]
    [InlineData("s:SA s:R", ConnState.RSTRH, EndReason.Rst)]
    [InlineData("c:S c:F", ConnState.SH, EndReason.EndOfInput)]
    [InlineData("s:SA s:FA", ConnState.SHR, EndReason.EndOfInput)]
    [InlineData("c:PA s:A c:PA", ConnState.OTH, EndReason.EndOfInput)]
    [InlineData("c:A s:FA c:FA s:A", ConnState.OTH, EndReason.Fin)]
    public void Update_TcpScript_EndsWithZeekStateAndReason(string script, ConnState expectedState, EndReason expectedReason)
    {
        var table = NewTable();
        var time = 0.0;
        foreach (var step in script.Split(' '))
        {
            var flags = ParseFlags(step[2..]);
            table.Update(step[0] == 'c' ? FromClient(flags) : FromServer(flags), At(time));
            time += 0.001;
        }

        table.Expire(At(time - 0.001 + 5));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(FlowRecordType.End, record.Type);
        Assert.Equal(expectedState, record.ConnState);
        Assert.Equal(expectedReason, record.EndReason);
        Assert.Equal(IpAddress.Parse(script[0] == 'c' || script.StartsWith("s:SA", StringComparison.Ordinal) ? Client : Server), record.Source);
    }

    [Fact]
    public void Update_EstablishedConnectionAtEndOfInput_IsS1()
    {
        var table = NewTable();
        Handshake(table);
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal((ConnState.S1, EndReason.EndOfInput), (record.ConnState, record.EndReason));
    }

    [Fact]
    public void Update_UdpOneWay_IsS0AndAnswered_IsSf()
    {
        var table = NewTable();
        table.Update(Udp(Client, 1000, Server, 53), At(0));
        table.Update(Udp(Client, 1001, Server, 53), At(0));
        table.Update(Udp(Server, 53, Client, 1001), At(0.001));
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal(ConnState.S0, Assert.Single(_writer.Records, r => r.SourcePort == 1000).ConnState);
        Assert.Equal(ConnState.SF, Assert.Single(_writer.Records, r => r.SourcePort == 1001).ConnState);
    }

    // ---- active timeout: update records carry deltas ----

    [Fact]
    public void Expire_AfterActiveTimeout_EmitsUpdateRecordsWithDeltasThatSumToTotals()
    {
        var table = NewTable();
        table.Update(Udp(Client, 1, Server, 2, 100), At(0));
        table.Update(Udp(Server, 2, Client, 1, 200), At(5));
        table.Update(Udp(Client, 1, Server, 2, 110), At(10));
        table.Update(Udp(Client, 1, Server, 2, 120), At(20));
        table.Expire(At(59.999));
        Assert.Empty(_writer.Records);
        table.Expire(At(60));

        var first = Assert.Single(_writer.Records);
        Assert.Equal(FlowRecordType.Update, first.Type);
        Assert.Equal(EndReason.None, first.EndReason);
        Assert.Equal(0U, first.Sequence);
        Assert.Equal((3UL, 330UL, 1UL, 200UL), (first.PacketsSrcToDst, first.BytesSrcToDst, first.PacketsDstToSrc, first.BytesDstToSrc));
        Assert.Equal((At(0), At(20)), (first.FirstSeenNanos, first.LastSeenNanos));
        Assert.Equal(ConnState.SF, first.ConnState);
        Assert.Equal(1, table.Count);

        table.Update(Udp(Client, 1, Server, 2, 130), At(70));
        table.Update(Udp(Server, 2, Client, 1, 210), At(75));
        table.Update(Udp(Client, 1, Server, 2, 140), At(80));
        table.Expire(At(119));
        Assert.Single(_writer.Records);
        table.Expire(At(120));
        Assert.Equal(2, _writer.Records.Count);
        var second = _writer.Records[1];
        Assert.Equal((FlowRecordType.Update, 1U), (second.Type, second.Sequence));
        Assert.Equal((2UL, 270UL, 1UL, 210UL), (second.PacketsSrcToDst, second.BytesSrcToDst, second.PacketsDstToSrc, second.BytesDstToSrc));

        table.Update(Udp(Client, 1, Server, 2, 150), At(130));
        table.FlushAll(EndReason.EndOfInput);
        var last = _writer.Records[2];
        Assert.Equal((FlowRecordType.End, EndReason.EndOfInput, 2U), (last.Type, last.EndReason, last.Sequence));
        Assert.Equal((1UL, 150UL, 0UL, 0UL), (last.PacketsSrcToDst, last.BytesSrcToDst, last.PacketsDstToSrc, last.BytesDstToSrc));

        Assert.Equal([0U, 1U, 2U], _writer.Records.Select(r => r.Sequence));
        Assert.Single(_writer.Records.Select(r => r.FlowId).Distinct());
        Assert.Single(_writer.Records.Select(r => r.FirstSeenNanos).Distinct());
        Assert.Equal(6UL, _writer.Records.Aggregate(0UL, (sum, r) => sum + r.PacketsSrcToDst));
        Assert.Equal(100UL + 110 + 120 + 130 + 140 + 150, _writer.Records.Aggregate(0UL, (sum, r) => sum + r.BytesSrcToDst));
        Assert.Equal(2UL, _writer.Records.Aggregate(0UL, (sum, r) => sum + r.PacketsDstToSrc));
        Assert.Equal(410UL, _writer.Records.Aggregate(0UL, (sum, r) => sum + r.BytesDstToSrc));
        Assert.Equal((2L, 1L), (table.UpdateRecords, table.EndRecords));
    }

    [Fact]
    public void Expire_ActiveTimeoutWithoutNewPackets_EmitsNoEmptyUpdateAndKeepsSequenceGapless()
    {
        var table = NewTable();
        Handshake(table);
        table.Expire(At(60));
        table.Expire(At(120));
        table.Expire(At(180));
        table.Update(FromClient(PshAck, 500), At(190));
        table.Expire(At(240));
        table.FlushAll(EndReason.EndOfInput);

        Assert.Equal([FlowRecordType.Update, FlowRecordType.Update, FlowRecordType.End], _writer.Records.Select(r => r.Type));
        Assert.Equal([0U, 1U, 2U], _writer.Records.Select(r => r.Sequence));
        Assert.Equal((1UL, 500UL), (_writer.Records[1].PacketsSrcToDst, _writer.Records[1].BytesSrcToDst));
        Assert.Equal((0UL, 0UL), (_writer.Records[2].PacketsSrcToDst, _writer.Records[2].PacketsDstToSrc));
    }

    [Fact]
    public void Expire_UpdateRecords_KeepTcpFlagsOredOverTheWholeFlow()
    {
        var table = NewTable();
        Handshake(table);
        table.Expire(At(60));
        table.Update(FromClient(PshAck, 500), At(61));
        table.Expire(At(120));

        Assert.Equal(2, _writer.Records.Count);
        Assert.Equal(TcpFlagBits.Syn | TcpFlagBits.Ack, _writer.Records[0].TcpFlagsSrcToDst);
        Assert.Equal(TcpFlagBits.Syn | TcpFlagBits.Ack | TcpFlagBits.Psh, _writer.Records[1].TcpFlagsSrcToDst);
        Assert.Equal(TcpFlagBits.Syn | TcpFlagBits.Ack, _writer.Records[1].TcpFlagsDstToSrc);
        Assert.Equal(ConnState.S1, _writer.Records[1].ConnState);
    }

    // ---- idle timeouts ----

    [Fact]
    public void Expire_UdpIdleForDefault60Seconds_EndsWithIdleTimeout()
    {
        var table = NewTable();
        table.Update(Udp(Client, 1, Server, 2), At(0));
        table.Expire(At(59.999));
        Assert.Empty(_writer.Records);
        Assert.Equal(1, table.Count);

        table.Expire(At(60));
        var record = Assert.Single(_writer.Records);
        Assert.Equal((FlowRecordType.End, EndReason.IdleTimeout), (record.Type, record.EndReason));
        Assert.Equal(1UL, record.PacketsSrcToDst);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Expire_TcpIdleForDefault300Seconds_EndsWithIdleTimeoutNotBefore()
    {
        var table = NewTable();
        Handshake(table);
        table.Expire(At(60));
        table.Expire(At(299.9));
        Assert.Empty(_writer.Ends);
        Assert.Equal(1, table.Count);

        table.Expire(At(300.002));
        var end = Assert.Single(_writer.Ends);
        Assert.Equal(EndReason.IdleTimeout, end.EndReason);
        Assert.Equal(ConnState.S1, end.ConnState);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Expire_IcmpAndOtherProtocols_UseTheNonTcpIdleTimeout()
    {
        var table = NewTable(new FlowTableOptions { Capacity = 64, IdleTimeout = TimeSpan.FromSeconds(10), TcpIdleTimeout = TimeSpan.FromSeconds(20) });
        table.Update(Icmp(Client, Server, 8, 0), At(0));
        table.Update(Portless(IpProtocol.Gre, Client, Server), At(0));
        table.Update(FromClient(Ack), At(0));
        table.Expire(At(10));

        Assert.Equal(2, _writer.Ends.Count());
        Assert.All(_writer.Ends, r => Assert.Equal(EndReason.IdleTimeout, r.EndReason));
        Assert.DoesNotContain(_writer.Ends, r => r.Protocol == IpProtocol.Tcp);
        table.Expire(At(20));
        Assert.Contains(_writer.Ends, r => r.Protocol == IpProtocol.Tcp);
    }

    [Fact]
    public void Expire_IdleMeasuredFromLastPacketInEitherDirection()
    {
        var table = NewTable();
        table.Update(Udp(Client, 1, Server, 2), At(0));
        table.Update(Udp(Server, 2, Client, 1), At(50));
        table.Expire(At(100));
        Assert.Empty(_writer.Ends);
        table.Expire(At(110));
        Assert.Single(_writer.Ends);
    }

    // ---- closing linger ----

    [Fact]
    public void Update_FinalAckAfterFinFin_LandsInSameFlowAndLingerEndsItWithFin()
    {
        var table = NewTable();
        Handshake(table);
        table.Update(FromClient(FinAck), At(1));
        table.Update(FromServer(FinAck), At(1.001));
        table.Update(FromClient(Ack), At(1.002));

        Assert.Equal(1, table.Count);
        table.Expire(At(5.9));
        Assert.Empty(_writer.Records);
        table.Expire(At(6.001));

        var record = Assert.Single(_writer.Records);
        Assert.Equal((FlowRecordType.End, EndReason.Fin, ConnState.SF), (record.Type, record.EndReason, record.ConnState));
        Assert.Equal((4UL, 2UL), (record.PacketsSrcToDst, record.PacketsDstToSrc));
        Assert.Equal(At(1.002), record.LastSeenNanos);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Update_RstThenStrayPackets_StayInFlowAndLingerEndsItWithRst()
    {
        var table = NewTable();
        Handshake(table);
        table.Update(FromClient(RstAck), At(1));
        table.Update(FromServer(Ack), At(2));

        Assert.Equal(1, table.Count);
        table.Expire(At(5.999));
        Assert.Empty(_writer.Records);
        table.Expire(At(6));
        var record = Assert.Single(_writer.Records);
        Assert.Equal((EndReason.Rst, ConnState.RSTO), (record.EndReason, record.ConnState));
        Assert.Equal((3UL, 2UL), (record.PacketsSrcToDst, record.PacketsDstToSrc));
    }

    [Fact]
    public void Expire_OneFinOnly_DoesNotStartTheLinger()
    {
        var table = NewTable();
        Handshake(table);
        table.Update(FromClient(FinAck), At(1));
        table.Expire(At(100));

        Assert.Empty(_writer.Ends);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Expire_ZeroClosingTimeout_EndsAtTheClosingPacketsTime()
    {
        var table = NewTable(new FlowTableOptions { Capacity = 64, TcpClosingTimeout = TimeSpan.Zero });
        Handshake(table);
        table.Update(FromServer(RstAck), At(1));
        table.Expire(At(1));

        var record = Assert.Single(_writer.Records);
        Assert.Equal((EndReason.Rst, ConnState.RSTR), (record.EndReason, record.ConnState));
    }

    // ---- port reuse ----

    [Fact]
    public void Update_NewPureSynAfterFinFin_EndsOldFlowAndStartsNewOneWithDifferentFlowId()
    {
        var table = NewTable();
        Handshake(table);
        table.Update(FromClient(FinAck), At(1));
        table.Update(FromServer(FinAck), At(1.001));
        table.Update(FromClient(Ack), At(1.002));
        table.Update(FromClient(Syn, 60), At(2));

        var old = Assert.Single(_writer.Records);
        Assert.Equal((EndReason.Fin, ConnState.SF), (old.EndReason, old.ConnState));
        Assert.Equal((4UL, 2UL), (old.PacketsSrcToDst, old.PacketsDstToSrc));
        Assert.Equal(1, table.Count);
        Assert.Equal(2, table.FlowsCreated);

        table.Update(FromServer(SynAck, 60), At(2.001));
        table.FlushAll(EndReason.EndOfInput);
        var next = _writer.Records[1];
        Assert.NotEqual(old.FlowId, next.FlowId);
        Assert.Equal(0U, next.Sequence);
        Assert.Equal(At(2), next.FirstSeenNanos);
        Assert.Equal((1UL, 1UL), (next.PacketsSrcToDst, next.PacketsDstToSrc));
        Assert.Equal(ConnState.S1, next.ConnState);
        Assert.Equal(IpAddress.Parse(Client), next.Source);
    }

    [Fact]
    public void Update_NewPureSynAfterRst_EndsOldFlowWithRst()
    {
        var table = NewTable();
        Handshake(table);
        table.Update(FromServer(RstAck), At(1));
        table.Update(FromClient(Syn), At(1.5));

        var old = Assert.Single(_writer.Records);
        Assert.Equal((EndReason.Rst, ConnState.RSTR), (old.EndReason, old.ConnState));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Update_RetransmittedSynOnOpenFlow_StaysInTheSameFlow()
    {
        var table = NewTable();
        table.Update(FromClient(Syn, 60), At(0));
        table.Update(FromClient(Syn, 60), At(1));
        table.Update(FromClient(Syn, 60), At(3));
        table.FlushAll(EndReason.EndOfInput);

        var record = Assert.Single(_writer.Records);
        Assert.Equal(3UL, record.PacketsSrcToDst);
        Assert.Equal(1, table.FlowsCreated);
    }

    [Fact]
    public void Update_SynAckOnClosingFlow_DoesNotStartANewFlow()
    {
        var table = NewTable();
        Handshake(table);
        table.Update(FromClient(RstAck), At(1));
        table.Update(FromServer(SynAck), At(1.5));

        Assert.Empty(_writer.Records);
        Assert.Equal(1, table.Count);
    }

    private static byte ParseFlags(string letters)
    {
        byte flags = 0;
        foreach (var letter in letters)
        {
            flags |= letter switch
            {
                'S' => TcpFlagBits.Syn,
                'A' => TcpFlagBits.Ack,
                'F' => TcpFlagBits.Fin,
                'R' => TcpFlagBits.Rst,
                'P' => TcpFlagBits.Psh,
                _ => throw new ArgumentException($"Unknown flag letter {letter}.", nameof(letters)),
            };
        }

        return flags;
    }
}
