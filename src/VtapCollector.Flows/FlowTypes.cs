using VtapCollector.Decoding;

namespace VtapCollector.Flows;

/// <summary>Whether a record reports a flow still going on or one that has ended.</summary>
public enum FlowRecordType : byte
{
    /// <summary>Interim counters of an active flow, emitted every active timeout.</summary>
    Update = 0,
    /// <summary>The flow ended; see <see cref="EndReason"/>.</summary>
    End = 1,
}

/// <summary>Why a flow ended.</summary>
public enum EndReason : byte
{
    None = 0,
    /// <summary>Both sides sent FIN (then the closing linger passed, or a new SYN reused the tuple).</summary>
    Fin,
    /// <summary>A RST was seen (then the closing linger passed, or a new SYN reused the tuple).</summary>
    Rst,
    /// <summary>No packet for the protocol's idle timeout.</summary>
    IdleTimeout,
    /// <summary>The table was full and this flow was the stalest of those sampled.</summary>
    Evicted,
    /// <summary>The capture ended.</summary>
    EndOfInput,
    /// <summary>The collector stopped.</summary>
    Shutdown,
}

/// <summary>Zeek's <c>conn_state</c> vocabulary (Zeek conn.log documentation).</summary>
public enum ConnState : byte
{
    /// <summary>No SYN seen, just midstream traffic.</summary>
    OTH = 0,
    /// <summary>Connection attempt seen, no reply.</summary>
    S0,
    /// <summary>Connection established, not terminated.</summary>
    S1,
    /// <summary>Normal establishment and termination (for UDP and others: both sides sent).</summary>
    SF,
    /// <summary>Connection attempt rejected.</summary>
    REJ,
    /// <summary>Established, close attempt by the originator only.</summary>
    S2,
    /// <summary>Established, close attempt by the responder only.</summary>
    S3,
    /// <summary>Established, originator aborted (sent a RST).</summary>
    RSTO,
    /// <summary>Responder sent a RST.</summary>
    RSTR,
    /// <summary>Originator sent a SYN followed by a RST; no SYN-ACK from the responder.</summary>
    RSTOS0,
    /// <summary>Responder sent a SYN-ACK followed by a RST; no SYN from the originator.</summary>
    RSTRH,
    /// <summary>Originator sent a SYN followed by a FIN; no SYN-ACK ("half open").</summary>
    SH,
    /// <summary>Responder sent a SYN-ACK followed by a FIN; no SYN from the originator.</summary>
    SHR,
}

/// <summary>Receives the records a <see cref="FlowTable"/> emits: called per record, never per packet.</summary>
public interface IFlowRecordWriter
{
    void Write(in FlowRecord record);
}

/// <summary>
/// One flow record. Counters are deltas since the previous record of the same flow, so a flow's
/// records sum to its totals; TCP flags are the OR over the flow so far. Source is the initiator.
/// </summary>
public readonly struct FlowRecord
{
    public FlowRecordType Type { get; init; }
    public EndReason EndReason { get; init; }

    /// <summary>Stable for every record of one flow: a hash of VNI, canonical 5-tuple and first-seen time.</summary>
    public ulong FlowId { get; init; }

    /// <summary>0 for a flow's first record, then 1, 2, ...: a gap means a lost record.</summary>
    public uint Sequence { get; init; }

    public uint Vni { get; init; }
    public TunnelKind Tunnel { get; init; }
    public byte TunnelIpVersion { get; init; }
    public IpAddress TunnelSource { get; init; }
    public IpAddress TunnelDestination { get; init; }
    public ushort Vlan { get; init; }
    public byte IpVersion { get; init; }
    public byte Protocol { get; init; }
    public IpAddress Source { get; init; }
    public ushort SourcePort { get; init; }
    public IpAddress Destination { get; init; }
    public ushort DestinationPort { get; init; }
    public long FirstSeenNanos { get; init; }
    public long LastSeenNanos { get; init; }
    public ulong PacketsSrcToDst { get; init; }
    public ulong BytesSrcToDst { get; init; }
    public ulong PacketsDstToSrc { get; init; }
    public ulong BytesDstToSrc { get; init; }
    public byte TcpFlagsSrcToDst { get; init; }
    public byte TcpFlagsDstToSrc { get; init; }
    public ConnState ConnState { get; init; }

    /// <summary>The configured network <see cref="Source"/> is in (longest prefix, see docs/schema.md), or null: none matched or none are configured.</summary>
    public FlowNetwork? SourceNetwork { get; init; }

    /// <summary>The configured network <see cref="Destination"/> is in, or null.</summary>
    public FlowNetwork? DestinationNetwork { get; init; }

    /// <summary>Inbound, outbound, internal or external from the two networks' Local flags; Unknown when no networks are configured.</summary>
    public TrafficDirection Direction { get; init; }
}
