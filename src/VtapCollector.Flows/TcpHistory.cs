namespace VtapCollector.Flows;

/// <summary>TCP events seen in a flow, from the originator's (O) and responder's (R) side.</summary>
[Flags]
public enum TcpHistory : ushort
{
    None = 0,
    /// <summary>Originator sent a SYN without ACK.</summary>
    OrigSyn = 1 << 0,
    /// <summary>Responder sent a SYN-ACK.</summary>
    RespSynAck = 1 << 1,
    OrigFin = 1 << 2,
    RespFin = 1 << 3,
    OrigRst = 1 << 4,
    RespRst = 1 << 5,
    /// <summary>The responder sent any packet.</summary>
    RespSent = 1 << 6,
    /// <summary>The originator sent any packet.</summary>
    OrigSent = 1 << 7,
}

/// <summary>Derives Zeek's <c>conn_state</c> from what a flow has seen.</summary>
public static class ConnStateRules
{
    /// <summary>The state of a TCP flow (Zeek conn.log's conn_state definitions).</summary>
    public static ConnState ForTcp(TcpHistory history)
    {
        bool Has(TcpHistory flag) => (history & flag) != 0;
        var syn = Has(TcpHistory.OrigSyn);
        var synAck = Has(TcpHistory.RespSynAck);
        if (!syn && !synAck)
        {
            return ConnState.OTH;
        }

        if (syn && !synAck)
        {
            if (Has(TcpHistory.RespRst))
            {
                return ConnState.REJ;
            }

            if (Has(TcpHistory.OrigRst))
            {
                return ConnState.RSTOS0;
            }

            if (Has(TcpHistory.OrigFin))
            {
                return ConnState.SH;
            }

            return Has(TcpHistory.RespSent) ? ConnState.OTH : ConnState.S0;
        }

        if (!syn)
        {
            // A SYN-ACK without the SYN: the handshake's first packet was missed.
            if (Has(TcpHistory.RespRst))
            {
                return ConnState.RSTRH;
            }

            if (Has(TcpHistory.RespFin) && !Has(TcpHistory.OrigSent))
            {
                return ConnState.SHR;
            }
        }

        if (Has(TcpHistory.OrigRst))
        {
            return ConnState.RSTO;
        }

        if (Has(TcpHistory.RespRst))
        {
            return ConnState.RSTR;
        }

        var origFin = Has(TcpHistory.OrigFin);
        var respFin = Has(TcpHistory.RespFin);
        return origFin && respFin ? ConnState.SF
            : origFin ? ConnState.S2
            : respFin ? ConnState.S3
            : ConnState.S1;
    }

    /// <summary>UDP, ICMP and others, as Zeek reports them: S0 one-way, SF when both sides sent.</summary>
    public static ConnState ForOther(TcpHistory history) =>
        (history & TcpHistory.RespSent) != 0 ? ConnState.SF : ConnState.S0;
}
