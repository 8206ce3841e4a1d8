using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Capture;

/// <summary>A mistake in the capture configuration stops the start with one sentence naming the key.</summary>
public sealed class CaptureConfigurationTests
{
    [Theory]
    [InlineData("--Capture:Sessions:0:Filter=proto=zzz", "Capture:Sessions:0:Filter")]
    [InlineData("--Capture:Sessions:0:SnapLength=10", "snap length")]
    [InlineData("--Capture:Sessions:0:Colour=red", "Capture:Sessions:0:Colour")]
    [InlineData("--Capture:Token=short", "at least 16 characters")]
    [InlineData("--Capture:MaxSessions=0", "Capture:MaxSessions")]
    [InlineData("--Capture:TokenFile=/nonexistent/token", "Capture:TokenFile")]
    public void RunCheck_BadCaptureSetting_FailsWithOneSentenceNamingIt(string setting, string named)
    {
        var result = ExternalTools.RunCollector(["run", "--check", "--Capture:Sessions:0:Name=web", setting]);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(named, line, StringComparison.Ordinal);
    }

    [Fact]
    public void RunCheck_ValidCaptureSessions_IsAccepted()
    {
        var result = ExternalTools.RunCollector(["run", "--check", "--Capture:Sessions:0:Name=web", "--Capture:Sessions:0:Filter=proto=tcp,rport=443", "--Capture:Sessions:1:Name=dns", "--Capture:Sessions:1:Filter=port=53"]);

        Assert.True(result.ExitCode == 0, result.StandardError);
    }
}
