namespace VtapCollector.Export.Ipfix;

/// <summary>
/// The Information Elements the exporter sends: IANA's (RFC 7012 and the IANA IPFIX registry), their
/// biflow reverses (RFC 5103 section 6.1: the same element id with the enterprise bit set under the
/// reverse PEN 29305), and the few fields IANA has no element for, under the documentation PEN.
/// </summary>
public static class IpfixElements
{
    /// <summary>RFC 5103 section 6.1: the Private Enterprise Number that marks a reverse element.</summary>
    public const uint ReversePen = 29305;

    /// <summary>
    /// The PEN of the enterprise-specific elements (connection state, tunnel endpoints, flow id,
    /// record sequence, VNI, tunnel type). The project has no PEN of its own; 32473 is the one IANA
    /// reserves for documentation and examples (RFC 5612), so no other vendor's elements collide with
    /// these. A deployment that registers a PEN changes only this constant.
    /// </summary>
    public const uint VtapPen = 32473;

    public const ushort OctetDeltaCount = 1;
    public const ushort PacketDeltaCount = 2;
    public const ushort ProtocolIdentifier = 4;
    public const ushort TcpControlBits = 6;
    public const ushort SourceTransportPort = 7;
    public const ushort SourceIPv4Address = 8;
    public const ushort DestinationTransportPort = 11;
    public const ushort DestinationIPv4Address = 12;
    public const ushort SourceIPv6Address = 27;
    public const ushort DestinationIPv6Address = 28;
    public const ushort IcmpTypeCodeIPv4 = 32;
    public const ushort VlanId = 58;
    public const ushort FlowEndReason = 136;
    public const ushort IcmpTypeCodeIPv6 = 139;
    public const ushort FlowStartMilliseconds = 152;
    public const ushort FlowEndMilliseconds = 153;
    public const ushort BiflowDirection = 239;
    public const ushort Layer2SegmentId = 351;

    /// <summary>Under <see cref="VtapPen"/>: Zeek's <c>conn_state</c> as the <see cref="Flows.ConnState"/> number (unsigned8).</summary>
    public const ushort VtapConnState = 1;

    /// <summary>Under <see cref="VtapPen"/>: the outer (tunnel) source address, IPv4-mapped when IPv4 (ipv6Address).</summary>
    public const ushort VtapTunnelSource = 2;

    /// <summary>Under <see cref="VtapPen"/>: the outer (tunnel) destination address, IPv4-mapped when IPv4 (ipv6Address).</summary>
    public const ushort VtapTunnelDestination = 3;

    /// <summary>Under <see cref="VtapPen"/>: the flow id of the JSON records (unsigned64).</summary>
    public const ushort VtapFlowId = 4;

    /// <summary>Under <see cref="VtapPen"/>: the record's sequence within its flow, 0 first (unsigned32).</summary>
    public const ushort VtapRecordSequence = 5;

    /// <summary>Under <see cref="VtapPen"/>: the VNI of VXLAN or Geneve, 0 without a tunnel (unsigned32).</summary>
    public const ushort VtapVni = 6;

    /// <summary>Under <see cref="VtapPen"/>: 0 no tunnel, 1 VXLAN, 2 Geneve (unsigned8).</summary>
    public const ushort VtapTunnelType = 7;

    /// <summary>
    /// Under <see cref="VtapPen"/>: the flow's <c>direction</c> from the configured networks' Local
    /// flags, 0 unknown (no networks configured), 1 inbound, 2 outbound, 3 internal, 4 external
    /// (unsigned8). IANA's flowDirection (61) says ingress or egress at an observation interface, not
    /// where the two ends sit, so it is not used for this.
    /// </summary>
    public const ushort VtapTrafficDirection = 8;

    /// <summary>
    /// Under <see cref="VtapPen"/>: the VNet-flow-log view relative to the tapped interface, 0 none,
    /// 1 <c>I</c> (the interface is the responder), 2 <c>O</c> (it is the initiator) (unsigned8). Not
    /// IANA's flowDirection (61): it has no value for "not known", and every record carries a value.
    /// </summary>
    public const ushort VtapFlowLogDirection = 9;

    /// <summary>IANA flowEndReason values (RFC 7012 section 5.11.3 / IANA registry).</summary>
    public const byte EndIdleTimeout = 1;
    public const byte EndActiveTimeout = 2;
    public const byte EndOfFlow = 3;
    public const byte EndForced = 4;
    public const byte EndLackOfResources = 5;

    /// <summary>IANA biflowDirection values (RFC 5103 section 6.3).</summary>
    public const byte DirectionInitiator = 1;
    public const byte DirectionReverseInitiator = 2;

    /// <summary>IANA layer2SegmentId: the high-order octet 0x01 says the low 24 bits are a VXLAN segment id.</summary>
    public const byte SegmentTypeVxlan = 0x01;
}
