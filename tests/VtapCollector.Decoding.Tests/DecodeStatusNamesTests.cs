using System.Text.RegularExpressions;

namespace VtapCollector.Decoding.Tests;

public class DecodeStatusNamesTests
{
    public static TheoryData<DecodeStatus> AllStatuses()
    {
        var data = new TheoryData<DecodeStatus>();
        for (var i = 0; i < (int)DecodeStatus.Count; i++)
        {
            data.Add((DecodeStatus)i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllStatuses))]
    public void ToLabel_EveryStatus_IsSnakeCase(DecodeStatus status)
    {
        Assert.Matches(new Regex("^[a-z][a-z0-9]*(_[a-z0-9]+)*$"), status.ToLabel());
    }

    [Theory]
    [MemberData(nameof(AllStatuses))]
    public void ToLabel_EveryStatus_IsTheEnumNameWithUnderscores(DecodeStatus status)
    {
        Assert.Equal(status.ToString().ToUpperInvariant(), status.ToLabel().Replace("_", string.Empty, StringComparison.Ordinal).ToUpperInvariant());
    }

    [Fact]
    public void ToLabel_AllStatuses_AreUnique()
    {
        var labels = Enumerable.Range(0, (int)DecodeStatus.Count).Select(i => ((DecodeStatus)i).ToLabel()).ToList();

        Assert.Equal(labels.Count, labels.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(DecodeStatus.Ok, "ok")]
    [InlineData(DecodeStatus.Arp, "arp")]
    [InlineData(DecodeStatus.VxlanFlagNotSet, "vxlan_flag_not_set")]
    [InlineData(DecodeStatus.Ipv4Truncated, "ipv4_truncated")]
    [InlineData(DecodeStatus.TooManyLayers, "too_many_layers")]
    [InlineData(DecodeStatus.Icmpv6Truncated, "icmpv6_truncated")]
    [InlineData(DecodeStatus.Sll2Truncated, "sll2_truncated")]
    [InlineData(DecodeStatus.VxlanGpeUnsupported, "vxlan_gpe_unsupported")]
    [InlineData(DecodeStatus.Ipv6TooManyExtensionHeaders, "ipv6_too_many_extension_headers")]
    [InlineData(DecodeStatus.GreUnsupported, "gre_unsupported")]
    public void ToLabel_SpotValues_AreStable(DecodeStatus status, string expected)
    {
        Assert.Equal(expected, status.ToLabel());
    }

    [Theory]
    [InlineData(DecodeStatus.Count)]
    [InlineData((DecodeStatus)200)]
    public void ToLabel_OutOfRange_ReturnsUnknown(DecodeStatus status)
    {
        Assert.Equal("unknown", status.ToLabel());
    }

    [Fact]
    public void ToLabel_SameStatusTwice_ReturnsSameInstance()
    {
        // Labels are built once: metrics code may call this per packet.
        Assert.Same(DecodeStatus.Ipv6Truncated.ToLabel(), DecodeStatus.Ipv6Truncated.ToLabel());
    }

    [Fact]
    public void Values_OkIsZeroAndValuesAreContiguous()
    {
        // Statuses index counter arrays: they must be 0..Count-1 without gaps.
        var values = Enum.GetValues<DecodeStatus>().Select(v => (int)v).Order().ToArray();

        Assert.Equal(0, (int)DecodeStatus.Ok);
        Assert.Equal(Enumerable.Range(0, (int)DecodeStatus.Count + 1), values);
    }
}
