using System.Text;
using System.Text.Json;
using VtapCollector.Decoding;
using VtapCollector.Export.Formats;
using VtapCollector.Flows;

namespace VtapCollector.Export.Tests;

/// <summary>
/// Records that cover what a profile maps differently: IPv4 and IPv6, TCP, UDP, ICMP, ICMPv6, SCTP
/// and a protocol with no name, update and end records with every end reason, every tunnel kind,
/// tagged and untagged; and each one encoded by a format and parsed.
/// </summary>
internal static class FormatRecords
{
    public static IReadOnlyList<FlowRecord> All { get; } = Build();

    /// <summary>Encodes with <paramref name="encoder"/>, checks there is no framing, and parses the object.</summary>
    public static JsonElement Parse(IRecordEncoder encoder, in FlowRecord record)
    {
        var text = Encode(encoder, record);
        Assert.DoesNotContain('\n', text);
        using var document = JsonDocument.Parse(text);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        return document.RootElement.Clone();
    }

    public static string Encode(IRecordEncoder encoder, in FlowRecord record)
    {
        var buffer = new byte[encoder.MaxRecordLength];
        var written = encoder.Encode(record, buffer);
        return Encoding.UTF8.GetString(buffer, 0, written);
    }

    /// <summary>The names of every property of <paramref name="element"/>, failing on a name written twice.</summary>
    public static void AssertNoDuplicateNames(JsonElement element, string path = "")
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            Assert.True(names.Add(property.Name), $"{path}{property.Name} is written twice");
            AssertNoDuplicateNames(property.Value, path + property.Name + ".");
        }
    }

    /// <summary>Milliseconds since the epoch of a native RFC 3339 timestamp.</summary>
    public static long Millis(JsonElement timestamp) =>
        Microseconds(timestamp) is var micros && micros >= 0 ? micros / 1000 : ((micros + 1) / 1000) - 1;

    /// <summary>Microseconds since the epoch of a native RFC 3339 timestamp.</summary>
    public static long Microseconds(JsonElement timestamp) =>
        (DateTimeOffset.Parse(timestamp.GetString()!, System.Globalization.CultureInfo.InvariantCulture).UtcTicks - DateTime.UnixEpoch.Ticks) / 10;

    private static List<FlowRecord> Build()
    {
        var records = new List<FlowRecord>();
        var tcp = Records.Tcp();
        foreach (var reason in Enum.GetValues<EndReason>().Where(r => r != EndReason.None))
        {
            records.Add(tcp with { EndReason = reason, FlowId = tcp.FlowId + (ulong)reason });
        }

        records.Add(tcp with { Type = FlowRecordType.Update, EndReason = EndReason.None, Sequence = 0, ConnState = ConnState.S1 });
        records.Add(tcp with { ConnState = ConnState.REJ, EndReason = EndReason.Rst, TcpFlagsSrcToDst = 0x02, TcpFlagsDstToSrc = 0x14, PacketsDstToSrc = 1, BytesDstToSrc = 40 });
        records.Add(tcp with { ConnState = ConnState.S0, EndReason = EndReason.IdleTimeout, PacketsDstToSrc = 0, BytesDstToSrc = 0, TcpFlagsDstToSrc = 0 });
        records.Add(tcp with { ConnState = ConnState.OTH, Vlan = 0, Tunnel = TunnelKind.None, TunnelIpVersion = 0, TunnelSource = default, TunnelDestination = default, Vni = 0 });

        // Tapped VM as initiator (tunnel source = inner source) and as responder.
        var udp = tcp with
        {
            Protocol = IpProtocol.Udp,
            SourcePort = 53_000,
            DestinationPort = 53,
            TcpFlagsSrcToDst = 0,
            TcpFlagsDstToSrc = 0,
            ConnState = ConnState.SF,
            EndReason = EndReason.IdleTimeout,
            Source = IpAddress.Parse("10.0.2.4"),
            TunnelSource = IpAddress.Parse("10.0.2.4"),
            TunnelDestination = IpAddress.Parse("10.1.1.4"),
            Vni = 27,
            Vlan = 0,
        };
        records.Add(udp);
        records.Add(udp with { Type = FlowRecordType.Update, EndReason = EndReason.None, Source = IpAddress.Parse("203.0.113.9"), Destination = IpAddress.Parse("10.0.2.4"), SourcePort = 40_000, DestinationPort = 443 });
        records.Add(udp with { ConnState = ConnState.S0, PacketsDstToSrc = 0, BytesDstToSrc = 0, Tunnel = TunnelKind.Geneve, EndReason = EndReason.Evicted });

        // Classified by configured networks: every direction, a network on one end only.
        var spoke = new FlowNetwork("spoke1", isLocal: true, 0);
        var onPremises = new FlowNetwork("on-premises", isLocal: true, 1);
        var internet = new FlowNetwork("internet", isLocal: false, 2);
        records.Add(udp with { SourceNetwork = spoke, DestinationNetwork = onPremises, Direction = TrafficDirection.Internal });
        records.Add(tcp with { DestinationPort = 443, SourceNetwork = spoke, DestinationNetwork = internet, Direction = TrafficDirection.Outbound });
        records.Add(tcp with { DestinationPort = 3389, DestinationNetwork = spoke, Direction = TrafficDirection.Inbound });
        records.Add(tcp with { SourceNetwork = internet, Direction = TrafficDirection.External, Type = FlowRecordType.Update, EndReason = EndReason.None });

        var icmpv6 = Records.Icmpv6Update();
        records.Add(icmpv6);
        records.Add(icmpv6 with { Type = FlowRecordType.End, EndReason = EndReason.EndOfInput, Sequence = 1, Vlan = 4094 });
        records.Add(tcp with { Protocol = IpProtocol.Icmp, SourcePort = 8, DestinationPort = 0, TcpFlagsSrcToDst = 0, TcpFlagsDstToSrc = 0, EndReason = EndReason.IdleTimeout });
        records.Add(icmpv6 with
        {
            Protocol = IpProtocol.Tcp,
            SourcePort = 50_123,
            DestinationPort = 22,
            TcpFlagsSrcToDst = 0x1B,
            TcpFlagsDstToSrc = 0x1B,
            ConnState = ConnState.RSTO,
            Type = FlowRecordType.End,
            EndReason = EndReason.Rst,
            Tunnel = TunnelKind.Geneve,
            TunnelIpVersion = 6,
            TunnelSource = IpAddress.Parse("2001:db8::1"),
            TunnelDestination = IpAddress.Parse("2001:db8::2"),
            Vni = 4_000_000,
        });
        records.Add(icmpv6 with { Protocol = 132, SourcePort = 36_412, DestinationPort = 36_412, ConnState = ConnState.SF, Type = FlowRecordType.End, EndReason = EndReason.Shutdown });
        records.Add(tcp with { Protocol = IpProtocol.Gre, SourcePort = 0, DestinationPort = 0, TcpFlagsSrcToDst = 0, TcpFlagsDstToSrc = 0, ConnState = ConnState.S0, PacketsDstToSrc = 0, BytesDstToSrc = 0 });
        records.Add(tcp with { FirstSeenNanos = 1_700_000_000_000_999_999, LastSeenNanos = 1_700_000_000_001_000_000 });
        return records;
    }
}
