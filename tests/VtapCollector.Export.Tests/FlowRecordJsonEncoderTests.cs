using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Export.Tests;

/// <summary>The JSON Lines encoding of flow records, field by field and against docs/schema.md.</summary>
public partial class FlowRecordJsonEncoderTests
{
    [Fact]
    public void Encode_TcpEndRecord_WritesEveryFieldWithItsValue()
    {
        var root = Records.Parse(Records.Tcp());

        Assert.Equal("vtap-flow/1", root.GetProperty("schema").GetString());
        Assert.Equal(FlowRecordJsonEncoder.Schema, root.GetProperty("schema").GetString());
        Assert.Equal("end", root.GetProperty("type").GetString());
        Assert.Equal("fin", root.GetProperty("end_reason").GetString());
        Assert.Equal("5001-00c0ffee1234abcd", root.GetProperty("flow_id").GetString());
        Assert.Equal("1:wCb3OG7yAFWelaUydu0D+125CLM=", root.GetProperty("community_id").GetString());
        Assert.Equal(5001U, root.GetProperty("vni").GetUInt32());
        Assert.Equal("vxlan", root.GetProperty("tunnel").GetString());
        Assert.Equal("192.0.2.1", root.GetProperty("tunnel_src").GetString());
        Assert.Equal("192.0.2.2", root.GetProperty("tunnel_dst").GetString());
        Assert.Equal(100, root.GetProperty("vlan").GetInt32());
        Assert.Equal(4, root.GetProperty("ip_version").GetInt32());
        Assert.Equal("1.2.3.4", root.GetProperty("src_ip").GetString());
        Assert.Equal(1122, root.GetProperty("src_port").GetInt32());
        Assert.Equal("5.6.7.8", root.GetProperty("dst_ip").GetString());
        Assert.Equal(3344, root.GetProperty("dst_port").GetInt32());
        Assert.Equal(6, root.GetProperty("protocol").GetInt32());
        Assert.Equal("2023-11-14T22:13:20.123456Z", root.GetProperty("first_seen").GetString());
        Assert.Equal("2023-11-14T22:14:21.000001Z", root.GetProperty("last_seen").GetString());
        Assert.Equal(10UL, root.GetProperty("packets_src_to_dst").GetUInt64());
        Assert.Equal(1_234UL, root.GetProperty("bytes_src_to_dst").GetUInt64());
        Assert.Equal(8UL, root.GetProperty("packets_dst_to_src").GetUInt64());
        Assert.Equal(56_789UL, root.GetProperty("bytes_dst_to_src").GetUInt64());
        Assert.Equal(0x1B, root.GetProperty("tcp_flags_src_to_dst").GetInt32());
        Assert.Equal(0x13, root.GetProperty("tcp_flags_dst_to_src").GetInt32());
        Assert.Equal("SF", root.GetProperty("conn_state").GetString());
        Assert.Equal(3U, root.GetProperty("seq").GetUInt32());
    }

    [Fact]
    public void Encode_UpdateRecord_HasNullEndReason()
    {
        var root = Records.Parse(Records.Tcp() with { Type = FlowRecordType.Update, EndReason = EndReason.None });
        Assert.Equal("update", root.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("end_reason").ValueKind);
    }

    [Fact]
    public void Encode_UpdateRecord_EndReasonIsNullWhateverTheField()
    {
        // Only end records have a reason; a stray value in an update must not leak out.
        var root = Records.Parse(Records.Tcp() with { Type = FlowRecordType.Update, EndReason = EndReason.Rst });
        Assert.Equal(JsonValueKind.Null, root.GetProperty("end_reason").ValueKind);
    }

    [Fact]
    public void Encode_NoTunnel_HasNullTunnelEndpointsAndTunnelNone()
    {
        var root = Records.Parse(Records.Icmpv6Update());
        Assert.Equal("none", root.GetProperty("tunnel").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("tunnel_src").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("tunnel_dst").ValueKind);
        Assert.Equal(0, root.GetProperty("vni").GetInt32());
        Assert.Equal("0-00c0ffee1234abcd", root.GetProperty("flow_id").GetString());
    }

    [Fact]
    public void Encode_GeneveOverIpv6_WritesTheTunnelLabelAndIpv6Endpoints()
    {
        var root = Records.Parse(Records.Tcp() with
        {
            Tunnel = TunnelKind.Geneve,
            TunnelIpVersion = 6,
            TunnelSource = IpAddress.Parse("2001:db8::1"),
            TunnelDestination = IpAddress.Parse("2001:db8::a:0:0:2"),
        });
        Assert.Equal("geneve", root.GetProperty("tunnel").GetString());
        Assert.Equal("2001:db8::1", root.GetProperty("tunnel_src").GetString());
        Assert.Equal("2001:db8::a:0:0:2", root.GetProperty("tunnel_dst").GetString());
    }

