namespace VtapCollector.Decoding.Tests;

public class EthernetHeaderTests
{
    private const int MaxTags = 4;

    [Fact]
    public void TryRead_Untagged_ReturnsEtherTypeAndFourteenByteHeader()
    {
        var frame = Hex.Parse(
            "00 00 5e 00 53 01" + // destination MAC
            "00 00 5e 00 53 02" + // source MAC
            "86 dd");             // EtherType IPv6

        var status = EthernetHeader.TryRead(frame, MaxTags, out var header);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(EtherTypes.Ipv6, header.EtherType);
        Assert.Equal(0, header.Vlan);
        Assert.Equal(14, header.HeaderLength);
    }

    [Fact]
    public void TryRead_Dot1QTag_ReturnsVlanIdWithoutPriorityBits()
    {
        var frame = Hex.Parse(
            "00 00 5e 00 53 01" + // destination MAC
            "00 00 5e 00 53 02" + // source MAC
            "81 00" +             // TPID 802.1Q
            "f0 64" +             // TCI: PCP 7, DEI 1, VID 100
            "08 00");             // EtherType IPv4

        var status = EthernetHeader.TryRead(frame, MaxTags, out var header);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(EtherTypes.Ipv4, header.EtherType);
        Assert.Equal(100, header.Vlan);
        Assert.Equal(18, header.HeaderLength);
    }

    [Theory]
    [InlineData(EtherTypes.QinQ)]
    [InlineData(EtherTypes.QinQLegacy)]
    [InlineData(EtherTypes.Vlan)]
    public void TryRead_StackedTags_ReturnsInnermostVlan(ushort outerTpid)
    {
        var frame = FrameBuilder.Ethernet(EtherTypes.Ipv4, [], (outerTpid, 10), (EtherTypes.Vlan, 20));

        var status = EthernetHeader.TryRead(frame, MaxTags, out var header);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(20, header.Vlan);
        Assert.Equal(EtherTypes.Ipv4, header.EtherType);
        Assert.Equal(22, header.HeaderLength);
    }

    [Fact]
    public void TryRead_TagsUpToLimit_ReturnsOk()
    {
        var frame = FrameBuilder.Ethernet(EtherTypes.Ipv4, [], (EtherTypes.QinQ, 1), (EtherTypes.Vlan, 2), (EtherTypes.Vlan, 3), (EtherTypes.Vlan, 4));

        Assert.Equal(DecodeStatus.Ok, EthernetHeader.TryRead(frame, MaxTags, out var header));
        Assert.Equal(4, header.Vlan);
        Assert.Equal(14 + 16, header.HeaderLength);
    }

    [Fact]
    public void TryRead_MoreTagsThanLimit_ReturnsTooManyVlanTags()
    {
        var frame = FrameBuilder.Ethernet(EtherTypes.Ipv4, [], (EtherTypes.Vlan, 1), (EtherTypes.Vlan, 2), (EtherTypes.Vlan, 3), (EtherTypes.Vlan, 4), (EtherTypes.Vlan, 5));

        Assert.Equal(DecodeStatus.TooManyVlanTags, EthernetHeader.TryRead(frame, MaxTags, out _));
    }

    [Fact]
    public void TryRead_ZeroTagsAllowedAndTagged_ReturnsTooManyVlanTags()
    {
        var frame = FrameBuilder.Ethernet(EtherTypes.Ipv4, [], (EtherTypes.Vlan, 1));

        Assert.Equal(DecodeStatus.TooManyVlanTags, EthernetHeader.TryRead(frame, 0, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(13)]
    public void TryRead_ShorterThanHeader_ReturnsEthernetTruncated(int length)
    {
        var frame = new byte[length];

        Assert.Equal(DecodeStatus.EthernetTruncated, EthernetHeader.TryRead(frame, MaxTags, out _));
    }

    [Theory]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(17)]
    public void TryRead_TagCutShort_ReturnsVlanTruncated(int length)
    {
        var frame = FrameBuilder.Ethernet(EtherTypes.Ipv4, [], (EtherTypes.Vlan, 7))[..length];

        Assert.Equal(DecodeStatus.VlanTruncated, EthernetHeader.TryRead(frame, MaxTags, out _));
    }

    [Fact]
    public void TryReadTags_FromOffset_WalksTagsAfterGivenEtherType()
    {
        var bytes = Hex.Parse(
            "00 00" +  // two bytes the caller already consumed
            "00 2a" +  // TCI VID 42
            "86 dd");  // EtherType IPv6

        var status = EthernetHeader.TryReadTags(bytes, 2, EtherTypes.Vlan, MaxTags, out var header);

        Assert.Equal(DecodeStatus.Ok, status);
        Assert.Equal(42, header.Vlan);
        Assert.Equal(EtherTypes.Ipv6, header.EtherType);
        Assert.Equal(6, header.HeaderLength);
    }
}
