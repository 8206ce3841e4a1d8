using static VtapCollector.Flows.TcpHistory;

namespace VtapCollector.Flows.Tests;

/// <summary>Zeek's conn_state derived from a flow's TCP history, table-driven and exhaustively.</summary>
public class ConnStateRulesTests
{
    private const TcpHistory SynSent = OrigSyn | OrigSent;
    private const TcpHistory Handshake = OrigSyn | OrigSent | RespSynAck | RespSent;
    private const TcpHistory SynAckOnly = RespSynAck | RespSent;

    public static TheoryData<TcpHistory, ConnState> TcpCases => new()
    {
        // No handshake packet seen: midstream.
        { None, ConnState.OTH },
        { OrigSent, ConnState.OTH },
        { OrigSent | RespSent, ConnState.OTH },
        { OrigSent | RespSent | OrigFin | RespFin, ConnState.OTH },
        { OrigSent | RespSent | OrigRst, ConnState.OTH },
        { OrigSent | RespSent | RespRst, ConnState.OTH },

        // SYN without SYN-ACK.
        { SynSent, ConnState.S0 },
        { SynSent | RespSent, ConnState.OTH },
        { SynSent | RespSent | RespRst, ConnState.REJ },
        { SynSent | RespSent | RespRst | OrigRst, ConnState.REJ },
        { SynSent | OrigRst, ConnState.RSTOS0 },
        { SynSent | OrigFin, ConnState.SH },
        { SynSent | OrigFin | OrigRst, ConnState.RSTOS0 },

        // Full handshake.
        { Handshake, ConnState.S1 },
        { Handshake | OrigFin | RespFin, ConnState.SF },
        { Handshake | OrigFin, ConnState.S2 },
        { Handshake | RespFin, ConnState.S3 },
        { Handshake | OrigRst, ConnState.RSTO },
        { Handshake | OrigRst | RespRst, ConnState.RSTO },
        { Handshake | OrigFin | RespFin | OrigRst, ConnState.RSTO },
        { Handshake | RespRst, ConnState.RSTR },
        { Handshake | OrigFin | RespRst, ConnState.RSTR },

        // SYN-ACK seen, SYN missed.
        { SynAckOnly, ConnState.S1 },
        { SynAckOnly | OrigSent, ConnState.S1 },
        { SynAckOnly | RespRst, ConnState.RSTRH },
        { SynAckOnly | OrigSent | RespRst, ConnState.RSTRH },
        { SynAckOnly | RespFin, ConnState.SHR },
        { SynAckOnly | OrigSent | RespFin, ConnState.S3 },
        { SynAckOnly | OrigSent | OrigFin | RespFin, ConnState.SF },
        { SynAckOnly | OrigSent | OrigRst, ConnState.RSTO },
    };

    [Theory]
    [MemberData(nameof(TcpCases))]
    public void ForTcp_History_GivesTheZeekState(TcpHistory history, ConnState expected) =>
        Assert.Equal(expected, ConnStateRules.ForTcp(history));

    [Fact]
    public void ForTcp_TheCaseTable_CoversEveryConnStateValue()
    {
        var covered = TcpCases.Select(row => (ConnState)row[1]).ToHashSet();
        Assert.Equal(Enum.GetValues<ConnState>().Order(), covered.Order());
    }

    [Fact]
    public void ForTcp_AllHistories_ReachEveryConnStateValue()
    {
        var reached = AllHistories().Select(ConnStateRules.ForTcp).ToHashSet();
        Assert.Equal(Enum.GetValues<ConnState>().Order(), reached.Order());
    }

    [Fact]
    public void ForTcp_NoSynAndNoSynAck_IsAlwaysOth()
    {
        foreach (var history in AllHistories().Where(h => (h & (OrigSyn | RespSynAck)) == None))
        {
            Assert.Equal(ConnState.OTH, ConnStateRules.ForTcp(history));
        }
    }

    [Fact]
    public void ForTcp_HandshakeThenOriginatorRst_IsAlwaysRsto()
    {
        foreach (var history in AllHistories().Where(h => (h & (Handshake | OrigRst)) == (Handshake | OrigRst)))
        {
            Assert.Equal(ConnState.RSTO, ConnStateRules.ForTcp(history));
        }
    }

    [Fact]
    public void ForTcp_HandshakeWithoutRst_DependsOnlyOnTheFins()
    {
        foreach (var history in AllHistories().Where(h => (h & Handshake) == Handshake && (h & (OrigRst | RespRst)) == None))
        {
            var expected = (history & (OrigFin | RespFin)) switch
            {
                OrigFin | RespFin => ConnState.SF,
                OrigFin => ConnState.S2,
                RespFin => ConnState.S3,
                _ => ConnState.S1,
            };
            Assert.Equal(expected, ConnStateRules.ForTcp(history));
        }
    }

    [Theory]
    [InlineData(None, ConnState.S0)]
    [InlineData(OrigSent, ConnState.S0)]
    [InlineData(OrigSent | RespSent, ConnState.SF)]
    [InlineData(RespSent, ConnState.SF)]
    public void ForOther_OneWayIsS0AndAnsweredIsSf(TcpHistory history, ConnState expected) =>
        Assert.Equal(expected, ConnStateRules.ForOther(history));

    [Fact]
    public void ForOther_DependsOnlyOnWhetherTheResponderSent()
    {
        foreach (var history in AllHistories())
        {
            Assert.Equal((history & RespSent) != 0 ? ConnState.SF : ConnState.S0, ConnStateRules.ForOther(history));
        }
    }

    /// <summary>Every combination of the eight history bits.</summary>
    private static IEnumerable<TcpHistory> AllHistories() => Enumerable.Range(0, 256).Select(bits => (TcpHistory)bits);
}
