using System.Net;
using VtapCollector.Capture.Live;

namespace VtapCollector.Capture.Tests.Live;

/// <summary>
/// libpcap as the oracle for the AF_PACKET source: both open on the same interface at once and must
/// deliver the same frames, byte for byte and with the same lengths, VLAN tags included (both put
/// back the tag the kernel takes out on receive).
/// </summary>
public sealed class LiveSourcesAgreeTests
{
    [Fact]
    public void AfPacket_and_libpcap_deliver_the_same_frames_for_the_same_traffic()
    {
        using var pair = VethPair.Create();
        using var afPacket = pair.InCapture(() => new AfPacketSource(new AfPacketSourceOptions
        {
            Interface = pair.CaptureInterface,
            BlockSizeBytes = 64 * 1024,
            BlockCount = 16,
            BlockTimeoutMilliseconds = 5,
        }));
        using var pcap = pair.InCapture(() => new PcapLiveSource(new PcapLiveSourceOptions
        {
            Interface = pair.CaptureInterface,
            BufferSizeBytes = 4 * 1024 * 1024,
            TimeoutMilliseconds = 5,
        }));
        var sent = LiveTraffic.Mixed(64);
        var tagged = new[]
        {
            InjectedFrames.Frame([(0x8100, 100)], 0x0800, InjectedFrames.V4(17, 0, [], InjectedFrames.UdpSegment(40001, 4789, 300, 1))),
            InjectedFrames.Frame([(0x8100, 0x2000 | 4000)], 0x86dd, InjectedFrames.V6(17, InjectedFrames.UdpSegment(40001, 6081, 200, 2))),
        };

        pair.SendUdp(sent);
        pair.Inject(tagged);
        var expected = sent.Count(LiveTraffic.IsTunnel) + tagged.Length;
        var fromAfPacket = LiveTest.Drain((ref RecordingHandler handler, int timeout) => afPacket.ReceiveBatch(ref handler, timeout), expected);
        var fromPcap = LiveTest.Drain((ref RecordingHandler handler, int timeout) => pcap.ReceiveBatch(ref handler, timeout), expected);

        Assert.Equal(expected, fromAfPacket.Count);
        Assert.Equal(expected, fromPcap.Count);
        for (var i = 0; i < expected; i++)
        {
            Assert.Equal(fromPcap[i].Data, fromAfPacket[i].Data);
            Assert.Equal(fromPcap[i].OriginalLength, fromAfPacket[i].OriginalLength);
            Assert.Equal(fromPcap[i].LinkType, fromAfPacket[i].LinkType);

            // Both read the kernel's receive stamp of the same skb.
            Assert.Equal(fromPcap[i].TimestampNanos, fromAfPacket[i].TimestampNanos);
        }

        Assert.Equal(tagged, fromAfPacket.TakeLast(2).Select(packet => packet.Data));
    }
}
