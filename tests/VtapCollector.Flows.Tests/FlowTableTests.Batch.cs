using System.Numerics;
using VtapCollector.Decoding;
using static VtapCollector.Flows.Tests.Packets;

namespace VtapCollector.Flows.Tests;

/// <summary><see cref="FlowTable.UpdateBatch"/>, the replay's path, against <see cref="FlowTable.Update"/>.</summary>
public partial class FlowTableTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void UpdateBatch_RandomTrafficInRandomBatches_GivesTheSameRecordsAndStatusesAsUpdate(int seed)
    {
        var random = new Random(seed);
        var packets = new List<DecodedPacket>();
        var times = new List<long>();
        var now = At(0);
        for (var i = 0; i < 5_000; i++)
        {
            now += random.Next(0, 50) * (NanosPerSecond / 1000);
            var n = random.Next(300);
            var client = $"10.5.{n >> 8}.{n & 255}";
            var fromClient = random.Next(3) != 0;
            var packet = random.Next(6) switch
            {
                0 => Tcp(client, (ushort)(1000 + n), Server, 80, (byte)((1 << random.Next(5)) | Ack)),
                1 => Icmp(client, Server, 8, 0),
                2 => FirstFragment(Udp(client, (ushort)(1000 + n), Server, 53, 1500), (uint)n),
                3 => LaterFragment(IpProtocol.Udp, client, Server, (uint)random.Next(300), 185, false, 300),
                _ => Udp(client, (ushort)(1000 + n), Server, 53),
            };
            if (!fromClient && (packet.Flags & PacketFlags.Fragment) == 0)
            {
                (packet.Source, packet.Destination, packet.SourcePort, packet.DestinationPort) =
                    (packet.Destination, packet.Source, packet.DestinationPort, packet.SourcePort);
            }

            packets.Add(packet);
            times.Add(now);
        }

        var options = new FlowTableOptions { Capacity = 128, ActiveTimeout = TimeSpan.FromSeconds(5), IdleTimeout = TimeSpan.FromSeconds(3) };
        var oneByOne = new RecordingWriter();
        var single = new FlowTable(options, oneByOne);
        var batched = new FlowTable(options, _writer);
        var singleStatuses = new List<DecodeStatus>();
        var batchedStatuses = new List<DecodeStatus>();
        var statuses = new DecodeStatus[64];
        var packetArray = packets.ToArray();
        var timeArray = times.ToArray();
        for (var start = 0; start < packets.Count;)
        {
            var count = Math.Min(random.Next(1, 65), packets.Count - start);
            for (var i = start; i < start + count; i++)
            {
                singleStatuses.Add(single.Update(packets[i], times[i]));
            }

            batched.UpdateBatch(packetArray.AsSpan(start, count), timeArray.AsSpan(start, count), statuses);
            batchedStatuses.AddRange(statuses.Take(count));
            start += count;
            single.Expire(times[start - 1]);
            batched.Expire(times[start - 1]);
        }

        single.FlushAll(EndReason.EndOfInput);
        batched.FlushAll(EndReason.EndOfInput);

        Assert.Equal(singleStatuses, batchedStatuses);
        Assert.Contains(DecodeStatus.FragmentWithoutFirst, batchedStatuses);
        Assert.Equal(oneByOne.Records.Count, _writer.Records.Count);
        Assert.Equal(oneByOne.Records, _writer.Records);
        Assert.Equal((single.Evictions, single.FlowsCreated, single.PeakCount), (batched.Evictions, batched.FlowsCreated, batched.PeakCount));
    }

    [Fact]
    public void UpdateBatch_MoreThan64Packets_IsRejected()
    {
        var table = NewTable();
        Assert.Throws<ArgumentException>(() => table.UpdateBatch(new DecodedPacket[65], new long[65], new DecodeStatus[65]));
    }

    [Fact]
    public void UpdateBatch_TooFewTimestampsOrStatusSlots_IsRejected()
    {
        var table = NewTable();
        Assert.Throws<ArgumentException>(() => table.UpdateBatch(new DecodedPacket[4], new long[3], new DecodeStatus[4]));
        Assert.Throws<ArgumentException>(() => table.UpdateBatch(new DecodedPacket[4], new long[4], new DecodeStatus[3]));
    }

    [Fact]
    public void UpdateBatch_EmptyBatch_DoesNothing()
    {
        var table = NewTable();
        table.UpdateBatch([], [], []);
        Assert.Equal(0, table.Count);
    }

    /// <summary>
    /// A key whose 32-bit hash is 0 homes at slot 0; while that slot is empty it reads as hash 0
    /// and entry -1. The batch's prefetch pass must not take an empty slot for a match.
    /// </summary>
    [Fact]
    public void UpdateBatch_KeyWhoseHashIsZero_IsCountedLikeAnyOther()
    {
        var packet = PacketWithZeroHash();
        var table = NewTable(new FlowTableOptions { Capacity = 64 });
        var statuses = new DecodeStatus[1];

        table.UpdateBatch([packet], [At(0)], statuses);
        table.UpdateBatch([packet], [At(1)], statuses);

        Assert.Equal(DecodeStatus.Ok, statuses[0]);
        Assert.Equal(1, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        Assert.Equal(2UL, Assert.Single(_writer.Records).PacketsSrcToDst);
    }

    [Fact]
    public void Update_KeyWhoseHashIsZero_IsCountedLikeAnyOther()
    {
        var packet = PacketWithZeroHash();
        var table = NewTable(new FlowTableOptions { Capacity = 64 });

        table.Update(packet, At(0));
        table.Update(packet, At(1));

        Assert.Equal(1, table.Count);
        table.FlushAll(EndReason.EndOfInput);
        Assert.Equal(2UL, Assert.Single(_writer.Records).PacketsSrcToDst);
    }

    /// <summary>
    /// An IPv6 UDP packet whose flow key hashes to 0: FlowKey.Hash's last step multiplies
    /// (rotl(h, 27) ^ AddressB.Hi), so choosing AddressB.Hi = rotl(h, 27) makes it 0, and the
    /// MurmurHash3 finaliser maps 0 to 0.
    /// </summary>
    private static DecodedPacket PacketWithZeroHash()
    {
        const ulong Prime1 = 0x9E3779B97F4A7C15UL;
        const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;
        const uint vni = 7;
        const ushort portA = 1000, portB = 2000;
        var a = new IpAddress(0, 1);
        const ulong bLo = 2;
        var h = ((ulong)vni << 32) ^ ((ulong)portA << 16) ^ portB ^ ((ulong)IpProtocol.Udp << 56) ^ (6UL << 48);
        h = (h ^ a.Lo) * Prime1;
        h = (BitOperations.RotateLeft(h, 29) ^ bLo) * Prime2;
        h = (BitOperations.RotateLeft(h, 31) ^ a.Hi) * Prime1;
        var b = new IpAddress(BitOperations.RotateLeft(h, 27), bLo);

        var key = FlowKey.Create(vni, 6, IpProtocol.Udp, a, portA, b, portB, out var senderIsA);
        Assert.True(senderIsA && key.Hash() == 0, "FlowKey.Hash changed: this test's key no longer hashes to 0; derive a new one");

        var packet = Udp("::1", portA, "::2", portB, 100, vni);
        packet.Source = a;
        packet.Destination = b;
        return packet;
    }
}
