namespace VtapCollector.Flows.Tests;

/// <summary>
/// The double-tap rule: another tap's copy inside the window is removed, a repeat from the same tap
/// counts, copies outside the window count (and are reported as late when another tap sent them),
/// a third tap's copy is removed, and a full bucket replaces its oldest entry, counted.
/// </summary>
public class DuplicateFilterTests
{
    private const uint TapA = 0x0A00_0001;
    private const uint TapB = 0x0A00_0002;
    private const uint TapC = 0x0A00_0003;
    private const long Window = 2_000_000; // 2 ms
    private const long T0 = 1_700_000_000_000_000_000L;

    private readonly DuplicateFilter _filter = new(1024, Window);

    [Fact]
    public void IsDuplicate_OtherTapWithinWindow_IsDuplicate()
    {
        Assert.False(_filter.IsDuplicate(42, TapA, T0));
        Assert.True(_filter.IsDuplicate(42, TapB, T0 + 300_000));
        Assert.Equal(0, _filter.LateCopies);
    }

    [Fact]
    public void IsDuplicate_SameTapWithinWindow_CountsAsARealRepeat()
    {
        Assert.False(_filter.IsDuplicate(42, TapA, T0));
        Assert.False(_filter.IsDuplicate(42, TapA, T0 + 100_000));
    }

    [Fact]
    public void IsDuplicate_OtherTapAfterWindow_CountsAndIsReportedLate()
    {
        Assert.False(_filter.IsDuplicate(42, TapA, T0));
        Assert.False(_filter.IsDuplicate(42, TapB, T0 + Window + 1));
        Assert.Equal(1, _filter.LateCopies);
    }

    [Fact]
    public void IsDuplicate_SameTapAfterWindow_CountsAndIsNotLate()
    {
        Assert.False(_filter.IsDuplicate(42, TapA, T0));
        Assert.False(_filter.IsDuplicate(42, TapA, T0 + (10 * Window)));
        Assert.Equal(0, _filter.LateCopies);
    }

    [Fact]
    public void IsDuplicate_LaterTapsCopyFirstInAMergedCapture_IsStillWithinTheWindow()
    {
        Assert.False(_filter.IsDuplicate(42, TapB, T0 + 500_000));
        Assert.True(_filter.IsDuplicate(42, TapA, T0));
    }

    [Fact]
    public void IsDuplicate_SameBytesAgainAndEachTapHandledInTurn_CountsEachSendingOnce()
    {
        // A packet sent again 10 ms later (a repeated report); the worker handles tap A's queue, then B's.
        var counted = new[] { (TapA, 0L), (TapA, 10_000_000L), (TapB, 1_000_000L), (TapB, 11_000_000L) }
            .Count(copy => !_filter.IsDuplicate(5, copy.Item1, T0 + copy.Item2));
        Assert.Equal(2, counted);
        Assert.Equal(0, _filter.LateCopies);
    }

    [Fact]
    public void IsDuplicate_ThreeTapsOfOnePacket_CountsItOnce()
    {
        var counted = new[] { (TapA, 0L), (TapB, 200_000L), (TapC, 400_000L) }
            .Count(copy => !_filter.IsDuplicate(7, copy.Item1, T0 + copy.Item2));
        Assert.Equal(1, counted);
    }

    [Theory]
    [InlineData("ABAB")] // a duplicate on the wire before both taps, copies interleaved
    [InlineData("AABB")]
    [InlineData("ABBA")]
    [InlineData("BAAB")]
    [InlineData("ABB")] // a duplicate made between the taps: the second tap saw it twice
    [InlineData("BBA")]
    [InlineData("AAB")] // seen twice by the first tap only
    public void IsDuplicate_PacketOnTheWireTwice_CountsTheMostCopiesAnyTapSaw(string order)
    {
        var counted = 0;
        for (var i = 0; i < order.Length; i++)
        {
            counted += _filter.IsDuplicate(99, order[i] == 'A' ? TapA : TapB, T0 + (i * 100_000L)) ? 0 : 1;
        }

        var expected = Math.Max(order.Count(c => c == 'A'), order.Count(c => c == 'B'));
        Assert.Equal(expected, counted);
    }

    [Fact]
    public void IsDuplicate_DifferentSignatures_AreDifferentPackets()
    {
        Assert.False(_filter.IsDuplicate(1, TapA, T0));
        Assert.False(_filter.IsDuplicate(2, TapB, T0));
    }

    [Fact]
    public void IsDuplicate_FullBucket_ReplacesTheOldestAndCountsItWhileInsideTheWindow()
    {
        var filter = new DuplicateFilter(DuplicateFilter.Ways, Window); // one bucket
        for (var i = 0; i < DuplicateFilter.Ways; i++)
        {
            Assert.False(filter.IsDuplicate((ulong)(i + 1), TapA, T0 + i));
        }

        // A fifth packet takes the oldest way (signature 1) while it is still inside the window.
        Assert.False(filter.IsDuplicate(100, TapA, T0 + DuplicateFilter.Ways));
        Assert.Equal(1, filter.Overwritten);

        // Signature 1 is forgotten: tap B's copy counts again (the cost of a table too small), and
        // takes the way of signature 2, the oldest now; signature 3 is still remembered.
        Assert.False(filter.IsDuplicate(1, TapB, T0 + 10));
        Assert.Equal(2, filter.Overwritten);
        Assert.True(filter.IsDuplicate(3, TapB, T0 + 10));
    }

    [Fact]
    public void IsDuplicate_FullBucketAfterTheWindow_ReplacesWithoutCounting()
    {
        var filter = new DuplicateFilter(DuplicateFilter.Ways, Window);
        for (var i = 0; i < DuplicateFilter.Ways; i++)
        {
            filter.IsDuplicate((ulong)(i + 1), TapA, T0);
        }

        filter.IsDuplicate(100, TapA, T0 + Window + 1);
        Assert.Equal(0, filter.Overwritten);
    }

    [Fact]
    public void MemoryBytes_IsThirtyTwoBytesAnEntry()
    {
        Assert.Equal(32, DuplicateFilter.EntryBytes);
        Assert.Equal(1024 * 32, _filter.MemoryBytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(1000)]
    public void Constructor_EntriesNotAPowerOfTwoOfAtLeastOneBucket_Throws(int entries) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DuplicateFilter(entries, Window));
}
