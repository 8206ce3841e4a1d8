namespace VtapCollector.Flows;

/// <summary>
/// A record's <c>direction</c>, from whether its initiator (source) and responder (destination) are
/// local, i.e. in a network configured with <c>Local</c>. An address in no configured network, or in
/// one not marked local, is not local.
/// </summary>
public enum TrafficDirection : byte
{
    /// <summary>No networks are configured, so nothing was classified (written as an empty string).</summary>
    Unknown = 0,
    /// <summary>Initiator not local, responder local: the outside opened a connection in.</summary>
    Inbound,
    /// <summary>Initiator local, responder not local: the estate opened a connection out.</summary>
    Outbound,
    /// <summary>Both local: east-west traffic inside the estate.</summary>
    Internal,
    /// <summary>Neither local: traffic between outside addresses that crossed a tapped interface.</summary>
    External,
}

/// <summary>The decision table of <see cref="TrafficDirection"/> and its labels.</summary>
public static class TrafficDirections
{
    /// <summary>Directions in label order, <see cref="TrafficDirection.Unknown"/> first.</summary>
    public const int Count = 5;

    /// <summary>The direction of a flow whose initiator and responder are (or are not) local.</summary>
    public static TrafficDirection Of(bool initiatorLocal, bool responderLocal) => (initiatorLocal, responderLocal) switch
    {
        (false, true) => TrafficDirection.Inbound,
        (true, false) => TrafficDirection.Outbound,
        (true, true) => TrafficDirection.Internal,
        (false, false) => TrafficDirection.External,
    };

    /// <summary>The lower-case label (<c>inbound</c>, ...), empty for <see cref="TrafficDirection.Unknown"/>.</summary>
    public static ReadOnlySpan<byte> Label(TrafficDirection direction) => direction switch
    {
        TrafficDirection.Inbound => "inbound"u8,
        TrafficDirection.Outbound => "outbound"u8,
        TrafficDirection.Internal => "internal"u8,
        TrafficDirection.External => "external"u8,
        _ => default,
    };
}
