using System.Net;
using System.Net.Sockets;
using VtapCollector.Tests.Run;

namespace VtapCollector.Tests.Ipfix;

/// <summary>The daemon with <c>Sinks:Ipfix</c> next to stdout: nfcapd receives the same flows the JSON lines report.</summary>
[Collection(DaemonTests.Name)]
public class IpfixDaemonTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public void Daemon_IpfixSinkToNfcapd_CarriesTheFlowsOfTheJsonRecords()
    {
        using var directory = new TempFolder();
        var port = IpfixTestSupport.FreePort(SocketType.Dgram);
        var nfcapd = IpfixNfdumpTests.StartNfcapd(port, directory.Path);
        List<IpfixNfdumpTests.Flow> dumped;
        Oracle.CollectorRun run;
        try
        {
            using var daemon = DaemonProcess.Start(RunCommandTests.Config($$""", "Ipfix": { "Enabled": true, "Collectors": [ "udp://127.0.0.1:{{port}}" ] }"""));
            RunCommandTests.SendAndWait(daemon, IpfixTestSupport.Capture, RunCommandTests.TunnelDatagrams(IpfixTestSupport.Capture).Datagrams);
            var exit = daemon.Terminate(Wait);
            Assert.True(exit == 0, $"exit code {exit}\n{daemon.Logs}");
            run = daemon.ParseRecords();
        }
        finally
        {
            Thread.Sleep(300);
            dumped = IpfixNfdumpTests.StopAndDump(nfcapd, directory.Path);
        }

        // Every JSON record is one biflow record: the same count, and the same packets and bytes each way.
        var records = run.FlowsById.Values.SelectMany(flow => flow.Records).ToList();
        Assert.NotEmpty(records);
        Assert.Equal(records.Count, dumped.Count);
        Assert.Equal(records.Sum(r => r.GetProperty("packets_src_to_dst").GetInt64()), dumped.Sum(f => (long)f.InPackets));
        Assert.Equal(records.Sum(r => r.GetProperty("bytes_src_to_dst").GetInt64()), dumped.Sum(f => (long)f.InBytes));
        Assert.Equal(records.Sum(r => r.GetProperty("packets_dst_to_src").GetInt64()), dumped.Sum(f => (long)f.OutPackets));
        Assert.Equal(records.Sum(r => r.GetProperty("bytes_dst_to_src").GetInt64()), dumped.Sum(f => (long)f.OutBytes));
    }
    /// <summary>
    /// An IPFIX collector every collector of a scale set shares must not take them all out of the load
    /// balancer: with the TCP collector refusing connections the sink reports itself unhealthy in the
    /// metrics, and <c>/readyz</c> still answers 200 while the stdout sink delivers.
    /// </summary>
    [Fact]
    public void Daemon_TcpIpfixCollectorUnreachable_SinkUnhealthyButReadyzStaysOk()
    {
        // A port that was free a moment ago: nothing listens there, so every connection is refused.
        var port = IpfixTestSupport.FreePort(SocketType.Stream);
        using var daemon = DaemonProcess.Start(RunCommandTests.Config($$""", "Ipfix": { "Enabled": true, "Collectors": [ "tcp://127.0.0.1:{{port}}" ] }"""));
        Assert.True(
            DaemonProcess.WaitFor(() => daemon.Metric("vtap_sink_healthy{sink=\"ipfix\"}") == 0, Wait),
            $"the IPFIX sink never reported the refused connection\n{daemon.Logs}");
        Assert.Equal(1, daemon.Metric("vtap_sink_healthy{sink=\"stdout\"}"));
        var ready = daemon.Get("/readyz");
        Assert.True(ready.Status == HttpStatusCode.OK, $"/readyz {ready.Status}: {ready.Body}");
        Assert.Equal(0, daemon.Terminate(Wait));
    }
}
