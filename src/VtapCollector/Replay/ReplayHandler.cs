using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Replay;

/// <summary>
/// The packet path of a replay: decode, count the outcome, update the flow table, and let the table
/// expire flows as packet time advances. A struct used as a generic argument, so the reader's
/// per-packet call is direct.
/// </summary>
internal readonly struct ReplayHandler : IPacketHandler
{
    /// <summary>Expiry runs at most once per second of packet time.</summary>
    private const long ExpiryIntervalNanos = 1_000_000_000L;

    private readonly PacketDecoder _decoder;
    private readonly FlowTable _flows;
    private readonly ReplayState _state;

    public ReplayHandler(PacketDecoder decoder, FlowTable flows, ReplayState state)
    {
        _decoder = decoder;
        _flows = flows;
        _state = state;
    }

    public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data)
    {
        var state = _state;
        var status = _decoder.Decode(packet.LinkType, data, out var decoded);
        if (status == DecodeStatus.Ok)
        {
            status = _flows.Update(decoded, packet.TimestampNanos);
            if ((decoded.Flags & PacketFlags.TruncatedCopy) != 0)
            {
                state.TruncatedCopies++;
            }
        }

        state.Counters.Add(status);

        // Packet time only moves forward here, even if a merged capture steps back a little.
        if (packet.TimestampNanos > state.Now)
        {
            state.Now = packet.TimestampNanos;
            if (state.Now >= state.NextExpiry)
            {
                _flows.Expire(state.Now);
                state.NextExpiry = state.Now + ExpiryIntervalNanos;
            }
        }
    }
}

/// <summary>Mutable counters and clock of one replay, shared by reference with its handler.</summary>
internal sealed class ReplayState
{
    public DecodeCounters Counters { get; } = new();

    public long TruncatedCopies { get; set; }

    /// <summary>Latest packet time seen, ns since the Unix epoch.</summary>
    public long Now { get; set; }

    public long NextExpiry { get; set; }
}
