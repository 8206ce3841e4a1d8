using System.Globalization;
using System.Text.Json;
using VtapCollector.Decoding;
using VtapCollector.Export.Formats;
using VtapCollector.Flows;

namespace VtapCollector.Export.Tests;

/// <summary>The <c>azure-flowtuple</c> format: the VNet flow log version 4 tuple, value by value against the native format.</summary>
public class AzureFlowTupleEncoderTests
{
    private readonly AzureFlowTupleEncoder _encoder = new();

    [Fact]
    public void Encode_EveryRecord_TupleCarriesTheNativeRecordsValuesInVnetOrder()
    {
        foreach (var record in FormatRecords.All)
        {
            var native = Records.Parse(record);
            var azure = FormatRecords.Parse(_encoder, record);
            FormatRecords.AssertNoDuplicateNames(azure);
            var tuple = azure.GetProperty("flowTuple").GetString()!.Split(',');

            // time, srcIP, dstIP, srcPort, dstPort, protocol, direction, state, encryption,
            // packets src->dst, bytes src->dst, packets dst->src, bytes dst->src.
            Assert.Equal(13, tuple.Length);
            Assert.Equal(FormatRecords.Millis(native.GetProperty("last_seen")), long.Parse(tuple[0], CultureInfo.InvariantCulture));
            Assert.Equal(native.GetProperty("src_ip").GetString(), tuple[1]);
            Assert.Equal(native.GetProperty("dst_ip").GetString(), tuple[2]);
            Assert.Equal(native.GetProperty("src_port").GetRawText(), tuple[3]);
            Assert.Equal(native.GetProperty("dst_port").GetRawText(), tuple[4]);
            Assert.Equal(native.GetProperty("protocol").GetRawText(), tuple[5]);
            Assert.Contains(tuple[6], new[] { "I", "O", string.Empty });
            Assert.Equal(native.GetProperty("type").GetString() == "end" ? "E" : "C", tuple[7]);
            Assert.Equal("NX", tuple[8]);
            Assert.Equal(native.GetProperty("packets_src_to_dst").GetRawText(), tuple[9]);
            Assert.Equal(native.GetProperty("bytes_src_to_dst").GetRawText(), tuple[10]);
            Assert.Equal(native.GetProperty("packets_dst_to_src").GetRawText(), tuple[11]);
            Assert.Equal(native.GetProperty("bytes_dst_to_src").GetRawText(), tuple[12]);

            Assert.Equal(native.GetProperty("last_seen").GetString(), azure.GetProperty("time").GetString());
            Assert.Equal(4, azure.GetProperty("flowLogVersion").GetInt32());
            Assert.Equal(native.GetProperty("flow_id").GetString(), azure.GetProperty("flowId").GetString());
            Assert.Equal(native.GetProperty("community_id").GetString(), azure.GetProperty("communityId").GetString());
            Assert.Equal(native.GetProperty("vni").GetUInt32(), azure.GetProperty("vni").GetUInt32());
            Assert.Equal(native.GetProperty("seq").GetUInt32(), azure.GetProperty("seq").GetUInt32());
        }
    }

    [Fact]
    public void Encode_TunnelSourceIsTheInitiator_DirectionIsOutbound() =>
        Assert.Equal("O", Direction(Records.Tcp() with { TunnelSource = Records.Tcp().Source }));

    [Fact]
    public void Encode_TunnelSourceIsTheResponder_DirectionIsInbound() =>
        Assert.Equal("I", Direction(Records.Tcp() with { TunnelSource = Records.Tcp().Destination }));

    [Fact]
    public void Encode_TunnelSourceIsNeitherEnd_DirectionIsEmpty() =>
        Assert.Equal(string.Empty, Direction(Records.Tcp()));

    [Fact]
    public void Encode_NoTunnel_DirectionIsEmpty() =>
        Assert.Equal(string.Empty, Direction(Records.Tcp() with { Tunnel = TunnelKind.None, TunnelSource = Records.Tcp().Source }));

    [Fact]
    public void Encode_TunnelOfTheOtherIpVersion_DirectionIsEmpty() =>
        Assert.Equal(string.Empty, Direction(Records.Icmpv6Update() with { Tunnel = TunnelKind.Vxlan, TunnelIpVersion = 4, TunnelSource = Records.Icmpv6Update().Source }));

    [Fact]
    public void Encode_UpdateAndEnd_AreStatesCAndENeverB()
    {
        var states = Enum.GetValues<FlowRecordType>().Select(type => Tuple(Records.Tcp() with { Type = type })[7]).ToList();
        Assert.Equal(["C", "E"], states);
    }

    private string[] Tuple(in FlowRecord record) =>
        FormatRecords.Parse(_encoder, record).GetProperty("flowTuple").GetString()!.Split(',');

    private string Direction(in FlowRecord record) => Tuple(record)[6];
}
