using System.Text.Json;
using System.Text.RegularExpressions;

namespace VtapCollector.Tests.Packaging;

/// <summary>
/// The VM image recipes and the Azure example, validated offline with the tools that will run
/// them: cloud-init's schema check, Packer's validate (its Azure builder checks its settings), and
/// the Bicep compiler and linter (every resource's properties against its API version), then the
/// compiled template read for the wiring the collectors depend on.
/// </summary>
public partial class DeployTests
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(60);
    private static readonly string CloudInit = PackagingTools.InRepository("deploy", "cloud-init", "vtap-collector.yaml");

    [Fact]
    public void Cloud_init_user_data_passes_the_cloud_config_schema_as_written_and_as_the_bicep_template_fills_it()
    {
        PackagingTools.RunOk("cloud-init", ["schema", "--config-file", CloudInit], Quick);

        // main.bicep replaces every occurrence: each placeholder must stand once, where it belongs.
        var template = File.ReadAllText(CloudInit);
        foreach (var placeholder in new[] { "@SETTINGS@", "@PACKAGE_URL@", "@NIC_MTU@", "@NIC@" })
        {
            Assert.Single(Regex.Matches(template, Regex.Escape(placeholder)));
            Assert.Contains($"'{placeholder}'", File.ReadAllText(PackagingTools.InRepository("deploy", "azure", "main.bicep")), StringComparison.Ordinal);
        }

        // The same replacements main.bicep makes, with two allow-listed subnets and Kafka.
        var filled = template
            .Replace("@SETTINGS@", string.Join("\n      ",
                "Environment=VTAP__ALLOWLIST__SOURCECIDRS__0=10.20.2.0/24",
                "Environment=VTAP__ALLOWLIST__SOURCECIDRS__1=10.30.0.0/16",
                "Environment=VTAP__SINKS__KAFKA__ENABLED=true",
                "Environment=VTAP__SINKS__KAFKA__BOOTSTRAPSERVERS=broker1:9092,broker2:9092"), StringComparison.Ordinal)
            .Replace("@PACKAGE_URL@", "https://example.org/vtap-collector_0.1.0-1_amd64.deb", StringComparison.Ordinal)
            .Replace("@NIC_MTU@", "3900", StringComparison.Ordinal)
            .Replace("@NIC@", "eth0", StringComparison.Ordinal);
        var instructions = filled.Split('\n').Where(line => !line.TrimStart().StartsWith('#')).Select(line => line.Replace("vtap-collector-tune-nic@eth0", "", StringComparison.Ordinal));
        Assert.DoesNotContain(instructions, line => line.Contains('@', StringComparison.Ordinal));
        var path = Path.Combine(Path.GetTempPath(), $"vtap-cloud-init-{Guid.NewGuid():N}.yaml");
        try
        {
            File.WriteAllText(path, filled);
            PackagingTools.RunOk("cloud-init", ["schema", "--config-file", path], Quick);
        }
        finally
        {
            File.Delete(path);
        }

        // The filled drop-in: every setting line is in the [Service] section of the written file.
        var dropIn = Regex.Match(filled, @"content: \|\n((?:      .*\n)+)").Groups[1].Value;
        Assert.Contains("      [Service]\n      Environment=VTAP__METRICS__LISTEN=0.0.0.0:9464\n      Environment=VTAP__ALLOWLIST__SOURCECIDRS__0=10.20.2.0/24\n      Environment=VTAP__ALLOWLIST__SOURCECIDRS__1=10.30.0.0/16\n", dropIn, StringComparison.Ordinal);
    }

    [Fact]
    public void Packer_template_is_formatted_and_validates_with_the_azure_builder()
    {
        var directory = PackagingTools.InRepository("deploy", "packer");
        PackagingTools.RunOk("packer", ["fmt", "-check", directory], Quick);

        // The package path must exist for the file provisioner; any file will do for validation.
        var deb = Path.Combine(Path.GetTempPath(), $"vtap-packer-{Guid.NewGuid():N}.deb");
        File.WriteAllText(deb, "");
        try
        {
            PackagingTools.RunOk("packer", ["validate", "-var", "subscription_id=00000000-0000-0000-0000-000000000000", "-var", "resource_group=images", "-var", $"deb={deb}",
                Path.Combine(directory, "vtap-collector.pkr.hcl")], Quick);
        }
        finally
        {
            File.Delete(deb);
        }
    }

    [Fact]
    public void Bicep_template_compiles_cleanly_and_wires_tap_to_load_balancer_to_readyz_probed_scale_set()
    {
        var compiled = Path.Combine(Path.GetTempPath(), $"vtap-main-{Guid.NewGuid():N}.json");
        try
        {
            PackagingTools.RunOk("bash", [PackagingTools.InRepository("deploy", "azure", "validate.sh"), compiled], TimeSpan.FromMinutes(3));
            using var template = JsonDocument.Parse(File.ReadAllText(compiled));
            var arm = new ArmTemplate(template.RootElement);

            var lb = arm.Resource("Microsoft.Network/loadBalancers");
            Assert.Equal("Standard", lb.GetProperty("sku").GetProperty("name").GetString());
            var frontend = lb.GetProperty("properties").GetProperty("frontendIPConfigurations")[0].GetProperty("properties");
            Assert.True(frontend.TryGetProperty("subnet", out _), "the frontend is internal: an address in the collectors' subnet");
            Assert.False(frontend.TryGetProperty("publicIPAddress", out _));

            var probe = lb.GetProperty("properties").GetProperty("probes")[0];
            Assert.Equal("Http", arm.Value(probe.GetProperty("properties").GetProperty("protocol")));
            Assert.Equal("9464", arm.Value(probe.GetProperty("properties").GetProperty("port")));
            Assert.Equal("/readyz", arm.Value(probe.GetProperty("properties").GetProperty("requestPath")));

            var rule = lb.GetProperty("properties").GetProperty("loadBalancingRules")[0].GetProperty("properties");
            Assert.Equal("Udp", arm.Value(rule.GetProperty("protocol")));
            Assert.Equal("4789", arm.Value(rule.GetProperty("frontendPort")));
            Assert.Equal("4789", arm.Value(rule.GetProperty("backendPort")));
            Assert.Equal("SourceIP", arm.Value(rule.GetProperty("loadDistribution")));
            Assert.Contains("'readyz'", rule.GetProperty("probe").GetProperty("id").GetString(), StringComparison.Ordinal);

            var tap = arm.Resource("Microsoft.Network/virtualNetworkTaps").GetProperty("properties");
            Assert.Contains(".frontendIPConfigurations[0].id", tap.GetProperty("destinationLoadBalancerFrontEndIPConfiguration").GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.Equal("4789", arm.Value(tap.GetProperty("destinationPort")));
            Assert.Contains("virtualNetworkTaps", arm.Resource("Microsoft.Network/networkInterfaces/tapConfigurations").GetProperty("properties").GetProperty("virtualNetworkTap").GetProperty("id").GetString(), StringComparison.Ordinal);

            var rules = arm.Resource("Microsoft.Network/networkSecurityGroups").GetProperty("properties").GetProperty("securityRules")
                .EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!, r => r.GetProperty("properties"));
            var vxlan = rules["allow-vxlan-from-tapped-subnets"];
            Assert.Equal(("Allow", "Udp", "4789"), (arm.Value(vxlan.GetProperty("access")), arm.Value(vxlan.GetProperty("protocol")), arm.Value(vxlan.GetProperty("destinationPortRange"))));
            Assert.Equal("[parameters('tappedSubnetPrefixes')]", vxlan.GetProperty("sourceAddressPrefixes").GetString());
            var probeRule = rules["allow-readyz-probe-from-load-balancer"];
            Assert.Equal(("AzureLoadBalancer", "9464"), (arm.Value(probeRule.GetProperty("sourceAddressPrefix")), arm.Value(probeRule.GetProperty("destinationPortRange"))));

            // The default AllowVnetInBound (65000) would admit both ports from every subnet: denied below the allows.
            foreach (var (name, port) in new[] { ("deny-vxlan-from-rest-of-vnet", "4789"), ("deny-metrics-from-rest-of-vnet", "9464") })
            {
                Assert.Equal(("Deny", "VirtualNetwork", port), (arm.Value(rules[name].GetProperty("access")), arm.Value(rules[name].GetProperty("sourceAddressPrefix")), arm.Value(rules[name].GetProperty("destinationPortRange"))));
                Assert.True(rules[name].GetProperty("priority").GetInt32() < 65000);
            }

            var scaleSet = arm.Resource("Microsoft.Compute/virtualMachineScaleSets").GetProperty("properties");
            Assert.Equal("Rolling", scaleSet.GetProperty("upgradePolicy").GetProperty("mode").GetString());
            var profile = scaleSet.GetProperty("virtualMachineProfile");
            Assert.Contains("'readyz'", profile.GetProperty("networkProfile").GetProperty("healthProbe").GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.Contains("cloudInit", profile.GetProperty("osProfile").GetProperty("customData").GetString(), StringComparison.Ordinal);
            Assert.Contains("loadTextContent", File.ReadAllText(PackagingTools.InRepository("deploy", "azure", "main.bicep")), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(compiled);
        }
    }

    /// <summary>A compiled ARM template, with the literal variables and parameter defaults resolved.</summary>
    private sealed partial class ArmTemplate(JsonElement root)
    {
        public JsonElement Resource(string type) =>
            (root.GetProperty("resources").ValueKind == JsonValueKind.Array
                ? root.GetProperty("resources").EnumerateArray()
                : root.GetProperty("resources").EnumerateObject().Select(p => p.Value))
            .First(r => r.GetProperty("type").GetString() == type);

        /// <summary>A value as text: a literal as it is, [variables('x')], [string(variables('x'))] or [parameters('x')] as their value.</summary>
        public string Value(JsonElement value)
        {
            if (value.ValueKind != JsonValueKind.String)
            {
                return value.GetRawText();
            }

            var match = Reference().Match(value.GetString()!);
            if (!match.Success)
            {
                return value.GetString()!;
            }

            var resolved = match.Groups[1].Value == "variables"
                ? root.GetProperty("variables").GetProperty(match.Groups[2].Value)
                : root.GetProperty("parameters").GetProperty(match.Groups[2].Value).GetProperty("defaultValue");
            if (resolved.ValueKind == JsonValueKind.Array)
            {
                return "[" + string.Join(',', resolved.EnumerateArray().Select(e => JsonSerializer.Serialize(Value(e)))) + "]";
            }

            return Value(resolved);
        }

        [GeneratedRegex(@"^\[(?:string\()?(variables|parameters)\('(\w+)'\)\)?\]$")]
        private static partial Regex Reference();
    }
}