    [Theory]
    [InlineData(TunnelKind.Erspan, 1023u, "erspan")]
    [InlineData(TunnelKind.Gre, 4294967295u, "gre")]
    public void Encode_GreTunnels_WriteTheirLabelAndTheWholeSegmentId(TunnelKind tunnel, uint segment, string label)
    {
        // A GRE key is 32 bits: the record's vni and the flow_id prefix carry it whole.
        var root = Records.Parse(Records.Tcp() with { Tunnel = tunnel, Vni = segment });

        Assert.Equal(label, root.GetProperty("tunnel").GetString());
        Assert.Equal(segment, root.GetProperty("vni").GetUInt32());
        Assert.StartsWith(segment.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-", root.GetProperty("flow_id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_Icmpv6Record_WritesRfc5952AddressesAndTheEchoCommunityId()
    {
        var root = Records.Parse(Records.Icmpv6Update());
        Assert.Equal("fe80:1:203:405:607:809:a0b:c0d", root.GetProperty("src_ip").GetString());
        Assert.Equal("fe80:1011:1213:1415:1617:1819:1a1b:1c1d", root.GetProperty("dst_ip").GetString());
        Assert.Equal((128, 129), (root.GetProperty("src_port").GetInt32(), root.GetProperty("dst_port").GetInt32()));
        Assert.Equal(58, root.GetProperty("protocol").GetInt32());
        Assert.Equal(6, root.GetProperty("ip_version").GetInt32());
        Assert.Equal("1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", root.GetProperty("community_id").GetString());
    }

    [Theory]
    [InlineData(0, "1:wCb3OG7yAFWelaUydu0D+125CLM=")]
    [InlineData(1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=")]
    public void Encode_CommunityIdSeed_IsUsed(ushort seed, string expected) =>
        Assert.Equal(expected, Records.Parse(Records.Tcp(), seed).GetProperty("community_id").GetString());

    [Fact]
    public void Encode_IcmpEchoFlowRecord_HasTheEchoCommunityId()
    {
        var root = Records.Parse(Records.Tcp() with { Protocol = IpProtocol.Icmp, SourcePort = 8, DestinationPort = 0, TcpFlagsSrcToDst = 0, TcpFlagsDstToSrc = 0 });
        Assert.Equal("1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", root.GetProperty("community_id").GetString());
    }

    [Theory]
    [InlineData(EndReason.Fin, "fin")]
    [InlineData(EndReason.Rst, "rst")]
    [InlineData(EndReason.IdleTimeout, "idle_timeout")]
    [InlineData(EndReason.Evicted, "evicted")]
    [InlineData(EndReason.EndOfInput, "end_of_input")]
    [InlineData(EndReason.Shutdown, "shutdown")]
    public void Encode_EndReason_HasItsDocumentedLabel(EndReason reason, string label) =>
        Assert.Equal(label, Records.Parse(Records.Tcp() with { EndReason = reason }).GetProperty("end_reason").GetString());

    [Fact]
    public void Encode_EveryConnState_IsWrittenAsItsZeekName()
    {
        foreach (var state in Enum.GetValues<ConnState>())
        {
            Assert.Equal(state.ToString(), Records.Parse(Records.Tcp() with { ConnState = state }).GetProperty("conn_state").GetString());
        }
    }

    [Theory]
    [InlineData(0U, 0UL, "0-0000000000000000")]
    [InlineData(1U, 1UL, "1-0000000000000001")]
    [InlineData(4096U, 0xABUL, "4096-00000000000000ab")]
    [InlineData(16_777_215U, ulong.MaxValue, "16777215-ffffffffffffffff")]
    [InlineData(5001U, 0x8000_0000_0000_0000UL, "5001-8000000000000000")]
    public void Encode_FlowId_IsVniDashSixteenLowerCaseHexDigits(uint vni, ulong flowId, string expected)
    {
        var text = Records.Parse(Records.Tcp() with { Vni = vni, FlowId = flowId }).GetProperty("flow_id").GetString()!;
        Assert.Equal(expected, text);
        Assert.Matches(FlowIdPattern(), text);
    }

    [Theory]
    [InlineData(0L, "1970-01-01T00:00:00.000000Z")]
    [InlineData(999L, "1970-01-01T00:00:00.000000Z")]
    [InlineData(1_000L, "1970-01-01T00:00:00.000001Z")]
    [InlineData(1_368_908_504_837_063_999L, "2013-05-18T20:21:44.837063Z")] // truncated, not rounded
    [InlineData(951_782_400_000_000_000L, "2000-02-29T00:00:00.000000Z")]   // leap day
    [InlineData(1_709_251_199_999_999_999L, "2024-02-29T23:59:59.999999Z")]
    [InlineData(4_102_444_800_000_000_000L, "2100-01-01T00:00:00.000000Z")]
    [InlineData(long.MaxValue, "2262-04-11T23:47:16.854775Z")]
    [InlineData(-1L, "1969-12-31T23:59:59.999999Z")]
    [InlineData(-1_000_000_001L, "1969-12-31T23:59:58.999999Z")]
    public void Encode_Timestamp_IsRfc3339UtcWithMicroseconds(long nanos, string expected)
    {
        var root = Records.Parse(Records.Tcp() with { FirstSeenNanos = nanos, LastSeenNanos = nanos });
        Assert.Equal(expected, root.GetProperty("first_seen").GetString());
        Assert.Equal(expected, root.GetProperty("last_seen").GetString());
    }

    [Fact]
    public void Encode_RandomTimestamps_MatchDateTimeAndParseBack()
    {
        var random = new Random(17);
        for (var i = 0; i < 20_000; i++)
        {
            var nanos = random.NextInt64(-2_000_000_000_000_000_000L, long.MaxValue);
            var text = Records.Parse(Records.Tcp() with { FirstSeenNanos = nanos }).GetProperty("first_seen").GetString()!;

            var ticks = Math.DivRem(nanos, 100, out var remainder) - (remainder < 0 ? 1 : 0);
            var time = DateTime.UnixEpoch.AddTicks(ticks);
            Assert.Equal(time.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture), text);
            Assert.Matches(TimestampPattern(), text);

            var parsed = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            Assert.Equal(TimeSpan.Zero, parsed.Offset);
            Assert.Equal(time.Ticks / 10 * 10, parsed.UtcTicks);
        }
    }

    [Fact]
    public void Encode_RandomIpv4AddressesAndIds_MatchIpAddressAndHexFormatting()
    {
        // Addresses and flow ids are written from digit tables, a word per octet: every octet
        // length (1 to 3 digits) at every position, next to the fields that overwrite the scratch.
        var random = new Random(29);
        for (var i = 0; i < 20_000; i++)
        {
            var addresses = new uint[4];
            for (var a = 0; a < addresses.Length; a++)
            {
                addresses[a] = (uint)random.NextInt64(0, 1L << 32);
            }

            var record = Records.Tcp() with
            {
                Source = IpAddress.FromIPv4(addresses[0]),
                Destination = IpAddress.FromIPv4(addresses[1]),
                TunnelSource = IpAddress.FromIPv4(addresses[2]),
                TunnelDestination = IpAddress.FromIPv4(addresses[3]),
                FlowId = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63),
                Vni = (uint)random.Next(1 << 24),
            };
            var root = Records.Parse(record);
            Assert.Equal(Dotted(addresses[0]), root.GetProperty("src_ip").GetString());
            Assert.Equal(Dotted(addresses[1]), root.GetProperty("dst_ip").GetString());
            Assert.Equal(Dotted(addresses[2]), root.GetProperty("tunnel_src").GetString());
            Assert.Equal(Dotted(addresses[3]), root.GetProperty("tunnel_dst").GetString());
            Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"{record.Vni}-{record.FlowId:x16}"), root.GetProperty("flow_id").GetString());
        }

        static string Dotted(uint address) => new System.Net.IPAddress([(byte)(address >> 24), (byte)(address >> 16), (byte)(address >> 8), (byte)address]).ToString();
    }

