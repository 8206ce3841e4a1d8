using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Workers;

namespace VtapCollector.Engine.Tests;

public class LabelIndexTests
{
    [Fact]
    public void First_keys_get_their_own_index_later_ones_the_overflow()
    {
        var index = new LabelIndex<uint>(3);

        Assert.Equal(0, index.IndexOf(100, 100));
        Assert.Equal(1, index.IndexOf(7, 7));
        Assert.Equal(0, index.IndexOf(100, 100));
        Assert.Equal(2, index.IndexOf(5, 5));
        Assert.Equal(3, index.IndexOf(9, 9));
        Assert.Equal(3, index.IndexOf(10, 10));
        Assert.Equal(1, index.IndexOf(7, 7));
        Assert.Equal(3, index.Count);
        Assert.Equal(7u, index.KeyAt(1));
    }

    [Fact]
    public void Colliding_hashes_still_give_distinct_indexes()
    {
        var index = new LabelIndex<uint>(8);

        Assert.Equal(0, index.IndexOf(1, 42));
        Assert.Equal(1, index.IndexOf(2, 42));
        Assert.Equal(2, index.IndexOf(3, 42));
        Assert.Equal(1, index.IndexOf(2, 42));
    }

    [Fact]
    public void Concurrent_first_sightings_give_each_key_one_index()
    {
        var index = new LabelIndex<uint>(1000);
        var seen = new int[4][];
        Parallel.For(0, 4, t =>
        {
            seen[t] = new int[500];
            for (uint key = 0; key < 500; key++)
            {
                seen[t][key] = index.IndexOf(key, (int)(key * 2654435761u));
            }
        });

        Assert.Equal(500, index.Count);
        for (var t = 1; t < 4; t++)
        {
            Assert.Equal(seen[0], seen[t]);
        }

        Assert.Equal(500, seen[0].Distinct().Count());
    }

    [Fact]
    public void Limit_zero_counts_everything_as_other()
    {
        var index = new LabelIndex<uint>(0);

        Assert.Equal(0, index.IndexOf(5, 5));
        Assert.Equal(0, index.Count);
    }
}
