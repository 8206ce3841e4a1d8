using System.Buffers.Binary;
using VtapCollector.Decoding;
using VtapCollector.Export.Formats;
using VtapCollector.Flows;
using static VtapCollector.Export.Ipfix.IpfixElements;

namespace VtapCollector.Export.Ipfix;

/// <summary>
/// Writes a flow record as IPFIX data record(s) in the field order of <see cref="IpfixTemplate"/>:
/// one biflow record (RFC 5103), or in unidirectional mode a record initiator to responder and, when
/// the responder sent anything, a second one responder to initiator. The exporter encodes each record
/// once per format, so the sink copies these bytes into its messages rather than encoding again; the
/// message around them (header, set, sequence) is per-collector state the sink keeps.
/// </summary>
public sealed class IpfixRecordEncoder : IRecordEncoder
{
    /// <summary>Creates the encoder of one mode.</summary>
    /// <param name="biflow">True for RFC 5103 biflow records, false for two unidirectional records per flow.</param>
    public IpfixRecordEncoder(bool biflow)
    {
        Biflow = biflow;
        Name = biflow ? "ipfix-biflow" : "ipfix-uniflow";
        MaxRecordLength = biflow ? IpfixTemplate.Ipv6Biflow.RecordLength : 2 * IpfixTemplate.Ipv6Uniflow.RecordLength;
    }

    /// <summary>True for biflow records.</summary>
    public bool Biflow { get; }

    /// <inheritdoc/>
    /// <remarks>Not a <c>RecordFormats</c> name: the two modes have distinct names so the exporter never shares one's bytes with the other.</remarks>
    public string Name { get; }

    /// <inheritdoc/>
    public int MaxRecordLength { get; }

    /// <summary>The template of the data record(s) <see cref="Encode"/> writes for <paramref name="record"/>.</summary>
    public ushort TemplateId(in FlowRecord record) => (Biflow, record.IpVersion == 6) switch
    {
        (true, false) => IpfixTemplate.Ipv4BiflowId,
        (true, true) => IpfixTemplate.Ipv6BiflowId,
        (false, false) => IpfixTemplate.Ipv4UniflowId,
        (false, true) => IpfixTemplate.Ipv6UniflowId,
    };

    /// <summary>How many data records <see cref="Encode"/> writes for <paramref name="record"/>: the count IPFIX sequence numbers advance by.</summary>
    public int RecordCount(in FlowRecord record) => Biflow || record.PacketsDstToSrc == 0 ? 1 : 2;

    /// <inheritdoc/>
    public int Encode(in FlowRecord record, Span<byte> destination)
    {
        if (Biflow)
        {
            return Write(record, destination, reverse: false, biflow: true);
        }

        var length = Write(record, destination, reverse: false, biflow: false);
        if (record.PacketsDstToSrc != 0)
        {
            length += Write(record, destination[length..], reverse: true, biflow: false);
        }

        return length;
    }

    private static int Write(in FlowRecord record, Span<byte> destination, bool reverse, bool biflow)
    {
        var ipVersion = record.IpVersion == 6 ? 6 : 4;
        var offset = (reverse ? record.Destination : record.Source).WriteBytes(destination, ipVersion);
        offset += (reverse ? record.Source : record.Destination).WriteBytes(destination[offset..], ipVersion);

        // The flow table keeps ICMP type and code in the ports (IcmpTypes): the ports go out as 0 and
        // the type and code as icmpTypeCode, where collectors look for them.
        var icmp = record.Protocol is IpProtocol.Icmp or IpProtocol.Icmpv6;
        BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], icmp ? (ushort)0 : reverse ? record.DestinationPort : record.SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], icmp ? (ushort)0 : reverse ? record.SourcePort : record.DestinationPort);
        destination[offset + 4] = record.Protocol;
        BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 5)..], icmp ? IcmpTypeCode(record, reverse) : (ushort)0);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 7)..], record.Vlan);

        // IANA layer2SegmentId: a segment type in the high octet, VXLAN being 0x01; IANA defines no
        // type for Geneve, so a Geneve VNI goes only in the enterprise VNI element.
        var segment = record.Tunnel == TunnelKind.Vxlan ? ((ulong)SegmentTypeVxlan << 56) | (record.Vni & 0xFF_FFFF) : 0UL;
        BinaryPrimitives.WriteUInt64BigEndian(destination[(offset + 9)..], segment);
        BinaryPrimitives.WriteInt64BigEndian(destination[(offset + 17)..], record.FirstSeenNanos / 1_000_000);
        BinaryPrimitives.WriteInt64BigEndian(destination[(offset + 25)..], record.LastSeenNanos / 1_000_000);
        BinaryPrimitives.WriteUInt64BigEndian(destination[(offset + 33)..], reverse ? record.BytesDstToSrc : record.BytesSrcToDst);
        BinaryPrimitives.WriteUInt64BigEndian(destination[(offset + 41)..], reverse ? record.PacketsDstToSrc : record.PacketsSrcToDst);
        offset += 49;
        if (biflow)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination[offset..], record.BytesDstToSrc);
            BinaryPrimitives.WriteUInt64BigEndian(destination[(offset + 8)..], record.PacketsDstToSrc);
            offset += 16;
        }

        destination[offset++] = reverse ? record.TcpFlagsDstToSrc : record.TcpFlagsSrcToDst;
        if (biflow)
        {
            destination[offset++] = record.TcpFlagsDstToSrc;
        }

        destination[offset] = EndReasonCode(record);
        destination[offset + 1] = reverse ? DirectionReverseInitiator : DirectionInitiator;
        destination[offset + 2] = (byte)record.ConnState;
        destination[offset + 3] = (byte)record.Tunnel;
        BinaryPrimitives.WriteUInt32BigEndian(destination[(offset + 4)..], record.Vni);
        record.TunnelSource.WriteBytes(destination[(offset + 8)..], 6);
        record.TunnelDestination.WriteBytes(destination[(offset + 24)..], 6);
        BinaryPrimitives.WriteUInt64BigEndian(destination[(offset + 40)..], record.FlowId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(offset + 48)..], record.Sequence);
        destination[offset + 52] = (byte)record.Direction;
        destination[offset + 53] = FlowLogDirection.Of(record) switch { (byte)'I' => 1, (byte)'O' => 2, _ => 0 };
        return offset + 54;
    }

    /// <summary>
    /// icmpTypeCodeIPv4/IPv6: type in the high octet, code in the low. A request/reply pair keeps its
    /// counterpart type in the destination port, not the code (which is 0 for every paired type);
    /// a one-way type keeps its code there.
    /// </summary>
    private static ushort IcmpTypeCode(in FlowRecord record, bool reverse)
    {
        var paired = IcmpTypes.TryMapPorts(record.Protocol, (byte)record.SourcePort, 0, out _, out var counterpart) && counterpart == record.DestinationPort;
        if (!paired)
        {
            return (ushort)((record.SourcePort << 8) | (record.DestinationPort & 0xFF));
        }

        return (ushort)((reverse ? record.DestinationPort : record.SourcePort) << 8);
    }

    /// <summary>flowEndReason (IANA): an update record is an active timeout; shutdown and end of input are forced ends.</summary>
    private static byte EndReasonCode(in FlowRecord record) => record.Type == FlowRecordType.Update
        ? EndActiveTimeout
        : record.EndReason switch
        {
            EndReason.Fin or EndReason.Rst => EndOfFlow,
            EndReason.IdleTimeout => EndIdleTimeout,
            EndReason.Evicted => EndLackOfResources,
            _ => EndForced,
        };
}
