using System.Globalization;
using System.Text.Json;
using VtapCollector.Export.Formats;

namespace VtapCollector.Export.Tests;

/// <summary>The <c>ocsf</c> format: against the published Network Activity class and its objects, and value by value against the native format.</summary>
public class OcsfJsonEncoderTests
{
    private const string Class = "network_activity";

    private readonly OcsfJsonEncoder _encoder = new();

    [Fact]
    public void Encode_EveryAttributeWritten_IsInTheClassOrItsObjectWithACompatibleType()
    {
        foreach (var record in FormatRecords.All)
        {
            var root = FormatRecords.Parse(_encoder, record);
            FormatRecords.AssertNoDuplicateNames(root);
            Assert.True(CheckObject(Class, root, "") > 30);
        }
    }

    [Fact]
    public void Encode_EveryEnumeratedValue_IsOneTheSchemaDefinesWithItsCaption()
    {
        foreach (var record in FormatRecords.All)
        {
            var root = FormatRecords.Parse(_encoder, record);
            var connection = root.GetProperty("connection_info");
            AssertEnum(Class, root, "activity_id", "activity_name");
            AssertEnum(Class, root, "severity_id", "severity");
            AssertEnum(Class, root, "status_id", "status");
            if (connection.GetProperty("direction_id").GetInt32() == 99)
            {
                // OCSF: with Other (99) the caption attribute holds the source's own word.
                Assert.True(PublishedSchemas.OcsfEnums.ContainsKey(("network_connection_info", "direction_id", 99)));
                Assert.Equal("External", connection.GetProperty("direction").GetString());
            }
            else
            {
                AssertEnum("network_connection_info", connection, "direction_id", "direction");
            }

            foreach (var endpoint in new[] { root.GetProperty("src_endpoint"), root.GetProperty("dst_endpoint") })
            {
                if (endpoint.TryGetProperty("network_scope_id", out _))
                {
                    AssertEnum("network_endpoint", endpoint, "network_scope_id", "network_scope");
                }
            }

            Assert.True(PublishedSchemas.OcsfEnums.ContainsKey(("network_connection_info", "protocol_ver_id", connection.GetProperty("protocol_ver_id").GetInt32())));

            var activity = root.GetProperty("activity_id").GetInt32();
            Assert.Equal((root.GetProperty("class_uid").GetInt32() * 100) + activity, root.GetProperty("type_uid").GetInt64());
            Assert.Equal("Network Activity: " + root.GetProperty("activity_name").GetString(), root.GetProperty("type_name").GetString());
        }
    }

    [Fact]
    public void Encode_EveryRecord_CarriesTheNativeRecordsValues()
    {
        foreach (var record in FormatRecords.All)
        {
            var native = Records.Parse(record);
            var ocsf = FormatRecords.Parse(_encoder, record);
            var unmapped = ocsf.GetProperty("unmapped").GetProperty("vtap");
            var ended = native.GetProperty("type").GetString() == "end";
            var protocol = native.GetProperty("protocol").GetInt32();
            var icmp = protocol is 1 or 58;

            Assert.Equal(4001, ocsf.GetProperty("class_uid").GetInt32());
            Assert.Equal(4, ocsf.GetProperty("category_uid").GetInt32());
            Assert.Equal(FormatRecords.Millis(native.GetProperty("last_seen")), ocsf.GetProperty("time").GetInt64());
            Assert.Equal(FormatRecords.Millis(native.GetProperty("first_seen")), ocsf.GetProperty("start_time").GetInt64());
            Assert.Equal(FormatRecords.Millis(native.GetProperty("last_seen")), ocsf.GetProperty("end_time").GetInt64());

            // An update is a traffic report; an end closes the connection (reset when a RST ended it,
            // refused when the responder rejected it).
            var expectedActivity = !ended ? 6
                : native.GetProperty("conn_state").GetString() == "REJ" ? 5
                : native.GetProperty("end_reason").GetString() == "rst" ? 3
                : 2;
            Assert.Equal(expectedActivity, ocsf.GetProperty("activity_id").GetInt32());

            AssertEndpoint(native, ocsf.GetProperty("src_endpoint"), unmapped, "src", icmp);
            AssertEndpoint(native, ocsf.GetProperty("dst_endpoint"), unmapped, "dst", icmp);

            var connection = ocsf.GetProperty("connection_info");
            Assert.Equal(native.GetProperty("flow_id").GetString(), connection.GetProperty("uid").GetString());
            Assert.Equal(native.GetProperty("community_id").GetString(), connection.GetProperty("community_uid").GetString());
            Assert.Equal(protocol, connection.GetProperty("protocol_num").GetInt32());
            Assert.Equal(IanaProtocols.Keyword(protocol), connection.TryGetProperty("protocol_name", out var name) ? name.GetString() : null);
            Assert.Equal(native.GetProperty("ip_version").GetInt32(), connection.GetProperty("protocol_ver_id").GetInt32());
            var expectedDirection = native.GetProperty("direction").GetString() switch
            {
                "inbound" => 1,
                "outbound" => 2,
                "internal" => 3,
                "external" => 99,
                _ => 0,
            };
            Assert.Equal(expectedDirection, connection.GetProperty("direction_id").GetInt32());
            var app = native.GetProperty("app").GetString();
            Assert.Equal(app!.Length == 0 ? null : app, ocsf.TryGetProperty("app_protocol_name", out var appName) ? appName.GetString() : null);
            foreach (var (side, endpoint) in new[] { ("src", ocsf.GetProperty("src_endpoint")), ("dst", ocsf.GetProperty("dst_endpoint")) })
            {
                var network = native.GetProperty(side + "_network").GetString();
                Assert.Equal(network!.Length == 0 ? null : network, endpoint.TryGetProperty("zone", out var zone) ? zone.GetString() : null);
                Assert.Equal(network.Length == 0 ? null : network, unmapped.TryGetProperty(side + "_network", out var own) ? own.GetString() : null);
            }
            var flags = native.GetProperty("tcp_flags_src_to_dst").GetInt32() | native.GetProperty("tcp_flags_dst_to_src").GetInt32();
            Assert.Equal(protocol == 6 ? flags : (int?)null, connection.TryGetProperty("tcp_flags", out var tcpFlags) ? tcpFlags.GetInt32() : null);

            var traffic = ocsf.GetProperty("traffic");
            Assert.Equal(native.GetProperty("bytes_src_to_dst").GetUInt64(), traffic.GetProperty("bytes_out").GetUInt64());
            Assert.Equal(native.GetProperty("packets_src_to_dst").GetUInt64(), traffic.GetProperty("packets_out").GetUInt64());
            Assert.Equal(native.GetProperty("bytes_dst_to_src").GetUInt64(), traffic.GetProperty("bytes_in").GetUInt64());
            Assert.Equal(native.GetProperty("packets_dst_to_src").GetUInt64(), traffic.GetProperty("packets_in").GetUInt64());
            Assert.Equal(traffic.GetProperty("bytes_out").GetUInt64() + traffic.GetProperty("bytes_in").GetUInt64(), traffic.GetProperty("bytes").GetUInt64());
            Assert.Equal(traffic.GetProperty("packets_out").GetUInt64() + traffic.GetProperty("packets_in").GetUInt64(), traffic.GetProperty("packets").GetUInt64());

            foreach (var field in new[] { "tunnel", "conn_state", "type" })
            {
                Assert.Equal(native.GetProperty(field).GetString(), unmapped.GetProperty(field).GetString());
            }

            foreach (var field in new[] { "seq", "vni", "vlan", "tcp_flags_src_to_dst", "tcp_flags_dst_to_src" })
            {
                Assert.Equal(native.GetProperty(field).GetUInt32(), unmapped.GetProperty(field).GetUInt32());
            }

            foreach (var field in new[] { "tunnel_src", "tunnel_dst", "end_reason" })
            {
                Assert.Equal(native.GetProperty(field).ValueKind == JsonValueKind.Null ? null : native.GetProperty(field).GetString(), unmapped.TryGetProperty(field, out var value) ? value.GetString() : null);
            }
        }
    }

