namespace VtapCollector.Flows.Tests;

public class ConnStateRulesTests
{
    private const TcpHistory Syn = TcpHistory.OrigSyn | TcpHistory.OrigSent;
    private const TcpHistory Established = Syn | TcpHistory.RespSynAck | TcpHistory.RespSent;

    public static TheoryData<TcpHistory, ConnState> TcpCases => new()
    {
        { TcpHistory.OrigSent, ConnState.OTH },
        { Syn, ConnState.S0 },
        { Syn | TcpHistory.RespSent | TcpHistory.RespRst, ConnState.REJ },
        { Syn | TcpHistory.OrigRst, ConnState.RSTOS0 },
        { Syn | TcpHistory.OrigFin, ConnState.SH },
        { Established, ConnState.S1 },
        { Established | TcpHistory.OrigFin | TcpHistory.RespFin, ConnState.SF },
        { Established | TcpHistory.OrigFin, ConnState.S2 },
        { Established | TcpHistory.RespFin, ConnState.S3 },
        { Established | TcpHistory.OrigRst, ConnState.RSTO },
        { Established | TcpHistory.RespRst, ConnState.RSTR },
        { TcpHistory.RespSynAck | TcpHistory.RespSent | TcpHistory.RespRst, ConnState.RSTRH },
        { TcpHistory.RespSynAck | TcpHistory.RespSent | TcpHistory.RespFin, ConnState.SHR },
    };

    [Theory]
    [MemberData(nameof(TcpCases))]
    public void ForTcp_History_GivesZeekState(TcpHistory history, ConnState expected) =>
        Assert.Equal(expected, ConnStateRules.ForTcp(history));

    [Fact]
    public void ForTcp_EveryZeekStateIsReachable()
    {
        var reached = TcpCases.Select(row => (ConnState)row[1]).ToHashSet();
        Assert.Equal(Enum.GetValues<ConnState>().ToHashSet(), reached);
    }

    [Theory]
    [InlineData(TcpHistory.OrigSent, ConnState.S0)]
    [InlineData(TcpHistory.OrigSent | TcpHistory.RespSent, ConnState.SF)]
    public void ForOther_OneWayIsS0AndAnsweredIsSf(TcpHistory history, ConnState expected) =>
        Assert.Equal(expected, ConnStateRules.ForOther(history));
}
