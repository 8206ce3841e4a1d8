namespace VtapCollector.Export.Ipfix;

/// <summary>
/// Carries finished IPFIX messages to one collector. Called from the exporter thread only, once per
/// message (never per record), so an interface call is fine; an implementation never blocks that thread.
/// </summary>
public interface IIpfixTransport : IDisposable
{
    /// <summary>
    /// True for UDP: no session, so the templates travel again every refresh interval (RFC 7011
    /// section 8.4). False for a stream (TCP, a file), which sends them once at its start.
    /// </summary>
    bool IsDatagram { get; }

    /// <summary>False while messages cannot reach the collector.</summary>
    bool IsHealthy { get; }

    /// <summary>What the transport did.</summary>
    IpfixCollectorCounters Counters { get; }

    /// <summary>
    /// Takes one message of <paramref name="records"/> data records (a copy is made if it is kept).
    /// <paramref name="templates"/> says it starts with a Template Set. A message that cannot be sent
    /// or kept is dropped and its records counted in <see cref="Counters"/>.
    /// </summary>
    void Send(ReadOnlySpan<byte> message, int records, bool templates);

    /// <summary>Makes progress without blocking: a due connection attempt, buffered messages.</summary>
    void Pump();
}
