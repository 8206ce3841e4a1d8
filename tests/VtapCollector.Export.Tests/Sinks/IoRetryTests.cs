using VtapCollector.Export.Storage;

namespace VtapCollector.Export.Tests.Sinks;

/// <summary>The retry state the file sink and the segment log share.</summary>
public sealed class IoRetryTests
{
    [Fact]
    public void Fail_MakesItUnhealthyWithTheMessage_AndOnlyTheFirstFailureOfAnOutageSaysSo()
    {
        var retry = new IoRetry(TimeSpan.FromSeconds(5), new ManualTimeProvider());
        Assert.True(retry.IsHealthy);
        Assert.Null(retry.LastError);

        Assert.True(retry.Fail(new IOException("No space left on device")));
        Assert.False(retry.Fail(new IOException("still no space")));
        Assert.False(retry.IsHealthy);
        Assert.Equal("still no space", retry.LastError);
        Assert.Equal(2, retry.Failures);
    }

    [Fact]
    public void RetryDue_OnlyOnceTheIntervalHasPassedSinceTheLastFailure()
    {
        var time = new ManualTimeProvider();
        var retry = new IoRetry(TimeSpan.FromSeconds(5), time);
        Assert.False(retry.RetryDue());

        retry.Fail(new IOException("disk full"));
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(retry.RetryDue());
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(retry.RetryDue());

        // A failed retry starts the interval again.
        retry.Fail(new IOException("disk full"));
        Assert.False(retry.RetryDue());
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(retry.RetryDue());

        retry.Recovered();
        Assert.True(retry.IsHealthy);
        Assert.Null(retry.LastError);
        Assert.False(retry.RetryDue());
    }

    [Theory]
    [InlineData(typeof(IOException), true)]
    [InlineData(typeof(UnauthorizedAccessException), true)]
    [InlineData(typeof(DirectoryNotFoundException), true)]
    [InlineData(typeof(InvalidOperationException), false)]
    public void IsFileError_TakesFileSystemFailuresOnly(Type type, bool expected) =>
        Assert.Equal(expected, IoRetry.IsFileError((Exception)Activator.CreateInstance(type)!));
}