    [Fact]
    public void Encode_MaximumValues_AreExactAndFitMaxRecordLength()
    {
        var line = Records.Encode(Records.Largest());
        Assert.True(line.Length <= FlowRecordJsonEncoder.MaxRecordLength, $"{line.Length} bytes");

        var root = Records.Parse(Records.Largest());
        Assert.Equal(ulong.MaxValue, root.GetProperty("packets_src_to_dst").GetUInt64());
        Assert.Equal(ulong.MaxValue, root.GetProperty("bytes_dst_to_src").GetUInt64());
        Assert.Equal(uint.MaxValue, root.GetProperty("seq").GetUInt32());
        Assert.Equal(uint.MaxValue, root.GetProperty("vni").GetUInt32());
        Assert.Equal(65535, root.GetProperty("vlan").GetInt32());
        Assert.Equal(255, root.GetProperty("tcp_flags_src_to_dst").GetInt32());
        Assert.Equal("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", root.GetProperty("src_ip").GetString());
        Assert.Equal("ffff:eeee:dddd:cccc:bbbb:aaaa:9999:8888", root.GetProperty("dst_ip").GetString());
    }

    [Fact]
    public void Encode_Output_IsAsciiWithNoDuplicateFields()
    {
        foreach (var record in new[] { Records.Tcp(), Records.Icmpv6Update(), Records.Largest() })
        {
            var line = Records.Encode(record);
            Assert.All(line, c => Assert.InRange(c, ' ', '~'));
            var names = Records.Parse(record).EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(names.Count, names.Distinct().Count());
        }
    }

