using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Replay;

/// <summary>
/// The packet path of a replay: decode, count the outcome, hand decoded packets to the flow table in
/// small batches (so it can prefetch the entries they touch), and let the table expire flows as
/// packet time advances. A struct used as a generic argument, so the reader's per-packet call is
/// direct.
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
        ref var decoded = ref state.Batch[state.BatchCount];
        var status = _decoder.Decode(packet.LinkType, data, out decoded);
        if (status == DecodeStatus.Ok)
        {
            if ((decoded.Flags & PacketFlags.TruncatedCopy) != 0)
            {
                state.TruncatedCopies++;
            }

            state.Times[state.BatchCount++] = packet.TimestampNanos;
            if (state.BatchCount == ReplayState.BatchSize)
            {
                Flush();
            }
        }
        else
        {
            state.Counters.Add(status);
        }

        // Packet time only moves forward here, even if a merged capture steps back a little.
        if (packet.TimestampNanos > state.Now)
        {
            state.Now = packet.TimestampNanos;
            if (state.Now >= state.NextExpiry)
            {
                Flush();
                _flows.Expire(state.Now);
                state.NextExpiry = state.Now + ExpiryIntervalNanos;
            }
        }
    }

    /// <summary>Hands the decoded packets waiting in the batch to the flow table.</summary>
    public void Flush()
    {
        var state = _state;
        var count = state.BatchCount;
        if (count == 0)
        {
            return;
        }

        _flows.UpdateBatch(state.Batch.AsSpan(0, count), state.Times.AsSpan(0, count), state.Statuses);
        for (var i = 0; i < count; i++)
        {
            state.Counters.Add(state.Statuses[i]);
        }

        state.BatchCount = 0;
    }
}

/// <summary>Counters, clock and packet batch of one replay, shared by reference with its handler.</summary>
internal sealed class ReplayState
{
    /// <summary>Packets handed to the flow table at once: enough to overlap their cache misses.</summary>
    public const int BatchSize = 32;

    public DecodeCounters Counters { get; } = new();

    public DecodedPacket[] Batch { get; } = new DecodedPacket[BatchSize];

    public long[] Times { get; } = new long[BatchSize];

    public DecodeStatus[] Statuses { get; } = new DecodeStatus[BatchSize];

    public int BatchCount { get; set; }

    public long TruncatedCopies { get; set; }

    /// <summary>Latest packet time seen, ns since the Unix epoch.</summary>
    public long Now { get; set; }

    public long NextExpiry { get; set; }
}
