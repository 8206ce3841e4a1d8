using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Export.Tests;

public partial class FlowRecordJsonEncoderTests
{
    private static readonly FlowRecord Sample = new()
    {
        Type = FlowRecordType.End,
        EndReason = EndReason.Fin,
        FlowId = 0x0123_4567_89AB_CDEF,
        Sequence = 2,
        Vni = 4096,
        Tunnel = TunnelKind.Vxlan,
        TunnelIpVersion = 4,
        TunnelSource = IpAddress.Parse("172.31.99.1"),
        TunnelDestination = IpAddress.Parse("172.31.99.2"),
        Vlan = 42,
        IpVersion = 6,
        Protocol = 6,
        Source = IpAddress.Parse("fd00::1"),
        SourcePort = 40000,
        Destination = IpAddress.Parse("fd00::2"),
        DestinationPort = 443,
        FirstSeenNanos = 1_368_908_504_837_063_123,
        LastSeenNanos = 1_368_908_505_000_000_999,
        PacketsSrcToDst = 7,
        BytesSrcToDst = 450,
        PacketsDstToSrc = 5,
        BytesDstToSrc = 1414,
        TcpFlagsSrcToDst = 27,
        TcpFlagsDstToSrc = 19,
        ConnState = ConnState.SF,
    };

    [Fact]
    public void Encode_EndRecord_IsOneJsonLineWithEveryField()
    {
        using var json = Parse(Sample);
        var root = json.RootElement;
        Assert.Equal("vtap-flow/1", root.GetProperty("schema").GetString());
        Assert.Equal("end", root.GetProperty("type").GetString());
        Assert.Equal("fin", root.GetProperty("end_reason").GetString());
        Assert.Equal("4096-0123456789abcdef", root.GetProperty("flow_id").GetString());
        Assert.Equal(CommunityId.ToString(6, Sample.Source, Sample.Destination, 6, 40000, 443), root.GetProperty("community_id").GetString());
        Assert.Equal(4096, root.GetProperty("vni").GetInt32());
        Assert.Equal("vxlan", root.GetProperty("tunnel").GetString());
        Assert.Equal("172.31.99.1", root.GetProperty("tunnel_src").GetString());
        Assert.Equal("172.31.99.2", root.GetProperty("tunnel_dst").GetString());
        Assert.Equal(42, root.GetProperty("vlan").GetInt32());
        Assert.Equal(6, root.GetProperty("ip_version").GetInt32());
        Assert.Equal("fd00::1", root.GetProperty("src_ip").GetString());
        Assert.Equal(40000, root.GetProperty("src_port").GetInt32());
        Assert.Equal("fd00::2", root.GetProperty("dst_ip").GetString());
        Assert.Equal(443, root.GetProperty("dst_port").GetInt32());
        Assert.Equal(6, root.GetProperty("protocol").GetInt32());
        Assert.Equal("2013-05-18T20:21:44.837063Z", root.GetProperty("first_seen").GetString());
        Assert.Equal("2013-05-18T20:21:45.000000Z", root.GetProperty("last_seen").GetString());
        Assert.Equal(7, root.GetProperty("packets_src_to_dst").GetInt32());
        Assert.Equal(450, root.GetProperty("bytes_src_to_dst").GetInt32());
        Assert.Equal(5, root.GetProperty("packets_dst_to_src").GetInt32());
        Assert.Equal(1414, root.GetProperty("bytes_dst_to_src").GetInt32());
        Assert.Equal(27, root.GetProperty("tcp_flags_src_to_dst").GetInt32());
        Assert.Equal(19, root.GetProperty("tcp_flags_dst_to_src").GetInt32());
        Assert.Equal("SF", root.GetProperty("conn_state").GetString());
        Assert.Equal(2, root.GetProperty("seq").GetInt32());
    }

    [Fact]
    public void Encode_UpdateRecordWithoutTunnel_HasNullEndReasonAndTunnelEndpoints()
    {
        var record = Sample with { Type = FlowRecordType.Update, EndReason = EndReason.None, Tunnel = TunnelKind.None, Vni = 0 };
        using var json = Parse(record);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("end_reason").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("tunnel_src").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("tunnel_dst").ValueKind);
        Assert.Equal("none", json.RootElement.GetProperty("tunnel").GetString());
    }

    [Fact]
    public void Encode_TimestampsAcrossYears_MatchDateTimeFormatting()
    {
        var random = new Random(9);
        for (var i = 0; i < 5_000; i++)
        {
            var nanos = (long)(random.NextDouble() * 4_000_000_000L * 1_000_000_000L);
            using var json = Parse(Sample with { FirstSeenNanos = nanos });
            var expected = DateTime.UnixEpoch.AddTicks(nanos / 100).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
            Assert.Equal(expected, json.RootElement.GetProperty("first_seen").GetString());
        }
    }

    [Fact]
    public void Encode_EveryFieldOfTheSchemaDocument_IsWritten()
    {
        var document = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "schema.md"));
        var table = document[..document.IndexOf("## Mapping", StringComparison.Ordinal)];
        var documented = table.Split('\n')
            .Where(line => line.StartsWith("| `", StringComparison.Ordinal))
            .SelectMany(line => FieldInTable().Matches(line.Split('|')[1]).Select(m => m.Groups[1].Value))
            .ToHashSet();
        using var json = Parse(Sample);
        var written = json.RootElement.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Equal(written.Order(), documented.Order());
    }

    private static JsonDocument Parse(FlowRecord record)
    {
        var buffer = new byte[FlowRecordJsonEncoder.MaxRecordLength];
        var written = FlowRecordJsonEncoder.Encode(record, buffer);
        Assert.Equal((byte)'\n', buffer[written - 1]);
        Assert.Equal(-1, buffer.AsSpan(0, written - 1).IndexOf((byte)'\n'));
        return JsonDocument.Parse(buffer.AsMemory(0, written));
    }

    [GeneratedRegex(@"`([a-z_]+)`")]
    private static partial Regex FieldInTable();

    private static string RepositoryRoot() =>
        typeof(FlowRecordJsonEncoderTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .First(attribute => attribute.Key == "RepositoryRoot").Value!;
}
