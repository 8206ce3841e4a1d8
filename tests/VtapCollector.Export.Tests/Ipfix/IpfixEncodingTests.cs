using System.Buffers.Binary;
using VtapCollector.Decoding;
using VtapCollector.Export.Ipfix;
using VtapCollector.Flows;
using static VtapCollector.Export.Ipfix.IpfixElements;

namespace VtapCollector.Export.Tests.Ipfix;

/// <summary>The data record encoder, the templates and the message packing, read back with a reader written from RFC 7011.</summary>
public class IpfixEncodingTests
{
    private static (List<DecodedMessage> Messages, CapturingTransport Transport) Export(IEnumerable<FlowRecord> records, bool biflow, int maxMessageBytes = 1400, int refreshMessages = 100)
    {
        var encoder = new IpfixRecordEncoder(biflow);
        var transport = new CapturingTransport();
        var templates = new IpfixTemplateMessage(IpfixTemplate.For(biflow), 77);
        var exporter = new IpfixExporter("test", transport, templates, maxMessageBytes, TimeSpan.FromHours(1), refreshMessages);
        var buffer = new byte[encoder.MaxRecordLength];
        foreach (var record in records)
        {
            var length = encoder.Encode(record, buffer);
            exporter.Add(encoder.TemplateId(record), buffer.AsSpan(0, length), encoder.RecordCount(record));
        }

        exporter.Flush();
        var reader = new IpfixTestReader();
        return (transport.Messages.Select(m => reader.Read(m)).ToList(), transport);
    }

    [Theory]
    [InlineData(true, 4)]
    [InlineData(true, 6)]
    [InlineData(false, 4)]
    [InlineData(false, 6)]
    public void Encode_EveryTemplate_WritesExactlyTheTemplateRecordLength(bool biflow, int ipVersion)
    {
        var record = ipVersion == 4 ? Records.Tcp() : Records.Icmpv6Update();
        var encoder = new IpfixRecordEncoder(biflow);
        var buffer = new byte[encoder.MaxRecordLength + 64];
        var template = new[] { IpfixTemplate.Ipv4Biflow, IpfixTemplate.Ipv6Biflow, IpfixTemplate.Ipv4Uniflow, IpfixTemplate.Ipv6Uniflow }
            .Single(t => t.Id == encoder.TemplateId(record));

        var length = encoder.Encode(record, buffer);

        Assert.Equal(template.RecordLength * encoder.RecordCount(record), length);
        Assert.True(length <= encoder.MaxRecordLength);
    }

    [Fact]
    public void Export_BiflowTcp_CarriesEveryFieldUnderItsElement()
    {
        var record = Records.Tcp();
        var (messages, _) = Export([record], biflow: true);

        var message = Assert.Single(messages);
        Assert.True(message.HasTemplates);
        Assert.Equal(77u, message.DomainId);
        Assert.Equal(0u, message.Sequence);
        var decoded = Assert.Single(message.Records);
        Assert.Equal(IpfixTemplate.Ipv4BiflowId, decoded.TemplateId);
        Assert.Equal(record.Source.IPv4, (uint)decoded.Number(SourceIPv4Address));
        Assert.Equal(record.Destination.IPv4, (uint)decoded.Number(DestinationIPv4Address));
        Assert.Equal(record.SourcePort, decoded.Number(SourceTransportPort));
        Assert.Equal(record.DestinationPort, decoded.Number(DestinationTransportPort));
        Assert.Equal(record.Protocol, decoded.Number(ProtocolIdentifier));
        Assert.Equal((ulong)(record.FirstSeenNanos / 1_000_000), decoded.Number(FlowStartMilliseconds));
        Assert.Equal((ulong)(record.LastSeenNanos / 1_000_000), decoded.Number(FlowEndMilliseconds));
        Assert.Equal(record.BytesSrcToDst, decoded.Number(OctetDeltaCount));
        Assert.Equal(record.PacketsSrcToDst, decoded.Number(PacketDeltaCount));
        Assert.Equal(record.BytesDstToSrc, decoded.Number(OctetDeltaCount, ReversePen));
        Assert.Equal(record.PacketsDstToSrc, decoded.Number(PacketDeltaCount, ReversePen));
        Assert.Equal(record.TcpFlagsSrcToDst, decoded.Number(TcpControlBits));
        Assert.Equal(record.TcpFlagsDstToSrc, decoded.Number(TcpControlBits, ReversePen));
        Assert.Equal(EndOfFlow, decoded.Number(FlowEndReason));
        Assert.Equal(DirectionInitiator, decoded.Number(BiflowDirection));
        Assert.Equal(record.Vlan, decoded.Number(VlanId));
        Assert.Equal(((ulong)SegmentTypeVxlan << 56) | record.Vni, decoded.Number(Layer2SegmentId));
        Assert.Equal(record.Vni, decoded.Number(VtapVni, VtapPen));
        Assert.Equal((ulong)record.ConnState, decoded.Number(VtapConnState, VtapPen));
        Assert.Equal(record.FlowId, decoded.Number(VtapFlowId, VtapPen));
        Assert.Equal(record.Sequence, decoded.Number(VtapRecordSequence, VtapPen));
        Assert.Equal(record.TunnelSource, IpAddress.ReadIPv6(decoded.Field(VtapTunnelSource, VtapPen)));
        Assert.Equal(record.TunnelDestination, IpAddress.ReadIPv6(decoded.Field(VtapTunnelDestination, VtapPen)));
    }

