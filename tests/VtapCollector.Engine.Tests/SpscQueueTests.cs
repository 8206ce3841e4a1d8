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
