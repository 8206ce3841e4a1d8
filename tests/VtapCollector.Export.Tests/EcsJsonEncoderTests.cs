using System.Globalization;
using System.Text.Json;
using VtapCollector.Export.Formats;
using VtapCollector.Flows;

namespace VtapCollector.Export.Tests;

/// <summary>The <c>ecs</c> format: against ECS's published field list, and value by value against the native format.</summary>
public class EcsJsonEncoderTests
{
    private const string Extension = "vtap";

    private readonly EcsJsonEncoder _encoder = new();

    [Fact]
    public void Encode_EveryFieldWritten_IsAnEcsFieldOfACompatibleType()
    {
        foreach (var record in FormatRecords.All)
        {
            var root = FormatRecords.Parse(_encoder, record);
            FormatRecords.AssertNoDuplicateNames(root);
            var leaves = 0;
            foreach (var (field, value) in Leaves(root, ""))
            {
                if (field.StartsWith(Extension + ".", StringComparison.Ordinal))
                {
                    continue;
                }

                Assert.True(PublishedSchemas.EcsFields.TryGetValue(field, out var definition), $"{field} is not an ECS 9.4 field");
                if (value.ValueKind == JsonValueKind.Array)
                {
                    Assert.True(definition.Normalization == "array", $"{field} is written as an array, but ECS does not normalize it to one");
                    foreach (var item in value.EnumerateArray())
                    {
                        PublishedSchemas.AssertEcsScalar(field, definition.Type, item);
                    }
                }
                else
                {
                    PublishedSchemas.AssertEcsScalar(field, definition.Type, value);
                }

                leaves++;
            }

            Assert.True(leaves > 20, $"only {leaves} ECS fields written");
        }
    }