    [Fact]
    public void Export_IcmpEcho_PortsZeroAndTypeCodeInIcmpTypeCode()
    {
        var record = Records.Icmpv6Update();
        var (messages, _) = Export([record], biflow: false);

        var records = Assert.Single(messages).Records;
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Equal(0ul, r.Number(SourceTransportPort) + r.Number(DestinationTransportPort)));
        Assert.Equal((ulong)record.SourcePort << 8, records[0].Number(IcmpTypeCodeIPv6));
        Assert.Equal((ulong)record.DestinationPort << 8, records[1].Number(IcmpTypeCodeIPv6));
        Assert.Equal(EndActiveTimeout, records[0].Number(FlowEndReason));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Export_ClassifiedRecords_CarryTheDirectionAndTheFlowLogViewOnEveryRecord(bool biflow)
    {
        // The tunnel source is the initiator (O), the responder (I), or neither; every direction.
        var tcp = Records.Tcp();
        FlowRecord[] records =
        [
            tcp with { TunnelSource = tcp.Source, Direction = TrafficDirection.Outbound },
            tcp with { TunnelSource = tcp.Destination, Direction = TrafficDirection.Inbound },
            tcp with { Direction = TrafficDirection.Internal },
            tcp with { Direction = TrafficDirection.External },
            tcp,
        ];
        var (messages, _) = Export(records, biflow);

        var decoded = messages.SelectMany(m => m.Records).ToList();
        var perRecord = biflow ? 1 : 2;
        Assert.Equal(records.Length * perRecord, decoded.Count);
        for (var i = 0; i < decoded.Count; i++)
        {
            var record = records[i / perRecord];
            Assert.Equal((ulong)record.Direction, decoded[i].Number(VtapTrafficDirection, VtapPen));
            var flowLog = FlowLogDirection.Of(record);
            Assert.Equal(flowLog == 'I' ? 1UL : flowLog == 'O' ? 2UL : 0UL, decoded[i].Number(VtapFlowLogDirection, VtapPen));
        }

        Assert.Equal([2UL, 1UL, 0UL, 0UL, 0UL], decoded.Where((_, i) => i % perRecord == 0).Select(r => r.Number(VtapFlowLogDirection, VtapPen)));
    }

    [Fact]
    public void Export_Uniflow_ReverseRecordSwapsEndpointsAndCarriesTheResponderCounters()
    {
        var record = Records.Tcp();
        var (messages, _) = Export([record], biflow: false);

        var records = Assert.Single(messages).Records;
        Assert.Equal(2, records.Count);
        var (forward, reverse) = (records[0], records[1]);
        Assert.Equal(record.Destination.IPv4, (uint)reverse.Number(SourceIPv4Address));
        Assert.Equal(record.Source.IPv4, (uint)reverse.Number(DestinationIPv4Address));
        Assert.Equal(record.DestinationPort, reverse.Number(SourceTransportPort));
        Assert.Equal(record.BytesSrcToDst, forward.Number(OctetDeltaCount));
        Assert.Equal(record.BytesDstToSrc, reverse.Number(OctetDeltaCount));
        Assert.Equal(record.PacketsDstToSrc, reverse.Number(PacketDeltaCount));
        Assert.Equal(record.TcpFlagsDstToSrc, reverse.Number(TcpControlBits));
        Assert.Equal(DirectionReverseInitiator, reverse.Number(BiflowDirection));
        Assert.DoesNotContain(forward.Fields, f => f.Pen == ReversePen);
    }

