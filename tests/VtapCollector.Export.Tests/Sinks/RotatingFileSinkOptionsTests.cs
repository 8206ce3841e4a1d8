using VtapCollector.Export.Sinks;

namespace VtapCollector.Export.Tests.Sinks;

public class RotatingFileSinkOptionsTests
{
    [Fact]
    public void Defaults_AreValidAndAsDocumented()
    {
        var options = new RotatingFileSinkOptions();

        Assert.Null(options.Validate());
        Assert.Equal("/var/lib/vtap-collector/flows.jsonl", options.Path);
        Assert.Equal(100L * 1024 * 1024, options.MaxFileBytes);
        Assert.Equal(TimeSpan.FromHours(1), options.RotateInterval);
        Assert.Equal(1024L * 1024 * 1024, options.MaxTotalBytes);
        Assert.Equal((UnixFileMode)Convert.ToInt32("640", 8), options.FilePermissions);
        Assert.Equal(TimeSpan.FromSeconds(5), options.RetryInterval);
    }

    [Fact]
    public void Validate_MaxTotalBelowMaxFile_NamesBothKeysAndValues()
    {
        var options = new RotatingFileSinkOptions { MaxTotalBytes = 1000 };

        Assert.Equal(
            "Sinks:File:MaxTotalBytes (1000) must be at least Sinks:File:MaxFileBytes (104857600).",
            options.Validate());
    }

    [Fact]
    public void Validate_EdgeValues_AreAccepted()
    {
        Assert.Null(new RotatingFileSinkOptions { MaxFileBytes = RotatingFileSinkOptions.MinFileBytes, MaxTotalBytes = RotatingFileSinkOptions.MinFileBytes }.Validate());
        Assert.Null(new RotatingFileSinkOptions { RotateInterval = TimeSpan.Zero }.Validate());
        Assert.Null(new RotatingFileSinkOptions { RotateInterval = TimeSpan.FromSeconds(1) }.Validate());
        Assert.Null(new RotatingFileSinkOptions { Path = "flows" }.Validate());
        Assert.Null(new RotatingFileSinkOptions { FilePermissions = UnixFileMode.UserWrite }.Validate());
    }

    public static TheoryData<RotatingFileSinkOptions, string> InvalidOptions => new()
    {
        { new() { Path = "" }, "Sinks:File:Path must name the file to write (it is empty)." },
        { new() { Path = "  " }, "Sinks:File:Path must name the file to write (it is empty)." },
        { new() { Path = "/var/lib/vtap-collector/" }, "Sinks:File:Path '/var/lib/vtap-collector/' must name a file, not a directory." },
        { new() { Path = "/tmp/a\0b" }, "Sinks:File:Path contains a NUL character." },
        { new() { MaxFileBytes = 1023 }, $"Sinks:File:MaxFileBytes (1023) must be at least {FlowRecordJsonEncoder.MaxRecordLength + 1}, the size of the largest record and its newline." },
        { new() { RotateInterval = TimeSpan.FromSeconds(-5) }, "Sinks:File:RotateIntervalSeconds (-5) must be 0 (rotate by size only) or at least 1 second." },
        { new() { RotateInterval = TimeSpan.FromMilliseconds(500) }, "Sinks:File:RotateIntervalSeconds (0.5) must be 0 (rotate by size only) or at least 1 second." },
        { new() { RetryInterval = TimeSpan.Zero }, "Sinks:File:RetryInterval (0 s) must be positive." },
        { new() { FilePermissions = (UnixFileMode)Convert.ToInt32("4640", 8) }, "Sinks:File:FilePermissions (04640) may hold only permission bits (at most 0777)." },
        { new() { FilePermissions = (UnixFileMode)Convert.ToInt32("444", 8) }, "Sinks:File:FilePermissions (0444) must let the owner write (0200), or the sink could not reopen its own file." },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Validate_InvalidSetting_ReturnsOneSentenceNamingItsKey(RotatingFileSinkOptions options, string expected)
    {
        Assert.Equal(expected, options.Validate());
    }
}
