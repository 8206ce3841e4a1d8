namespace VtapCollector.Flows.Tests;

public class FlowTableOptionsTests
{
    [Fact]
    public void Defaults_AreTheDocumentedValuesAndValid()
    {
        var options = new FlowTableOptions();

        Assert.Equal(1_000_000, options.Capacity);
        Assert.Equal(TimeSpan.FromSeconds(60), options.ActiveTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), options.IdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(300), options.TcpIdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.TcpClosingTimeout);
        Assert.Equal(4096, options.FragmentCacheSize);
        Assert.Null(options.Validate());
    }

    [Theory]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(100_000_000)]
    public void Validate_CapacityInRange_IsValid(int capacity) =>
        Assert.Null(new FlowTableOptions { Capacity = capacity }.Validate());

    [Theory]
    [InlineData(15)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(100_000_001)]
    public void Validate_CapacityOutOfRange_NamesTheCapacity(int capacity)
    {
        var error = new FlowTableOptions { Capacity = capacity }.Validate();
        Assert.NotNull(error);
        Assert.Contains("capacity", error, StringComparison.Ordinal);
        Assert.Contains(capacity.ToString(System.Globalization.CultureInfo.InvariantCulture), error, StringComparison.Ordinal);
    }

    public static TheoryData<FlowTableOptions> InvalidTimeouts => new()
    {
        new FlowTableOptions { ActiveTimeout = TimeSpan.Zero },
        new FlowTableOptions { ActiveTimeout = TimeSpan.FromSeconds(-1) },
        new FlowTableOptions { IdleTimeout = TimeSpan.Zero },
        new FlowTableOptions { TcpIdleTimeout = TimeSpan.Zero },
        new FlowTableOptions { TcpClosingTimeout = TimeSpan.FromTicks(-1) },
    };

    [Theory]
    [MemberData(nameof(InvalidTimeouts))]
    public void Validate_NonPositiveTimeoutOrNegativeLinger_IsInvalid(FlowTableOptions options) =>
        Assert.NotNull(options.Validate());

    [Fact]
    public void Validate_ZeroClosingTimeout_IsValid() =>
        Assert.Null(new FlowTableOptions { TcpClosingTimeout = TimeSpan.Zero }.Validate());

    [Theory]
    [InlineData(16)]
    [InlineData(1024)]
    [InlineData(1 << 20)]
    public void Validate_FragmentCacheSizePowerOfTwo_IsValid(int size) =>
        Assert.Null(new FlowTableOptions { FragmentCacheSize = size }.Validate());

    [Theory]
    [InlineData(8)]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(4095)]
    public void Validate_FragmentCacheSizeNotAPowerOfTwoOfAtLeast16_IsInvalid(int size)
    {
        var error = new FlowTableOptions { FragmentCacheSize = size }.Validate();
        Assert.NotNull(error);
        Assert.Contains("fragment cache", error, StringComparison.Ordinal);
    }

    [Fact]
    public void FlowTable_InvalidOptions_ThrowsWithTheValidationMessage()
    {
        var options = new FlowTableOptions { Capacity = 8 };
        var exception = Assert.Throws<ArgumentException>(() => new FlowTable(options, new RecordingWriter()));
        Assert.Equal("options", exception.ParamName);
        Assert.StartsWith(options.Validate()!, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FlowTable_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => new FlowTable(null!, new RecordingWriter()));
        Assert.Throws<ArgumentNullException>(() => new FlowTable(new FlowTableOptions { Capacity = 16 }, null!));
    }

    [Fact]
    public void FlowTable_Capacity_IsTheConfiguredOne()
    {
        var table = new FlowTable(new FlowTableOptions { Capacity = 1000 }, new RecordingWriter());
        Assert.Equal(1000, table.Capacity);
        Assert.Equal(0, table.Count);
    }
}