    [Fact]
    public void Encode_ReturnsTheBytesItWroteAndLeavesTheRestOfTheBuffer()
    {
        var buffer = new byte[FlowRecordJsonEncoder.MaxRecordLength * 2];
        buffer.AsSpan().Fill((byte)'#');
        var written = FlowRecordJsonEncoder.Encode(Records.Tcp(), buffer.AsSpan(100));

        Assert.All(buffer.Take(100), b => Assert.Equal((byte)'#', b));
        Assert.All(buffer.Skip(100 + written), b => Assert.Equal((byte)'#', b));
        Assert.Equal((byte)'{', buffer[100]);
        Assert.Equal((byte)'}', buffer[100 + written - 1]);
    }

    [Fact]
    public void Encode_100000RecordsIntoAReusedBuffer_AllocatesNothing()
    {
        var buffer = new byte[FlowRecordJsonEncoder.MaxRecordLength];
        var records = new[] { Records.Tcp(), Records.Icmpv6Update(), Records.Largest() };
        void Run()
        {
            for (var i = 0; i < 100_000; i++)
            {
                FlowRecordJsonEncoder.Encode(records[i % records.Length], buffer, (ushort)(i & 1));
            }
        }

        Run();
        Assert.Equal(0, Allocations.Least(Run));
    }

    // ---- docs/schema.md and the code cannot drift apart ----

    [Fact]
    public void SchemaDocument_EveryFieldInItsTable_IsWrittenAndNothingElse()
    {
        var documented = SchemaFields().Select(f => f.Name).Order().ToList();
        Assert.NotEmpty(documented);
        foreach (var record in new[] { Records.Tcp(), Records.Icmpv6Update() })
        {
            var written = Records.Parse(record).EnumerateObject().Select(p => p.Name).Order().ToList();
            Assert.Equal(documented, written);
        }
    }

    [Fact]
    public void SchemaDocument_EveryFieldHasItsDocumentedJsonType()
    {
        var fields = SchemaFields();
        foreach (var record in new[] { Records.Tcp(), Records.Icmpv6Update(), Records.Largest() })
        {
            var root = Records.Parse(record);
            foreach (var (name, type) in fields)
            {
                var kind = root.GetProperty(name).ValueKind;
                switch (type)
                {
                    case "string":
                        Assert.True(kind == JsonValueKind.String, $"{name} is {kind}, documented as {type}");
                        break;
                    case "number":
                        Assert.True(kind == JsonValueKind.Number, $"{name} is {kind}, documented as {type}");
                        Assert.True(root.GetProperty(name).TryGetUInt64(out _), $"{name} is not a whole number");
                        break;
                    case "string or null":
                        Assert.True(kind is JsonValueKind.String or JsonValueKind.Null, $"{name} is {kind}, documented as {type}");
                        break;
                    default:
                        Assert.Fail($"docs/schema.md gives {name} the type '{type}', which this test does not know");
                        break;
                }
            }
        }
    }

    [Fact]
    public void SchemaDocument_ListsExactlyTheEndReasonLabelsTheEncoderWrites()
    {
        var documented = LabelsInRow("end_reason").Except(["end", "update", "null"]).Order().ToList();
        var written = Enum.GetValues<EndReason>().Where(r => r != EndReason.None)
            .Select(r => Records.Parse(Records.Tcp() with { EndReason = r }).GetProperty("end_reason").GetString()!)
            .Order().ToList();
        Assert.Equal(written, documented);
    }

