using System.Text.Json;

namespace VtapCollector.Tests.Oracle;

/// <summary>One flow as tests/tools/gen_oracle_scenarios.py built it (A = the initiator).</summary>
internal sealed record ManifestFlow(
    FlowKey Key, string Kind, int IpVersion, Endpoint A, Endpoint B,
    long PacketsAToB, long BytesAToB, long PacketsBToA, long BytesBToA,
    string? ConnState, int Vlan, int? TwinGroup, int LaterFragments);

/// <summary>The scenario generator's own account of the capture: what each scenario must give.</summary>
internal sealed record GeneratorManifest(int Seed, int Frames, IReadOnlyList<ManifestFlow> Flows)
{
    public static GeneratorManifest Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        var flows = new List<ManifestFlow>();
        foreach (var flow in root.GetProperty("flows").EnumerateArray())
        {
            var a = new Endpoint(Endpoint.Canonical(Text(flow, "a_ip")), flow.GetProperty("a_port").GetInt32());
            var b = new Endpoint(Endpoint.Canonical(Text(flow, "b_ip")), flow.GetProperty("b_port").GetInt32());
            var twin = flow.GetProperty("twin_group");
            flows.Add(new ManifestFlow(
                FlowKey.Create(flow.GetProperty("vni").GetUInt32(), flow.GetProperty("protocol").GetInt32(), a, b),
                Text(flow, "kind"), flow.GetProperty("ip_version").GetInt32(), a, b,
                flow.GetProperty("packets_a_to_b").GetInt64(), flow.GetProperty("bytes_a_to_b").GetInt64(),
                flow.GetProperty("packets_b_to_a").GetInt64(), flow.GetProperty("bytes_b_to_a").GetInt64(),
                flow.GetProperty("conn_state").GetString(), flow.GetProperty("vlan").GetInt32(),
                twin.ValueKind == JsonValueKind.Null ? null : twin.GetInt32(),
                flow.GetProperty("later_fragments").GetInt32()));
        }

        return new GeneratorManifest(root.GetProperty("seed").GetInt32(), root.GetProperty("frames").GetInt32(), flows);
    }

    private static string Text(JsonElement element, string name) =>
        element.GetProperty(name).GetString() ?? throw new InvalidOperationException($"manifest: {name} is null");
}
