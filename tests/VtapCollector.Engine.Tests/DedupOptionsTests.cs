using VtapCollector.Engine.Ingress;

namespace VtapCollector.Engine.Tests;

/// <summary>The Dedup section's checks, one sentence each, and the VNI group map the ingress applies.</summary>
public class DedupOptionsTests
{
    [Fact]
    public void Validate_Defaults_AreValid() => Assert.Null(new DedupOptions().Validate());

    [Theory]
    [InlineData(0, 65536, "Dedup:WindowMicroseconds")]
    [InlineData(2_000_000, 65536, "Dedup:WindowMicroseconds")]
    [InlineData(5000, 1000, "Dedup:TableEntries")]
    [InlineData(5000, 2, "Dedup:TableEntries")]
    public void Validate_OutOfRange_NamesTheKey(int window, int entries, string key)
    {
        var error = new DedupOptions { WindowMicroseconds = window, TableEntries = entries }.Validate();
        Assert.NotNull(error);
        Assert.StartsWith(key, error, StringComparison.Ordinal);
        Assert.EndsWith(".", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_GroupOfOne_IsRefused() =>
        Assert.Contains("at least two VNIs", new DedupOptions { VniGroups = [[4242]] }.Validate(), StringComparison.Ordinal);

    [Fact]
    public void Validate_VniInTwoGroups_IsRefused() =>
        Assert.Contains("VNI 2 is in more than one group", new DedupOptions { VniGroups = [[1, 2], [2, 3]] }.Validate(), StringComparison.Ordinal);

    [Fact]
    public void Validate_VniOverTwentyFourBits_IsRefused() =>
        Assert.Contains("24 bits", new DedupOptions { VniGroups = [[1, 0x100_0000]] }.Validate(), StringComparison.Ordinal);

    [Fact]
    public void Canonical_GroupedVnis_MapToTheGroupsFirstAndOthersStay()
    {
        var groups = VniGroups.Create([[4243, 4242, 7], [100, 200]])!;
        Assert.Equal([4243u, 4243u, 4243u, 100u, 100u, 5u, 0u, 4244u], new uint[] { 4243, 4242, 7, 100, 200, 5, 0, 4244 }.Select(groups.Canonical));
    }

    [Fact]
    public void Create_NoGroups_IsNull() => Assert.Null(VniGroups.Create([]));
}