    [Fact]
    public void Encode_MetadataVersion_IsTheVersionOfTheClassCheckedAgainst()
    {
        var metadata = FormatRecords.Parse(_encoder, Records.Tcp()).GetProperty("metadata");
        Assert.Equal(OcsfJsonEncoder.SchemaVersion, metadata.GetProperty("version").GetString());
        Assert.Equal("VtapCollector", metadata.GetProperty("product").GetProperty("name").GetString());
        var header = File.ReadLines(Path.Combine(Repository.Root, "tests", "VtapCollector.Export.Tests", "data", "ocsf-1.8.0-network_activity.csv")).First();
        Assert.Contains($"OCSF {OcsfJsonEncoder.SchemaVersion}:", header, StringComparison.Ordinal);
    }

    /// <summary>Checks every attribute of <paramref name="element"/> against <paramref name="owner"/>'s; returns how many were checked.</summary>
    private static int CheckObject(string owner, JsonElement element, string path)
    {
        var checkedCount = 0;
        foreach (var property in element.EnumerateObject())
        {
            var name = path + property.Name;
            Assert.True(PublishedSchemas.OcsfAttributes.TryGetValue((owner, property.Name), out var type), $"{name} is not an attribute of OCSF {owner}");
            checkedCount++;
            if (owner == Class && property.Name == "unmapped")
            {
                // The class's own place for what it has no attribute for: an object of any shape.
                Assert.Equal("object", type);
                Assert.Equal(JsonValueKind.Object, property.Value.ValueKind);
                continue;
            }

            if (type.EndsWith("_t", StringComparison.Ordinal))
            {
                PublishedSchemas.AssertOcsfScalar(name, type, property.Value);
                continue;
            }

            Assert.True(property.Value.ValueKind == JsonValueKind.Object, $"{name} is the OCSF object {type} but is written as {property.Value.ValueKind}");
            Assert.True(PublishedSchemas.OcsfAttributes.Keys.Any(key => key.Owner == type), $"data/ lacks the attributes of the OCSF object {type}");
            checkedCount += CheckObject(type, property.Value, name + ".");
        }

        return checkedCount;
    }

    private static void AssertEnum(string owner, JsonElement element, string id, string caption)
    {
        var value = element.GetProperty(id).GetInt32();
        Assert.True(PublishedSchemas.OcsfEnums.TryGetValue((owner, id, value), out var expected), $"{id} {value} is not defined for {owner}");
        Assert.Equal(expected, element.GetProperty(caption).GetString());
    }

    private static void AssertEndpoint(JsonElement native, JsonElement endpoint, JsonElement unmapped, string side, bool icmp)
    {
        Assert.Equal(native.GetProperty(side + "_ip").GetString(), endpoint.GetProperty("ip").GetString());
        var port = native.GetProperty(side + "_port").GetInt32();
        if (icmp)
        {
            Assert.False(endpoint.TryGetProperty("port", out _), $"an ICMP {side} endpoint has a port");
            Assert.Equal(port, unmapped.GetProperty("icmp_" + side + "_port").GetInt32());
        }
        else
        {
            Assert.Equal(port.ToString(CultureInfo.InvariantCulture), endpoint.GetProperty("port").GetRawText());
        }
    }
}