    [Fact]
    public void Export_UniflowWithSilentResponder_WritesOneRecord()
    {
        var record = Records.Tcp() with { PacketsDstToSrc = 0, BytesDstToSrc = 0 };
        var (messages, transport) = Export([record], biflow: false);

        Assert.Single(Assert.Single(messages).Records);
        Assert.Equal(1, transport.Counters.RecordsSent);
    }

    [Fact]
    public void Export_ManyRecords_MessagesStayUnderTheLimitAndSequenceCountsRecordsBefore()
    {
        var records = Enumerable.Range(0, 500).Select(i => (i % 3 == 0 ? Records.Icmpv6Update() : Records.Tcp()) with { Sequence = (uint)i }).ToList();
        var (messages, _) = Export(records, biflow: true, maxMessageBytes: 1400);

        Assert.True(messages.Count > 10, $"{messages.Count} messages");
        Assert.All(messages, m => Assert.True(m.Length <= 1400, $"a message of {m.Length} bytes"));
        var before = 0u;
        foreach (var message in messages)
        {
            Assert.Equal(before, message.Sequence);
            before += (uint)message.Records.Count;
        }

        Assert.Equal(records.Select(r => (ulong)r.Sequence), messages.SelectMany(m => m.Records).Select(r => r.Number(VtapRecordSequence, VtapPen)));
    }

    [Fact]
    public void Export_Udp_TemplatesAgainEveryNMessages()
    {
        var records = Enumerable.Range(0, 300).Select(_ => Records.Tcp()).ToList();
        var (messages, transport) = Export(records, biflow: true, refreshMessages: 4);

        var withTemplates = messages.Select((m, i) => (m.HasTemplates, i)).Where(x => x.HasTemplates).Select(x => x.i).ToList();
        Assert.Equal(Enumerable.Range(0, withTemplates.Count).Select(i => i * 5), withTemplates);
        Assert.Equal(withTemplates.Count, transport.Counters.TemplatesSent);
    }

    [Fact]
    public void Write_UdpSinkPerRecord_AllocatesNothing()
    {
        using var receiver = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        receiver.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var port = ((System.Net.IPEndPoint)receiver.LocalEndPoint!).Port;
        using var sink = new IpfixSink(new IpfixSinkOptions { Collectors = [$"udp://127.0.0.1:{port}"] });
        var records = new[] { Records.Tcp(), Records.Icmpv6Update() };
        var buffer = new byte[sink.Encoder.MaxRecordLength];
        void Run()
        {
            for (var i = 0; i < 20_000; i++)
            {
                ref readonly var record = ref records[i & 1];
                var length = sink.Encoder.Encode(record, buffer);
                sink.Write(record, buffer.AsSpan(0, length));
            }

            sink.Flush();
        }

        Run();
        Assert.Equal(0, Allocations.Least(Run));
        Assert.True(sink.Exporters[0].Transport.Counters.MessagesSent > 1000);
    }

    [Fact]
    public void WriteTemplateSet_BothModes_LengthMatchesAndEnterpriseBitMarksPen()
    {
        foreach (var biflow in new[] { true, false })
        {
            var templates = IpfixTemplate.For(biflow);
            var set = new byte[IpfixTemplate.TemplateSetLength(templates)];
            var length = IpfixTemplate.WriteTemplateSet(templates, set);
            Assert.Equal(set.Length, length);
            Assert.Equal(length, BinaryPrimitives.ReadUInt16BigEndian(set.AsSpan(2)));
            // Reverse octets, packets and TCP flags in each of the two templates.
            Assert.Equal(biflow ? 6 : 0, templates.Sum(t => t.Fields.Count(f => f.Pen == ReversePen)));
        }
    }
}
