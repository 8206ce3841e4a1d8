using System.Buffers.Binary;
using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Workers;

namespace VtapCollector.Engine.Tests;

/// <summary>The receiving side of the packet path on its own: allow-lists, reasons, per-label counters, and what a full queue does.</summary>
public class PacketIngressTests
{
    /// <summary>
    /// A VXLAN payload as a socket delivers it: VXLAN header (flags 0x08 = I, VNI), inner Ethernet
    /// (dst, src, EtherType 0x0800), IPv4 (20 bytes, protocol 17), UDP (8 bytes), no payload.
    /// </summary>
    private static byte[] VxlanPayload(uint vni, byte lastSourceOctet)
    {
        var payload = new byte[8 + 14 + 20 + 8];
        payload[0] = 0x08;                                                   // VXLAN: I flag (RFC 7348 section 5)
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), vni << 8);   // VNI, then a reserved byte
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(8 + 12), 0x0800); // inner EtherType IPv4
        var ip = payload.AsSpan(8 + 14);
        ip[0] = 0x45;                                                        // version 4, IHL 5
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 28);                  // total length: IP + UDP
        ip[8] = 64;                                                          // TTL
        ip[9] = 17;                                                          // UDP
        ip[12..16].Fill(10);
        ip[15] = lastSourceOctet;                                            // source 10.10.10.x
        ip[16] = 10; ip[17] = 20; ip[18] = 0; ip[19] = 1;                    // destination 10.20.0.1
        var udp = payload.AsSpan(8 + 14 + 20);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);                   // source port
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 53);                 // destination port
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], 8);                  // UDP length
        return payload;
    }

    private static (PacketIngress Ingress, SpscQueue<QueuedPacket> Queue, AllowListHolder Allow) Create(
        OverflowPolicy overflow = OverflowPolicy.DropNewest, int capacity = 64, int vniLabels = 4)
    {
        var queue = new SpscQueue<QueuedPacket>(capacity);
        var allow = new AllowListHolder(AllowList.Open);
        var ingress = new PacketIngress(
            new PacketDecoder(), allow, [queue], overflow, new ReceiverCounters("udp", vniLabels, 4),
            new LabelIndex<uint>(vniLabels), new LabelIndex<IpAddress>(4), new StopSignal());
        return (ingress, queue, allow);
    }

    /// <summary>A datagram from <paramref name="source"/> to the collector's 192.0.2.9 (the destination the kernel reports with IP_PKTINFO).</summary>
    private static ReceivedDatagram From(string source) =>
        new(IpAddress.Parse(source), 4, 4789, 4789, 1_000, true, false) { Destination = IpAddress.Parse("192.0.2.9"), DestinationIpVersion = 4 };

    [Fact]
    public void TunnelDestination_IsTheDatagramsOwnDestinationNotTheBoundAddress()
    {
        var (ingress, queue, _) = Create();
        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload(100, 1));
        ingress.Flush(); // as a source thread does after each batch it receives

        Assert.Equal(1, queue.Available(out var first));
        Assert.Equal(IpAddress.Parse("192.0.2.9"), queue[first].Packet.TunnelDestination);
        Assert.Equal(IpAddress.Parse("192.0.2.1"), queue[first].Packet.TunnelSource);
    }

    [Fact]
    public void Full_queue_with_drop_newest_counts_every_packet_it_drops()
    {
        var (ingress, queue, _) = Create(OverflowPolicy.DropNewest, capacity: 64);
        var payload = VxlanPayload(100, 1);

        for (var i = 0; i < 100; i++)
        {
            ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), payload);
        }

        ingress.Flush(); // as a source thread does after each batch it receives

        Assert.Equal(64, queue.Count);
        Assert.Equal(36, ingress.Counters.DispatchDropped);
        Assert.Equal(100, ingress.Counters.VniPackets[0]);
    }

    [Fact]
    public void Full_queue_with_block_waits_for_the_worker_and_drops_nothing()
    {
        var (ingress, queue, _) = Create(OverflowPolicy.Block, capacity: 64);
        var payload = VxlanPayload(100, 1);
        var consumer = new Thread(() =>
        {
            var taken = 0;
            var deadline = Environment.TickCount64 + 30_000;
            while (taken < 1000 && Environment.TickCount64 < deadline)
            {
                var available = queue.Available(out _);
                queue.Release(available);
                taken += available;
                Thread.Sleep(1);
            }
        });
        consumer.Start();

        for (var i = 0; i < 1000; i++)
        {
            ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), payload);
        }

        ingress.Flush(); // as a source thread does after each batch it receives

        Assert.True(consumer.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, ingress.Counters.DispatchDropped);
    }

    [Fact]
    public void Sources_outside_the_allow_list_are_counted_before_decoding_and_never_queued()
    {
        var (ingress, queue, allow) = Create();
        allow.Current = AllowList.TryCreate(["192.0.2.0/24"], [], out _)!;

        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("198.51.100.7"), VxlanPayload(100, 1));
        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("198.51.100.7"), [0xFF]);
        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.44"), VxlanPayload(100, 1));
        ingress.Flush(); // as a source thread does after each batch it receives

        Assert.Equal(2, ingress.Counters.Rejected[RejectReason.SourceNotAllowed]);
        Assert.Equal(0, ingress.Counters.Rejected[(int)DecodeStatus.VxlanTruncated]);
        Assert.Equal(1, queue.Count);
        Assert.Equal(1, ingress.Counters.TunnelSourcePackets[0]);
    }

    [Fact]
    public void Vnis_outside_the_allow_list_are_counted_and_not_queued()
    {
        var (ingress, queue, allow) = Create();
        allow.Current = AllowList.TryCreate([], [7], out _)!;

        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload(8, 1));
        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload(7, 1));
        ingress.Flush(); // as a source thread does after each batch it receives

        Assert.Equal(1, ingress.Counters.Rejected[RejectReason.VniNotAllowed]);
        Assert.Equal(1, queue.Count);
        Assert.Equal(7u, queue[0].Packet.Vni);
    }

    [Fact]
    public void Malformed_payloads_are_counted_under_their_decoder_reason()
    {
        var (ingress, queue, _) = Create();
        var noIFlag = VxlanPayload(100, 1);
        noIFlag[0] = 0;

        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload(100, 1).AsSpan(0, 5));
        ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), noIFlag);
        ingress.Flush(); // as a source thread does after each batch it receives

        Assert.Equal(1, ingress.Counters.Rejected[(int)DecodeStatus.VxlanTruncated]);
        Assert.Equal(1, ingress.Counters.Rejected[(int)DecodeStatus.VxlanFlagNotSet]);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Vnis_beyond_the_label_bound_share_the_overflow_counter()
    {
        var (ingress, _, _) = Create(capacity: 64, vniLabels: 2);

        foreach (var vni in new uint[] { 10, 20, 30, 40, 10 })
        {
            ingress.OnTunnelPayload(TunnelKind.Vxlan, From("192.0.2.1"), VxlanPayload(vni, 1));
        }

        ingress.Flush(); // as a source thread does after each batch it receives

        Assert.Equal([2, 1, 2], ingress.Counters.VniPackets);
        Assert.Equal(2 * 28 + 28 + 2 * 28, ingress.Counters.VniBytes.Sum());
    }
}
