using System.Diagnostics;
using System.Globalization;
using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Sources;
using VtapCollector.Engine.Workers;

namespace VtapCollector.Benchmarks;

/// <summary>
/// What handing decoded packets to another core costs the reading thread: a capture is read,
/// decoded and dispatched by the engine's ingress into a worker queue, once with a consumer thread
/// reading every packet off the queue (as a flow worker does) and once with the queue emptied on the
/// reading thread itself (no hand-off at all). The difference is the cross-core traffic the queue
/// causes; the reading thread's wall time is printed per round and as medians.
/// Usage: handoff --input FILE [--rounds N]
/// </summary>
internal static class HandoffCommand
{
    public static int Run(string[] args)
    {
        string? input = null;
        var rounds = 3;
        for (var i = 1; i < args.Length - 1; i += 2)
        {
            switch (args[i])
            {
                case "--input": input = args[i + 1]; break;
                case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
            }
        }

        if (input is null)
        {
            Console.Error.WriteLine("Usage: handoff --input FILE [--rounds N]");
            return 2;
        }

        var times = new Dictionary<string, List<double>> { ["consumer thread"] = [], ["same thread"] = [] };
        for (var round = 0; round <= rounds; round++)
        {
            foreach (var mode in times.Keys)
            {
                var seconds = Time(input, mode == "consumer thread", out var packets, out var bytes);
                if (round > 0)
                {
                    // Round 0 only compiles and warms.
                    times[mode].Add(seconds);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round}, {mode}: {seconds:F3} s for {packets:N0} packets ({bytes:N0} IP bytes dispatched)"));
                }
            }
        }

        foreach (var (mode, list) in times)
        {
            list.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mode}: median {list[list.Count / 2]:F3} s"));
        }

        return 0;
    }

    private static double Time(string input, bool consumerThread, out long packets, out long bytes)
    {
        var queue = new SpscQueue<QueuedPacket>(1 << 16);
        var ingress = new PacketIngress(
            new PacketDecoder(), new AllowListHolder(AllowList.Open), [queue], OverflowPolicy.Block,
            new ReceiverCounters("file", 256, 256), new LabelIndex<uint>(256), new LabelIndex<IpAddress>(256), new StopSignal(),
            EngineClock.Packet);
        var consumer = new Consumer(queue);
        var thread = consumerThread ? new Thread(consumer.Run) { Name = "handoff-consumer" } : null;
        thread?.Start();

        using var file = new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var reader = new CaptureReader(file);
        var stopwatch = Stopwatch.StartNew();
        if (thread is null)
        {
            reader.ReadAllAsync(new SameThreadHandler(ingress, consumer)).GetAwaiter().GetResult();
        }
        else
        {
            reader.ReadAllAsync(new FrameHandler(ingress)).GetAwaiter().GetResult();
        }

        ingress.Flush();
        var seconds = stopwatch.Elapsed.TotalSeconds;
        consumer.Finish();
        thread?.Join();
        consumer.Take();
        packets = reader.Packets;
        bytes = consumer.Bytes;
        return seconds;
    }

    /// <summary>Reads every queued packet, as a flow worker does, and sums its IP bytes.</summary>
    private sealed class Consumer(SpscQueue<QueuedPacket> queue)
    {
        private volatile bool _finished;

        public long Bytes { get; private set; }

        public void Finish() => _finished = true;

        public void Run()
        {
            while (true)
            {
                var finished = _finished;
                if (Take() == 0)
                {
                    if (finished)
                    {
                        return;
                    }

                    Thread.Yield();
                }
            }
        }

        public int Take()
        {
            var available = queue.Available(out var first);
            long bytes = 0;
            for (var i = 0; i < available; i++)
            {
                bytes += queue[queue.Next(first, i)].Packet.IpBytes;
            }

            queue.Release(available);
            Bytes += bytes;
            return available;
        }
    }

    private readonly struct SameThreadHandler(PacketIngress ingress, Consumer consumer) : IPacketHandler
    {
        public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data)
        {
            ingress.OnFrame(packet, data);
            consumer.Take();
        }
    }
}
