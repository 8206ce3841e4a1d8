using System.Text.Json;

namespace VtapCollector.Tests.Oracle;

/// <summary>
/// <c>replay --networks FILE</c> and <c>--config FILE</c>: the same networks and direction in the
/// records whichever file names them, records otherwise unchanged, and one sentence for a bad file.
/// </summary>
public class ReplayNetworksTests(OracleCaptures captures) : OracleCaptureTests(captures)
{
    private const string Networks = """
        { "vm1": { "Cidrs": [ "10.99.0.1" ], "Local": true }, "lab": { "Cidrs": [ "10.99.0.0/24" ], "Vnis": [ 100 ] } }
        """;

    [Fact]
    public void Replay_NetworksFileOrConfigFile_NameTheSameNetworksAndLeaveTheRestUnchanged()
    {
        var capture = Captures.Sample;
        var networks = Captures.NewPath("networks.json");
        File.WriteAllText(networks, Networks);
        var config = Captures.NewPath("collector.json");
        File.WriteAllText(config, $$"""{ "Sinks": { "Stdout": { "Enabled": true } }, "Networks": {{Networks}} }""");

        var fromNetworks = ExternalTools.RunCollector(["replay", capture.Path, "--networks", networks, "--quiet"]);
        var fromConfig = ExternalTools.RunCollector(["replay", capture.Path, "--config", config, "--quiet"]);
        var plain = ExternalTools.RunCollector(["replay", capture.Path, "--quiet"]);

        Assert.True(fromNetworks.ExitCode == 0, fromNetworks.StandardError);
        Assert.True(fromConfig.ExitCode == 0, fromConfig.StandardError);
        Assert.Equal(fromNetworks.StandardOutput, fromConfig.StandardOutput);
        var classified = fromNetworks.OutputLines.Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        var unclassified = plain.OutputLines.Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        Assert.Equal(unclassified.Count, classified.Count);
        for (var i = 0; i < classified.Count; i++)
        {
            var record = classified[i];
            var (source, destination) = (record.GetProperty("src_ip").GetString(), record.GetProperty("dst_ip").GetString());
            Assert.Equal(Expected(source), record.GetProperty("src_network").GetString());
            Assert.Equal(Expected(destination), record.GetProperty("dst_network").GetString());
            var direction = (Expected(source) == "vm1", Expected(destination) == "vm1") switch
            {
                (true, true) => "internal",
                (true, false) => "outbound",
                (false, true) => "inbound",
                _ => "external",
            };
            Assert.Equal(direction, record.GetProperty("direction").GetString());

            // Without networks the same record has the same values, and empty network fields.
            var plainRecord = unclassified[i];
            Assert.Equal(("", "", ""), (plainRecord.GetProperty("src_network").GetString(), plainRecord.GetProperty("dst_network").GetString(), plainRecord.GetProperty("direction").GetString()));
            foreach (var field in new[] { "flow_id", "packets_src_to_dst", "bytes_dst_to_src", "app", "flowlog_direction" })
            {
                Assert.Equal(plainRecord.GetProperty(field).ToString(), record.GetProperty(field).ToString());
            }
        }

        Assert.Contains(classified, r => r.GetProperty("src_network").GetString() == "vm1" && r.GetProperty("dst_network").GetString() == "lab");

        // The sample's VNI is 100, where "lab" applies; 10.99.0.1 is vm1 by its longer prefix.
        static string Expected(string? address) => address == "10.99.0.1" ? "vm1" : address!.StartsWith("10.99.0.", StringComparison.Ordinal) ? "lab" : "";
    }

    [Theory]
    [InlineData("--networks", """{ "lab": { "Cidrs": [ "10.99.0.0/33" ] } }""", "Networks:lab:Cidrs entry '10.99.0.0/33' is not a CIDR")]
    [InlineData("--networks", """{ "lab": { "Cidr": [ "10.99.0.0/24" ] } }""", "Unknown configuration key 'Networks:lab:Cidr'; the keys under Networks:lab are Cidrs, Vnis, Local.")]
    [InlineData("--networks", """{ "lab": """, "--networks '")]
    [InlineData("--config", """{ "Networks": { "a b": { "Cidrs": [ "10.0.0.0/8" ] } } }""", "Networks: 'a b' cannot name a network")]
    public void Replay_BadNetworksFile_Exits1WithOneSentence(string option, string content, string expected)
    {
        var file = Captures.NewPath("bad.json");
        File.WriteAllText(file, content);

        var result = ExternalTools.RunCollector(["replay", Captures.Sample.Path, option, file]);

        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains(expected, result.StandardError, StringComparison.Ordinal);
        Assert.Empty(result.StandardOutput);
    }
}
