using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Workers;

namespace VtapCollector.Engine.Tests;

public class SpscQueueTests
{
    [Fact]
    public void Full_queue_refuses_until_the_consumer_releases()
    {
        var queue = new SpscQueue<long>(4);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(queue.TryEnqueue(i));
        }

        Assert.False(queue.TryEnqueue(99));
        Assert.Equal(4, queue.Available(out var first));
        Assert.Equal(0, queue[first]);
        queue.Release(1);
        Assert.True(queue.TryEnqueue(4));
        Assert.Equal(4, queue.Count);
    }

    [Fact]
    public void Items_wrap_around_in_order()
    {
        var queue = new SpscQueue<int>(8);
        var next = 0;
        var expected = 0;
        for (var round = 0; round < 100; round++)
        {
            while (queue.TryEnqueue(next))
            {
                next++;
            }

            var available = queue.Available(out var first);
            var take = 1 + (round % available);
            for (var i = 0; i < take; i++)
            {
                Assert.Equal(expected++, queue[queue.Next(first, i)]);
            }

            queue.Release(take);
        }
    }

    [Fact]
    public void Two_threads_pass_a_million_items_in_order_without_loss()
    {
        const int Items = 1_000_000;
        var queue = new SpscQueue<long>(1024);
        var producer = new Thread(() =>
        {
            for (long i = 0; i < Items; i++)
            {
                while (!queue.TryEnqueue(i))
                {
                    Thread.Yield();
                }
            }
        });
        producer.Start();

        long expected = 0;
        var deadline = Environment.TickCount64 + 60_000;
        while (expected < Items && Environment.TickCount64 < deadline)
        {
            var available = queue.Available(out var first);
            for (var i = 0; i < available; i++)
            {
                Assert.Equal(expected++, queue[queue.Next(first, i)]);
            }

            queue.Release(available);
        }

        Assert.True(producer.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(Items, expected);
    }

    [Fact]
    public unsafe void Decoded_packet_slots_start_cache_lines_and_span_two()
    {
        var queue = new SpscQueue<QueuedPacket>(16);
        Assert.Equal(128, System.Runtime.CompilerServices.Unsafe.SizeOf<QueuedPacket>());
        for (var slot = 0; slot < queue.Capacity; slot++)
        {
            var address = (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref queue[slot]);
            Assert.Equal(0, address % 64);
        }
    }

    [Fact]
    public void Streamed_packets_cross_threads_whole_and_in_order()
    {
        // The producer writes with streaming stores and publishes in batches, as the ingress does; the
        // consumer checks every field it reads, so a packet published before its stores landed shows.
        const int Items = 500_000;
        var queue = new SpscQueue<QueuedPacket>(256);
        var producer = new Thread(() =>
        {
            var item = default(QueuedPacket);
            for (var i = 0; i < Items; i++)
            {
                int slot;
                while (!queue.TryClaim(out slot))
                {
                    queue.PublishStaged();
                    Thread.Yield();
                }

                item.Packet.Vni = (uint)i;
                item.Packet.IpBytes = (uint)i * 3;
                item.Packet.Signature = (ulong)i * 0x9E3779B97F4A7C15UL;
                item.TimestampNanos = i * 7L;
                queue.WriteStreaming(slot, in item);
                queue.Stage();
                if (queue.Staged >= 32)
                {
                    queue.PublishStaged();
                }
            }

            queue.PublishStaged();
        });
        producer.Start();

        var expected = 0;
        var deadline = Environment.TickCount64 + 60_000;
        while (expected < Items && Environment.TickCount64 < deadline)
        {
            var available = queue.Available(out var first);
            for (var i = 0; i < available; i++)
            {
                ref var item = ref queue[queue.Next(first, i)];
                Assert.Equal((uint)expected, item.Packet.Vni);
                Assert.Equal((uint)expected * 3, item.Packet.IpBytes);
                Assert.Equal((ulong)expected * 0x9E3779B97F4A7C15UL, item.Packet.Signature);
                Assert.Equal(expected * 7L, item.TimestampNanos);
                Assert.False(item.IsTick);
                expected++;
            }

            queue.Release(available);
        }

        Assert.True(producer.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(Items, expected);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void Capacity_must_be_a_power_of_two(int capacity)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpscQueue<int>(capacity));
    }
}
