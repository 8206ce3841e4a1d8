using System.Reflection;
using System.Text;
using System.Text.Json;
using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Export.Tests;

/// <summary>Flow records to encode, and the encoder's output as text and as parsed JSON.</summary>
internal static class Records
{
    /// <summary>An end record of a VXLAN-carried IPv4 TCP flow with every field set.</summary>
    public static FlowRecord Tcp() => new()
    {
        Type = FlowRecordType.End,
        EndReason = EndReason.Fin,
        FlowId = 0x00C0_FFEE_1234_ABCD,
        Sequence = 3,
        Vni = 5001,
        Tunnel = TunnelKind.Vxlan,
        TunnelIpVersion = 4,
        TunnelSource = IpAddress.Parse("192.0.2.1"),
        TunnelDestination = IpAddress.Parse("192.0.2.2"),
        Vlan = 100,
        IpVersion = 4,
        Protocol = IpProtocol.Tcp,
        Source = IpAddress.Parse("1.2.3.4"),
        SourcePort = 1122,
        Destination = IpAddress.Parse("5.6.7.8"),
        DestinationPort = 3344,
        FirstSeenNanos = 1_700_000_000_123_456_789,
        LastSeenNanos = 1_700_000_061_000_001_000,
        PacketsSrcToDst = 10,
        BytesSrcToDst = 1_234,
        PacketsDstToSrc = 8,
        BytesDstToSrc = 56_789,
        TcpFlagsSrcToDst = 0x1B,
        TcpFlagsDstToSrc = 0x13,
        ConnState = ConnState.SF,
    };

    /// <summary>An update record of plain (untunnelled) ICMPv6 echo traffic.</summary>
    public static FlowRecord Icmpv6Update() => Tcp() with
    {
        Type = FlowRecordType.Update,
        EndReason = EndReason.None,
        Sequence = 0,
        Vni = 0,
        Tunnel = TunnelKind.None,
        TunnelIpVersion = 0,
        TunnelSource = default,
        TunnelDestination = default,
        Vlan = 0,
        IpVersion = 6,
        Protocol = IpProtocol.Icmpv6,
        Source = IpAddress.Parse("fe80:1:203:405:607:809:a0b:c0d"),
        SourcePort = 128,
        Destination = IpAddress.Parse("fe80:1011:1213:1415:1617:1819:1a1b:1c1d"),
        DestinationPort = 129,
        TcpFlagsSrcToDst = 0,
        TcpFlagsDstToSrc = 0,
        ConnState = ConnState.SF,
    };

    /// <summary>The largest record: IPv6 everywhere at full text length, every number at its maximum.</summary>
    public static FlowRecord Largest() => new()
    {
        Type = FlowRecordType.Update,
        EndReason = EndReason.None,
        FlowId = ulong.MaxValue,
        Sequence = uint.MaxValue,
        Vni = uint.MaxValue,
        Tunnel = TunnelKind.Geneve,
        TunnelIpVersion = 6,
        TunnelSource = new IpAddress(ulong.MaxValue, ulong.MaxValue),
        TunnelDestination = new IpAddress(ulong.MaxValue, ulong.MaxValue - 1),
        Vlan = ushort.MaxValue,
        IpVersion = 6,
        Protocol = IpProtocol.Tcp,
        Source = new IpAddress(ulong.MaxValue, ulong.MaxValue),
        SourcePort = ushort.MaxValue,
        Destination = new IpAddress(0xFFFF_EEEE_DDDD_CCCC, 0xBBBB_AAAA_9999_8888),
        DestinationPort = ushort.MaxValue,
        FirstSeenNanos = long.MaxValue,
        LastSeenNanos = long.MaxValue,
        PacketsSrcToDst = ulong.MaxValue,
        BytesSrcToDst = ulong.MaxValue,
        PacketsDstToSrc = ulong.MaxValue,
        BytesDstToSrc = ulong.MaxValue,
        TcpFlagsSrcToDst = byte.MaxValue,
        TcpFlagsDstToSrc = byte.MaxValue,
        ConnState = ConnState.RSTOS0,
        SourceNetwork = new FlowNetwork(new string('s', 63), isLocal: true, 0),
        DestinationNetwork = new FlowNetwork(new string('d', 63), isLocal: false, 1),
        Direction = TrafficDirection.Outbound,
    };

    public static string Encode(in FlowRecord record, ushort seed = 0)
    {
        var buffer = new byte[FlowRecordJsonEncoder.MaxRecordLength];
        var written = FlowRecordJsonEncoder.Encode(record, buffer, seed);
        return Encoding.UTF8.GetString(buffer, 0, written);
    }

    /// <summary>Encodes, checks there is no framing (one object, no newline: line sinks add theirs), and parses the object.</summary>
    public static JsonElement Parse(in FlowRecord record, ushort seed = 0)
    {
        var line = Encode(record, seed);
        Assert.EndsWith("}", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
        using var document = JsonDocument.Parse(line);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        return document.RootElement.Clone();
    }
}

/// <summary>Measures managed allocation on the current thread.</summary>
internal static class Allocations
{
    /// <summary>
    /// Bytes <paramref name="action"/> allocates, the least of up to <paramref name="runs"/> runs.
    /// The runtime's one-time work (a method's tier-up or on-stack replacement) can land in one
    /// run; an allocation per call shows in every run.
    /// </summary>
    public static long Least(Action action, int runs = 5)
    {
        var least = long.MaxValue;
        for (var run = 0; run < runs && least != 0; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            action();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }
}

/// <summary>Finds the repository (the folder holding VtapCollector.sln) to read its docs.</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VtapCollector.sln")))
            {
                return directory.FullName;
            }
        }

        // Built with --artifacts-path elsewhere: tests/Directory.Build.props records where the repository is.
        var recorded = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "VtapCollector.sln")))
        {
            return recorded;
        }

        throw new InvalidOperationException("The repository root (the folder with VtapCollector.sln) was not found above the test output.");
    }
}