    [Fact]
    public void SchemaDocument_ListsExactlyTheConnStatesTheEncoderWrites()
    {
        var documented = LabelsInRow("conn_state").Where(label => label.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c))).Order().ToList();
        var written = Enum.GetValues<ConnState>()
            .Select(s => Records.Parse(Records.Tcp() with { ConnState = s }).GetProperty("conn_state").GetString()!)
            .Order().ToList();
        Assert.Equal(written, documented);
    }

    [Fact]
    public void SchemaDocument_ListsExactlyTheTunnelAndTypeLabelsTheEncoderWrites()
    {
        var tunnels = Enum.GetValues<TunnelKind>()
            .Select(t => Records.Parse(Records.Tcp() with { Tunnel = t }).GetProperty("tunnel").GetString()!)
            .Order().ToList();
        Assert.Equal(tunnels, LabelsInRow("tunnel").Order().ToList());

        var types = Enum.GetValues<FlowRecordType>()
            .Select(t => Records.Parse(Records.Tcp() with { Type = t }).GetProperty("type").GetString()!)
            .Order().ToList();
        Assert.Equal(types, LabelsInRow("type").Order().ToList());
    }

    [Fact]
    public void SchemaDocument_SchemaRow_NamesTheSchemaTheEncoderWrites() =>
        Assert.Equal([FlowRecordJsonEncoder.Schema], LabelsInRow("schema"));

    /// <summary>The fields of docs/schema.md's field table with their documented JSON types.</summary>
    private static List<(string Name, string Type)> SchemaFields()
    {
        var fields = new List<(string, string)>();
        foreach (var cells in SchemaRows())
        {
            var names = Backticked(cells[0]);
            var types = cells[1].Split(',', StringSplitOptions.TrimEntries);
            for (var i = 0; i < names.Count; i++)
            {
                fields.Add((names[i], types.Length == names.Count ? types[i] : cells[1]));
            }
        }

        return fields;
    }

    /// <summary>The backticked words of one field's "meaning" cell.</summary>
    private static List<string> LabelsInRow(string field) =>
        Backticked(SchemaRows().Single(cells => Backticked(cells[0]).Contains(field))[2]).Distinct().ToList();

    /// <summary>The rows of the table headed "| field | type | meaning |", as trimmed cells.</summary>
    private static List<string[]> SchemaRows()
    {
        var lines = File.ReadAllLines(Path.Combine(Repository.Root, "docs", "schema.md"));
        var header = Array.FindIndex(lines, line => TableHeader().IsMatch(line));
        Assert.True(header >= 0, "docs/schema.md has no '| field | type | meaning |' table");
        return lines.Skip(header + 2)
            .TakeWhile(line => line.StartsWith('|'))
            .Select(line => line.Trim().Trim('|').Split('|', 3, StringSplitOptions.TrimEntries))
            .ToList();
    }

    private static List<string> Backticked(string text) =>
        BacktickedWord().Matches(text).Select(m => m.Groups[1].Value).ToList();

    [GeneratedRegex(@"^\|\s*field\s*\|\s*type\s*\|\s*meaning\s*\|")]
    private static partial Regex TableHeader();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex BacktickedWord();

    [GeneratedRegex("^[0-9]+-[0-9a-f]{16}$")]
    private static partial Regex FlowIdPattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")]
    private static partial Regex TimestampPattern();

    [Fact]
    public void Encode_DeduplicationOn_WritesBothTapsTheirCountAndTheCopiesRemoved()
    {
        var record = Records.Tcp() with
        {
            ObservationPoints = 2,
            SecondTunnelSource = IpAddress.Parse("192.0.2.77"),
            CopiesRemovedSrcToDst = 5,
            CopiesRemovedDstToSrc = 4,
        };
        var json = Records.Parse(record);

        Assert.Equal([record.TunnelSource.ToString(), "192.0.2.77"], json.GetProperty("observation_points").EnumerateArray().Select(tap => tap.GetString()));
        Assert.Equal(2, json.GetProperty("observation_point_count").GetInt32());
        Assert.Equal(5, json.GetProperty("copies_removed_src_to_dst").GetInt64());
        Assert.Equal(4, json.GetProperty("copies_removed_dst_to_src").GetInt64());
    }

    [Fact]
    public void Encode_DeduplicationOnWithoutATunnel_NamesNoTapAddress()
    {
        var record = Records.Tcp() with { Tunnel = TunnelKind.None, TunnelIpVersion = 0, TunnelSource = default, TunnelDestination = default, ObservationPoints = 1 };
        var json = Records.Parse(record);

        Assert.Equal(0, json.GetProperty("observation_points").GetArrayLength());
        Assert.Equal(1, json.GetProperty("observation_point_count").GetInt32());
    }

    [Fact]
    public void Encode_DeduplicationOff_WritesNoneOfItsFields()
    {
        var json = Records.Parse(Records.Tcp());
        Assert.False(json.TryGetProperty("observation_points", out _));
        Assert.False(json.TryGetProperty("copies_removed_src_to_dst", out _));
    }
}
