using System.Text.Json;

namespace VtapCollector.Tests.CrossCheck;

/// <summary>One flow as tests/tools/gen_crosscheck.py built it (a = the initiator).</summary>
internal sealed record ManifestFlow(
    FlowKey Key, string Kind, int IpVersion, Endpoint A, Endpoint B,
    long PacketsAToB, long BytesAToB, long PacketsBToA, long BytesBToA,
    string? ConnState, int Vlan, int? TwinGroup, int LaterFragments);

/// <summary>The generator's own account of the capture: what each scenario must give.</summary>
internal sealed record GeneratorManifest(int Seed, int Frames, IReadOnlyList<ManifestFlow> Flows)
{
    public static GeneratorManifest Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        var flows = new List<ManifestFlow>();
        foreach (var flow in root.GetProperty("flows").EnumerateArray())
        {
            var a = Endpoint.Of(Text(flow, "a_ip"), flow.GetProperty("a_port").GetInt32());
            var b = Endpoint.Of(Text(flow, "b_ip"), flow.GetProperty("b_port").GetInt32());
            var protocol = flow.GetProperty("protocol").GetInt32();
            var vni = flow.GetProperty("vni").GetInt64();
            var twin = flow.GetProperty("twin_group");
            flows.Add(new ManifestFlow(
                FlowKey.Of(vni, protocol, a, b), Text(flow, "kind"), flow.GetProperty("ip_version").GetInt32(), a, b,
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
