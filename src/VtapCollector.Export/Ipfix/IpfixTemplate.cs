using System.Buffers.Binary;
using static VtapCollector.Export.Ipfix.IpfixElements;

namespace VtapCollector.Export.Ipfix;

/// <summary>One Field Specifier of a template (RFC 7011 section 3.2): element id, length and, when enterprise-specific, its PEN.</summary>
public readonly record struct IpfixField(ushort Id, ushort Length, uint Pen = 0);

/// <summary>
/// The four templates the exporter uses: IPv4 and IPv6, each biflow (RFC 5103) or unidirectional.
/// <see cref="IpfixRecordEncoder"/> writes the fields of a data record in exactly this order; the
/// test of the encoder checks its output length against <see cref="RecordLength"/>.
/// </summary>
public sealed class IpfixTemplate
{
    /// <summary>Template ids start at 256 (RFC 7011 section 3.4.1: 0-255 are set ids).</summary>
    public const ushort Ipv4BiflowId = 256;
    public const ushort Ipv6BiflowId = 257;
    public const ushort Ipv4UniflowId = 258;
    public const ushort Ipv6UniflowId = 259;

    /// <summary>The set id of a Template Set (RFC 7011 section 3.3.2).</summary>
    public const ushort TemplateSetId = 2;

    private IpfixTemplate(ushort id, IpfixField[] fields)
    {
        Id = id;
        Fields = fields;
        foreach (var field in fields)
        {
            RecordLength += field.Length;
        }
    }

    /// <summary>The template id, the set id of its data sets.</summary>
    public ushort Id { get; }

    /// <summary>The field specifiers in record order.</summary>
    public IReadOnlyList<IpfixField> Fields { get; }

    /// <summary>Bytes of one data record of this template (every field has a fixed length).</summary>
    public int RecordLength { get; }

    /// <summary>Bytes of this template's Template Record (RFC 7011 section 3.4.1): header plus 4 or 8 bytes per field.</summary>
    public int TemplateRecordLength
    {
        get
        {
            var length = 4;
            foreach (var specifier in Fields)
            {
                length += specifier.Pen == 0 ? 4 : 8;
            }

            return length;
        }
    }

    public static IpfixTemplate Ipv4Biflow { get; } = new(Ipv4BiflowId, Build(ipv6: false, biflow: true));
    public static IpfixTemplate Ipv6Biflow { get; } = new(Ipv6BiflowId, Build(ipv6: true, biflow: true));
    public static IpfixTemplate Ipv4Uniflow { get; } = new(Ipv4UniflowId, Build(ipv6: false, biflow: false));
    public static IpfixTemplate Ipv6Uniflow { get; } = new(Ipv6UniflowId, Build(ipv6: true, biflow: false));

    /// <summary>The two templates of one mode, IPv4 first.</summary>
    public static IpfixTemplate[] For(bool biflow) => biflow ? [Ipv4Biflow, Ipv6Biflow] : [Ipv4Uniflow, Ipv6Uniflow];

    /// <summary>
    /// Writes one Template Set (set id 2) holding <paramref name="templates"/> into <paramref name="destination"/>
    /// and returns its length; no padding is needed, every record being a multiple of 4 bytes.
    /// </summary>
    public static int WriteTemplateSet(ReadOnlySpan<IpfixTemplate> templates, Span<byte> destination)
    {
        var offset = 4;
        foreach (var template in templates)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], template.Id);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], (ushort)template.Fields.Count);
            offset += 4;
            foreach (var field in template.Fields)
            {
                // RFC 7011 section 3.2: the high bit of the element id says a 4-byte PEN follows.
                var enterprise = field.Pen != 0;
                BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], enterprise ? (ushort)(field.Id | 0x8000) : field.Id);
                BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], field.Length);
                offset += 4;
                if (enterprise)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(destination[offset..], field.Pen);
                    offset += 4;
                }
            }
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, TemplateSetId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)offset);
        return offset;
    }

    /// <summary>Bytes of the Template Set of <paramref name="templates"/>.</summary>
    public static int TemplateSetLength(ReadOnlySpan<IpfixTemplate> templates)
    {
        var length = 4;
        foreach (var template in templates)
        {
            length += template.TemplateRecordLength;
        }

        return length;
    }

    private static IpfixField[] Build(bool ipv6, bool biflow)
    {
        var addressLength = (ushort)(ipv6 ? 16 : 4);
        var fields = new List<IpfixField>
        {
            new(ipv6 ? SourceIPv6Address : SourceIPv4Address, addressLength),
            new(ipv6 ? DestinationIPv6Address : DestinationIPv4Address, addressLength),
            new(SourceTransportPort, 2),
            new(DestinationTransportPort, 2),
            new(ProtocolIdentifier, 1),
            new(ipv6 ? IcmpTypeCodeIPv6 : IcmpTypeCodeIPv4, 2),
            new(VlanId, 2),
            new(Layer2SegmentId, 8),
            new(FlowStartMilliseconds, 8),
            new(FlowEndMilliseconds, 8),
            new(OctetDeltaCount, 8),
            new(PacketDeltaCount, 8),
        };
        if (biflow)
        {
            fields.Add(new(OctetDeltaCount, 8, ReversePen));
            fields.Add(new(PacketDeltaCount, 8, ReversePen));
        }

        // tcpControlBits is unsigned16 since RFC 7125; one byte is its reduced-size encoding
        // (RFC 7011 section 6.2), all of the flags the flow table keeps, and what v9-era collectors expect.
        fields.Add(new(TcpControlBits, 1));
        if (biflow)
        {
            fields.Add(new(TcpControlBits, 1, ReversePen));
        }

        fields.Add(new(FlowEndReason, 1));
        fields.Add(new(BiflowDirection, 1));
        fields.Add(new(VtapConnState, 1, VtapPen));
        fields.Add(new(VtapTunnelType, 1, VtapPen));
        fields.Add(new(VtapVni, 4, VtapPen));
        fields.Add(new(VtapTunnelSource, 16, VtapPen));
        fields.Add(new(VtapTunnelDestination, 16, VtapPen));
        fields.Add(new(VtapFlowId, 8, VtapPen));
        fields.Add(new(VtapRecordSequence, 4, VtapPen));
        fields.Add(new(VtapTrafficDirection, 1, VtapPen));
        fields.Add(new(VtapFlowLogDirection, 1, VtapPen));
        return [.. fields];
    }
}
