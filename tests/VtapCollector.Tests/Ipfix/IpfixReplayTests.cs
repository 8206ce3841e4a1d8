using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Ipfix;

/// <summary><c>replay --ipfix FILE</c>: an IPFIX file (RFC 5655) of the capture's records, decoded by tshark.</summary>
public class IpfixReplayTests
{
    [Fact]
    public void Replay_IpfixFile_HoldsTemplatesThenEveryRecord()
    {
        using var directory = new TempFolder();
        var file = Path.Combine(directory.Path, "flows.ipfix");

        var result = ExternalTools.RunCollector(["replay", IpfixTestSupport.Capture, "--workers", "1", "--quiet", "-o", "/dev/null", "--ipfix", file]);

        Assert.True(result.ExitCode == 0, result.StandardError);
        var messages = IpfixTestSupport.SplitMessages(File.ReadAllBytes(file));
        var pcap = Path.Combine(directory.Path, "file.pcap");
        IpfixTestSupport.WritePcap(pcap, messages, 4739);
        IpfixTsharkTests.AssertSame(IpfixTestSupport.Replay(), IpfixTsharkTests.Decode(pcap, 4739), biflow: true);
    }

    [Theory]
    [InlineData("udp://1.2.3:4739")]
    [InlineData("tcp://127.0.0.1")]
    public void Replay_InvalidIpfixCollector_IsAUsageError(string destination)
    {
        var result = ExternalTools.RunCollector(["replay", "--ipfix", destination]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--ipfix", result.StandardError, StringComparison.Ordinal);
    }
}
