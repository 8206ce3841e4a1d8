using BenchmarkDotNet.Attributes;
using VtapCollector.Decoding;
using VtapCollector.Export;
using VtapCollector.Export.Ipfix;
using VtapCollector.Flows;

namespace VtapCollector.Benchmarks;

/// <summary>
/// Per-record cost of the output formats on the exporter thread: the JSON line of the vtap schema
/// against the IPFIX biflow data record, and the IPFIX record packed into messages (the sink's whole
/// per-record work short of the send), over a mix of IPv4 and IPv6 records.
/// </summary>
[MemoryDiagnoser]
public class RecordEncodingBenchmarks
{
    private const int Records = 1024;

    private readonly FlowRecord[] _records = new FlowRecord[Records];
    private readonly byte[] _json = new byte[FlowRecordJsonEncoder.MaxRecordLength];
    private readonly IpfixRecordEncoder _ipfix = new(biflow: true);
    private readonly IpfixMessageWriter _writer = new(1400);
    private byte[] _record = null!;

    [GlobalSetup]
    public void Setup()
    {
        _record = new byte[_ipfix.MaxRecordLength];
        var random = new Random(7);
        for (var i = 0; i < Records; i++)
        {
            var v6 = i % 4 == 0;
            _records[i] = new FlowRecord
            {
                Type = i % 3 == 0 ? FlowRecordType.Update : FlowRecordType.End,
                EndReason = i % 3 == 0 ? EndReason.None : EndReason.Fin,
                FlowId = (ulong)random.NextInt64(),
                Sequence = (uint)(i % 7),
                Vni = (uint)random.Next(1 << 24),
                Tunnel = TunnelKind.Vxlan,
                TunnelIpVersion = 4,
                TunnelSource = IpAddress.FromIPv4((uint)random.Next()),
                TunnelDestination = IpAddress.FromIPv4((uint)random.Next()),
                IpVersion = (byte)(v6 ? 6 : 4),
                Protocol = IpProtocol.Tcp,
                Source = v6 ? new IpAddress((ulong)random.NextInt64(), (ulong)random.NextInt64()) : IpAddress.FromIPv4((uint)random.Next()),
                SourcePort = (ushort)random.Next(65536),
                Destination = v6 ? new IpAddress((ulong)random.NextInt64(), (ulong)random.NextInt64()) : IpAddress.FromIPv4((uint)random.Next()),
                DestinationPort = 443,
                FirstSeenNanos = 1_700_000_000_000_000_000 + random.NextInt64(1_000_000_000_000),
                LastSeenNanos = 1_700_001_000_000_000_000 + random.NextInt64(1_000_000_000_000),
                PacketsSrcToDst = (ulong)random.Next(1_000_000),
                BytesSrcToDst = (ulong)random.NextInt64(1_000_000_000),
                PacketsDstToSrc = (ulong)random.Next(1_000_000),
                BytesDstToSrc = (ulong)random.NextInt64(1_000_000_000),
                TcpFlagsSrcToDst = 0x1B,
                TcpFlagsDstToSrc = 0x13,
                ConnState = ConnState.SF,
            };
        }
    }

    /// <summary>The vtap JSON line (the default format).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public int Json()
    {
        var total = 0;
        foreach (ref readonly var record in _records.AsSpan())
        {
            total += FlowRecordJsonEncoder.Encode(record, _json);
        }

        return total;
    }

    /// <summary>The IPFIX biflow data record.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int IpfixRecord()
    {
        var total = 0;
        foreach (ref readonly var record in _records.AsSpan())
        {
            total += _ipfix.Encode(record, _record);
        }

        return total;
    }

    /// <summary>The IPFIX data record packed into 1400-byte messages (a new message when one is full).</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int IpfixRecordIntoMessages()
    {
        var total = 0;
        foreach (ref readonly var record in _records.AsSpan())
        {
            var length = _ipfix.Encode(record, _record);
            var templateId = _ipfix.TemplateId(record);
            if (!_writer.IsOpen)
            {
                _writer.Begin(0, 0, 0);
            }

            if (!_writer.TryAddRecords(templateId, _record.AsSpan(0, length), 1))
            {
                total += _writer.Finish().Length;
                _writer.Begin(0, 0, 0);
                _writer.TryAddRecords(templateId, _record.AsSpan(0, length), 1);
            }
        }

        return total;
    }
}