    [Fact]
    public void Encode_EveryRecord_CarriesTheNativeRecordsValues()
    {
        foreach (var record in FormatRecords.All)
        {
            var native = Records.Parse(record);
            var ecs = FormatRecords.Parse(_encoder, record);
            var vtap = ecs.GetProperty(Extension);
            var ended = native.GetProperty("type").GetString() == "end";
            var icmp = native.GetProperty("protocol").GetInt32() is 1 or 58;

            Assert.Equal(native.GetProperty("last_seen").GetString(), ecs.GetProperty("@timestamp").GetString());
            var @event = ecs.GetProperty("event");
            Assert.Equal(native.GetProperty("first_seen").GetString(), @event.GetProperty("start").GetString());
            Assert.Equal(native.GetProperty("last_seen").GetString(), @event.GetProperty("end").GetString());
            var micros = FormatRecords.Microseconds(native.GetProperty("last_seen")) - FormatRecords.Microseconds(native.GetProperty("first_seen"));
            Assert.InRange(@event.GetProperty("duration").GetInt64(), (micros - 1) * 1000, (micros + 1) * 1000);
            Assert.Equal(["connection", ended ? "end" : "info"], @event.GetProperty("type").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(["network"], @event.GetProperty("category").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("event", @event.GetProperty("kind").GetString());
            Assert.Equal(ended ? native.GetProperty("end_reason").GetString() : null, @event.TryGetProperty("reason", out var reason) ? reason.GetString() : null);

            AssertEndpoint(native, ecs.GetProperty("source"), vtap, "src", "src_to_dst", icmp);
            AssertEndpoint(native, ecs.GetProperty("destination"), vtap, "dst", "dst_to_src", icmp);

            var network = ecs.GetProperty("network");
            var protocol = native.GetProperty("protocol").GetInt32();
            Assert.Equal(protocol.ToString(CultureInfo.InvariantCulture), network.GetProperty("iana_number").GetString());
            Assert.Equal(IanaProtocols.Keyword(protocol) ?? protocol.ToString(CultureInfo.InvariantCulture), network.GetProperty("transport").GetString());
            Assert.Equal("ipv" + native.GetProperty("ip_version").GetInt32(), network.GetProperty("type").GetString());
            Assert.Equal(native.GetProperty("community_id").GetString(), network.GetProperty("community_id").GetString());
            Assert.Equal(native.GetProperty("bytes_src_to_dst").GetUInt64() + native.GetProperty("bytes_dst_to_src").GetUInt64(), network.GetProperty("bytes").GetUInt64());
            Assert.Equal(native.GetProperty("packets_src_to_dst").GetUInt64() + native.GetProperty("packets_dst_to_src").GetUInt64(), network.GetProperty("packets").GetUInt64());
            var vlan = native.GetProperty("vlan").GetInt32();
            Assert.Equal(vlan == 0 ? null : vlan.ToString(CultureInfo.InvariantCulture), network.TryGetProperty("vlan", out var tag) ? tag.GetProperty("id").GetString() : null);

            foreach (var name in new[] { "flow_id", "tunnel", "conn_state", "type" })
            {
                Assert.Equal(native.GetProperty(name).GetString(), vtap.GetProperty(name).GetString());
            }

            foreach (var name in new[] { "seq", "vni", "tcp_flags_src_to_dst", "tcp_flags_dst_to_src" })
            {
                Assert.Equal(native.GetProperty(name).GetUInt32(), vtap.GetProperty(name).GetUInt32());
            }

            foreach (var name in new[] { "tunnel_src", "tunnel_dst" })
            {
                Assert.Equal(native.GetProperty(name).ValueKind == JsonValueKind.Null ? null : native.GetProperty(name).GetString(), vtap.TryGetProperty(name, out var address) ? address.GetString() : null);
            }
        }
    }

    [Fact]
    public void Encode_Categorization_UsesAllowedValuesAndTheTypesExpectedForItsCategory()
    {
        foreach (var record in FormatRecords.All)
        {
            var @event = FormatRecords.Parse(_encoder, record).GetProperty("event");
            Assert.True(PublishedSchemas.EcsAllowedValues.ContainsKey(("event.kind", @event.GetProperty("kind").GetString()!)));
            var expectedTypes = new HashSet<string>(StringComparer.Ordinal);
            foreach (var category in @event.GetProperty("category").EnumerateArray())
            {
                Assert.True(PublishedSchemas.EcsAllowedValues.TryGetValue(("event.category", category.GetString()!), out var types), $"event.category {category} is not allowed");
                expectedTypes.UnionWith(types);
            }

            foreach (var type in @event.GetProperty("type").EnumerateArray())
            {
                Assert.True(PublishedSchemas.EcsAllowedValues.ContainsKey(("event.type", type.GetString()!)), $"event.type {type} is not allowed");
                Assert.Contains(type.GetString()!, expectedTypes);
            }
        }
    }

    [Fact]
    public void Encode_EveryRecord_WritesDirectionAppAndNetworksOnlyWhenKnown()
    {
        // ECS's network.direction vocabulary holds ours word for word; unclassified records leave it out.
        string[] ecsDirections = ["ingress", "egress", "inbound", "outbound", "internal", "external", "unknown"];
        var classified = 0;
        foreach (var record in FormatRecords.All)
        {
            var native = Records.Parse(record);
            var ecs = FormatRecords.Parse(_encoder, record);
            var network = ecs.GetProperty("network");
            var vtap = ecs.GetProperty("vtap");
            var direction = native.GetProperty("direction").GetString()!;
            Assert.Equal(direction.Length == 0 ? null : direction, network.TryGetProperty("direction", out var written) ? written.GetString() : null);
            if (direction.Length > 0)
            {
                Assert.Contains(direction, ecsDirections);
                classified++;
            }

            var app = native.GetProperty("app").GetString()!;
            Assert.Equal(app.Length == 0 ? null : app, network.TryGetProperty("protocol", out var protocol) ? protocol.GetString() : null);
            foreach (var field in new[] { "src_network", "dst_network", "flowlog_direction" })
            {
                var value = native.GetProperty(field).GetString()!;
                Assert.Equal(value.Length == 0 ? null : value, vtap.TryGetProperty(field, out var own) ? own.GetString() : null);
            }
        }

        Assert.True(classified >= 4);
    }

    [Fact]
    public void Encode_EcsVersion_IsTheVersionOfTheFieldListCheckedAgainst()
    {
        var root = FormatRecords.Parse(_encoder, Records.Tcp());
        Assert.Equal(EcsJsonEncoder.EcsVersion, root.GetProperty("ecs").GetProperty("version").GetString());
        var header = File.ReadLines(Path.Combine(Repository.Root, "tests", "VtapCollector.Export.Tests", "data", "ecs-9.4.0-fields.csv")).First();
        Assert.Contains($"Elastic Common Schema {EcsJsonEncoder.EcsVersion}:", header, StringComparison.Ordinal);
    }

    private static void AssertEndpoint(JsonElement native, JsonElement endpoint, JsonElement vtap, string side, string direction, bool icmp)
    {
        Assert.Equal(native.GetProperty(side + "_ip").GetString(), endpoint.GetProperty("ip").GetString());
        if (icmp)
        {
            Assert.False(endpoint.TryGetProperty("port", out _), $"an ICMP {side} has a port");
            Assert.Equal(native.GetProperty(side + "_port").GetInt32(), vtap.GetProperty("icmp_" + side + "_port").GetInt32());
        }
        else
        {
            Assert.Equal(native.GetProperty(side + "_port").GetInt32(), endpoint.GetProperty("port").GetInt32());
        }

        Assert.Equal(native.GetProperty("bytes_" + direction).GetUInt64(), endpoint.GetProperty("bytes").GetUInt64());
        Assert.Equal(native.GetProperty("packets_" + direction).GetUInt64(), endpoint.GetProperty("packets").GetUInt64());
    }

    /// <summary>Every value that is not an object, with its dotted ECS name.</summary>
    private static IEnumerable<(string Field, JsonElement Value)> Leaves(JsonElement element, string prefix)
    {
        foreach (var property in element.EnumerateObject())
        {
            var name = prefix + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var leaf in Leaves(property.Value, name + "."))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return (name, property.Value);
            }
        }
    }
}
