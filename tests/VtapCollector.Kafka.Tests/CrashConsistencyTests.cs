using System.Diagnostics;
using System.Globalization;
using System.Text;
using VtapCollector.Export.Formats;
using VtapCollector.Flows;
using Xunit.Abstractions;

namespace VtapCollector.Kafka.Tests;

/// <summary>
/// The sink's durability guarantee against kill -9: the crash harness writes numbered records through a
/// <see cref="KafkaSink"/> to the in-process mock cluster and is killed at random moments — during a broker
/// outage, while it replays its log after a restart, and in steady state — then restarted on the same log
/// until it has drained; the topic is then read back with a real consumer.
/// </summary>
public sealed class CrashConsistencyTests(ITestOutputHelper output)
{
    private const int Flows = 97;
    private const long RunStride = 10_000_000;

    // Many partitions: the mock cluster keeps only a few megabytes per partition, and the test reads back every record.
    private const int Partitions = 24;

    /// <summary>Kill -9 at random moments, in every phase, many times: what the guarantee covers arrives, and duplicates stay within its bound.</summary>
    [Fact]
    public void KilledAtRandomMoments_EveryRecordAcceptedBeforeAFlushArrives_DuplicatesStayWithinTheCheckpointBound()
    {
        var seed = Environment.GetEnvironmentVariable("VTAP_CRASH_SEED") is { } fixedSeed
            ? int.Parse(fixedSeed, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        var budget = TimeSpan.FromSeconds(Environment.GetEnvironmentVariable("VTAP_CRASH_SECONDS") is { } seconds
            ? int.Parse(seconds, CultureInfo.InvariantCulture)
            : 70);
        var rounds = Environment.GetEnvironmentVariable("VTAP_CRASH_ROUNDS") is { } count
            ? int.Parse(count, CultureInfo.InvariantCulture)
            : 1;
        output.WriteLine($"seed {seed} (VTAP_CRASH_SEED={seed} repeats this run), {rounds} rounds of {budget.TotalSeconds} s");
        var random = new Random(seed);
        using var cluster = new MockCluster(brokers: 3);
        for (var round = 0; round < rounds; round++)
        {
            KillRestartAndVerify(cluster, random, budget);
        }
    }

    /// <summary>
    /// One round on a fresh log and topic: kills for <paramref name="budget"/>, a drain, the topic read back.
    /// (A soak runs many rounds, VTAP_CRASH_ROUNDS, so that no topic outgrows what the mock cluster keeps.)
    /// </summary>
    private void KillRestartAndVerify(MockCluster cluster, Random random, TimeSpan budget)
    {
        using var spool = new TempDirectory();
        var topic = cluster.CreateTopic(partitions: Partitions);
        var runs = new List<HarnessProcess>();
        var clock = Stopwatch.StartNew();
        var iterations = 0;
        var killsDuringReplay = 0;
        try
        {
            while (clock.Elapsed < budget && iterations < 100)
            {
                // An outage: everything waits in the log; killed anywhere from start-up on.
                cluster.AllDown();
                var outage = Run(runs, cluster, topic, spool, perSecond: 20_000);
                Thread.Sleep(random.Next(200, 2_000));
                outage.Kill();

                // Brokers back, a restart replays the log: killed shortly after the sink opened, mostly mid-replay.
                cluster.AllUp();
                var replay = Run(runs, cluster, topic, spool, perSecond: 5_000);
                Assert.True(replay.WaitForStart(TimeSpan.FromSeconds(20)), "the harness did not start: " + replay.Errors);
                Thread.Sleep(random.Next(0, 400));
                replay.Kill();
                killsDuringReplay += replay.Recovered > 0 && replay.LastStats.Produced < replay.Recovered ? 1 : 0;

                // Steady state.
                var steady = Run(runs, cluster, topic, spool, perSecond: 5_000);
                Thread.Sleep(random.Next(200, 2_000));
                steady.Kill();
                iterations++;
            }

            var killing = clock.Elapsed;
            cluster.AllUp();
            using var drain = HarnessProcess.Drain(cluster.BootstrapServers, topic, spool.Path);
            Assert.True(drain.WaitForExit(TimeSpan.FromSeconds(90)), "the harness did not drain its log: " + drain.Errors);
            Assert.True(drain.ExitCode == 0 && drain.Drained, $"drain exited {drain.ExitCode}: {drain.Errors}");
            Assert.Equal(0, drain.TruncatedSegments);

            var (count, deleted) = TopicReader.Count(cluster.BootstrapServers, topic, Partitions, TimeSpan.FromSeconds(10));
            Assert.True(deleted == 0, $"the mock cluster's retention deleted {deleted} messages: the test wrote more than it keeps");
            var consumed = TopicReader.ReadAll(cluster.BootstrapServers, topic, Partitions, (int)count, TimeSpan.FromSeconds(120));
            Assert.Equal(count, consumed.Count);
            var arrivals = Arrivals(consumed);

            var covered = 0L;
            var missingCovered = new List<long>();
            var missingUncovered = 0L;
            var duplicates = 0L;
            var duplicateBound = 0L;
            var truncatedSegments = 0L;
            foreach (var run in runs)
            {
                Assert.Equal(0, run.Refused);
                truncatedSegments += Math.Max(0, run.TruncatedSegments);
                duplicateBound += run.DuplicateBound;
                for (var number = run.First; number < run.Flushed; number++)
                {
                    covered++;
                    if (!arrivals.ContainsKey(number))
                    {
                        missingCovered.Add(number);
                    }
                }

                // Accepted after the last Flush: not covered, may be lost.
                for (var number = run.Flushed; number < run.Accepted; number++)
                {
                    missingUncovered += arrivals.ContainsKey(number) ? 0 : 1;
                }
            }

            foreach (var (number, times) in arrivals)
            {
                var run = runs.Find(r => r.First <= number && number < r.First + RunStride);
                // Accepted, or in the batch being written when the kill came (at most 500 records).
                Assert.True(run is not null && number < run.Accepted + 500, $"record {number} arrived but was never written");
                duplicates += times - 1;
            }

            output.WriteLine($"{iterations} iterations, {runs.Count} kills ({killsDuringReplay} mid-replay) in {killing.TotalSeconds:F0} s, {clock.Elapsed.TotalSeconds:F0} s in all");
            output.WriteLine($"{covered} records covered by a Flush, {missingCovered.Count} of them missing; {missingUncovered} accepted after the last Flush of their run and lost with it");
            output.WriteLine($"{consumed.Count} messages, {duplicates} duplicates (bound {duplicateBound}); {truncatedSegments} torn segment tails cut at restarts");
            Assert.True(missingCovered.Count == 0, $"{missingCovered.Count} records accepted before a Flush never arrived, first {string.Join(", ", missingCovered.Take(10))} (torn tails cut: {truncatedSegments})");
            Assert.InRange(duplicates, 0, duplicateBound);
            Assert.True(covered > 0);
            Assert.True(killsDuringReplay > 0, "no kill came during a replay");
        }
        finally
        {
            foreach (var run in runs)
            {
                run.Dispose();
            }
        }
    }

    private static HarnessProcess Run(List<HarnessProcess> runs, MockCluster cluster, string topic, TempDirectory spool, int perSecond)
    {
        var run = HarnessProcess.Write(cluster.BootstrapServers, topic, spool.Path, runs.Count * RunStride, perSecond);
        runs.Add(run);
        return run;
    }

    /// <summary>How many times each record number arrived: record n is flow n % 97 (the message key) with seq n / 97.</summary>
    private static Dictionary<long, int> Arrivals(List<Consumed> consumed)
    {
        var flows = new Dictionary<string, int>(StringComparer.Ordinal);
        Span<byte> key = stackalloc byte[KafkaSink.MaxKeyLength];
        for (var flow = 0; flow < Flows; flow++)
        {
            var record = new FlowRecord { Vni = 7000, FlowId = 0x9E37_79B9_7F4A_7C15UL * (ulong)(flow + 1) };
            flows[Encoding.ASCII.GetString(key[..FlowIdText.Format(record, key)])] = flow;
        }

        var arrivals = new Dictionary<long, int>();
        foreach (var message in consumed)
        {
            var start = message.Value.IndexOf("\"seq\":", StringComparison.Ordinal) + 6;
            var end = message.Value.IndexOfAny([',', '}'], start);
            var number = (long.Parse(message.Value.AsSpan(start, end - start), CultureInfo.InvariantCulture) * Flows) + flows[message.Key];
            arrivals[number] = arrivals.GetValueOrDefault(number) + 1;
        }

        return arrivals;
    }
}
