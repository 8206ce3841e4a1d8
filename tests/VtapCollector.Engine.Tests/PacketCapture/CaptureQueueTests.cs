using VtapCollector.Decoding;
using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Engine.Tests.PacketCapture;

/// <summary>The queue from the receiving threads to the capture writer: whole frames, in order, never more than it holds.</summary>
public class CaptureQueueTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Frames_CutToTheSlot_ComeOutWholeAndInOrder_AndAFullQueueRefuses(bool singleProducer)
    {
        // A slot size that is not a whole number of cache lines, and frames longer than it.
        var queue = new CaptureQueue(4, 100, singleProducer);
        for (var i = 0; i < 4; i++)
        {
            var data = Enumerable.Range(0, 60 + (i * 30)).Select(b => (byte)(b + i)).ToArray();
            Assert.True(queue.TryEnqueue(i == 1 ? [0xAA, 0xBB] : default, data, Frame(i)));
        }

        Assert.False(queue.TryEnqueue(default, new byte[10], Frame(99)));
        for (var i = 0; i < 4; i++)
        {
            Assert.True(queue.TryPeek(out var frame, out var bytes));
            var data = Enumerable.Range(0, 60 + (i * 30)).Select(b => (byte)(b + i)).ToArray();
            var expected = (i == 1 ? new byte[] { 0xAA, 0xBB }.Concat(data) : data).Take(100).ToArray();
            Assert.Equal(expected, bytes.ToArray());
            Assert.Equal(expected.Length, frame.Length);
            Assert.Equal(i * 1000L, frame.TimestampNanos);
            Assert.Equal((uint)(100 + i), frame.Vni);
            Assert.Equal(IpAddress.FromIPv4(0x0A000001u + (uint)i), frame.TunnelSource);
            queue.Release();
        }

        Assert.False(queue.TryPeek(out _, out _));
        Assert.True(queue.TryEnqueue(default, new byte[10], Frame(5)));
    }

    [Fact]
    public void Two_receiving_threads_and_the_writer_pass_every_frame_without_loss_or_mixing()
    {
        // Two producers claim slots with compare-and-swap while the writer drains: each frame's bytes
        // are its producer's and sequence number, so a slot published before its bytes landed shows.
        const int PerProducer = 100_000;
        var queue = new CaptureQueue(64, 256);
        var producers = Enumerable.Range(0, 2).Select(p => new Thread(() =>
        {
            var data = new byte[200];
            for (var i = 0; i < PerProducer; i++)
            {
                BitConverter.TryWriteBytes(data, (p * PerProducer) + i);
                data[199] = (byte)p;
                while (!queue.TryEnqueue(default, data, Frame(p)))
                {
                    Thread.Yield();
                }
            }
        })).ToArray();
        foreach (var producer in producers)
        {
            producer.Start();
        }

        var next = new int[2];
        var deadline = Environment.TickCount64 + 60_000;
        while (next[0] + next[1] < 2 * PerProducer && Environment.TickCount64 < deadline)
        {
            if (!queue.TryPeek(out var frame, out var bytes))
            {
                Thread.Yield();
                continue;
            }

            var producer = bytes[199];
            Assert.Equal((uint)(100 + producer), frame.Vni);
            Assert.Equal((producer * PerProducer) + next[producer], BitConverter.ToInt32(bytes));
            next[producer]++;
            queue.Release();
        }

        Assert.All(producers, p => Assert.True(p.Join(TimeSpan.FromSeconds(10))));
        Assert.Equal([PerProducer, PerProducer], next);
    }

    private static CapturedFrame Frame(int i) => new()
    {
        TimestampNanos = i * 1000L,
        OriginalLength = 1500,
        LinkType = LinkType.Ethernet,
        Tunnel = TunnelKind.Vxlan,
        Vni = (uint)(100 + i),
        TunnelSource = IpAddress.FromIPv4(0x0A000001u + (uint)i),
        TunnelIpVersion = 4,
    };
}
