using System.Globalization;
using System.Net.Sockets;
using VtapCollector.Export.Ipfix;
using VtapCollector.Flows;

namespace VtapCollector.Tests.Ipfix;

/// <summary>
/// pmacct's nfacctd (UDP only in 1.7) receives the export and its print plugin writes CSV, which must
/// equal the records flow by flow. nfacctd ignores RFC 5103 reverse elements (it would count only the
/// initiator's side of a biflow record), so it is the collector the unidirectional mode is for.
/// </summary>
public class IpfixPmacctTests
{
    [Fact]
    public void Nfacctd_UdpUnidirectionalExport_CsvEqualsTheRecords()
    {
        using var directory = new TempFolder();
        var port = IpfixTestSupport.FreePort(SocketType.Dgram);
        var csv = Path.Combine(directory.Path, "flows.csv");
        var configuration = Path.Combine(directory.Path, "nfacctd.conf");
        File.WriteAllLines(configuration,
        [
            "daemonize: false",
            "nfacctd_ip: 127.0.0.1",
            $"nfacctd_port: {port}",
            "plugins: print",
            "aggregate: src_host, dst_host, src_port, dst_port, proto, timestamp_start, timestamp_end",
            "print_output: csv",
            $"print_output_file: {csv}",
            "print_output_file_append: true",
            "print_refresh_time: 1",
            "print_num_protos: true",
            "timestamps_utc: true",
        ]);
        var nfacctd = IpfixTestSupport.Start("nfacctd", "-f", configuration);
        List<IpfixNfdumpTests.Flow> expected;
        try
        {
            IpfixTestSupport.WaitBound(port, udp: true);
            using (var sink = new IpfixSink(new IpfixSinkOptions { Collectors = [$"udp://127.0.0.1:{port}"], Biflow = false, MaxMessageBytes = 700 }))
            {
                expected = IpfixNfdumpTests.Expected(IpfixTestSupport.Replay(sink), biflow: false);
            }

            // The print plugin writes once per refresh time: wait for every flow, at most 45 s (a loaded machine
            // delays nfacctd's plugin process by many refresh times).
            var deadline = Environment.TickCount64 + 45_000;
            while (Rows(csv).Count < expected.Count && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(200);
            }
        }
        finally
        {
            IpfixTestSupport.Stop(nfacctd);
        }

        Assert.Equal(expected, Rows(csv).OrderBy(f => f.ToString(), StringComparer.Ordinal).ToList());
    }

    /// <summary>The CSV rows as flows (columns named by the header pmacct writes).</summary>
    private static List<IpfixNfdumpTests.Flow> Rows(string csv)
    {
        var flows = new List<IpfixNfdumpTests.Flow>();
        if (!File.Exists(csv))
        {
            return flows;
        }

        string[]? header = null;
        foreach (var line in File.ReadAllLines(csv))
        {
            var cells = line.Split(',');
            if (cells[0] == "SRC_IP")
            {
                header = cells;
                continue;
            }

            if (header is null || cells.Length != header.Length)
            {
                continue;
            }

            string Cell(string name) => cells[Array.IndexOf(header, name)];
            flows.Add(new IpfixNfdumpTests.Flow(
                Cell("SRC_IP"), Cell("DST_IP"),
                int.Parse(Cell("SRC_PORT"), CultureInfo.InvariantCulture), int.Parse(Cell("DST_PORT"), CultureInfo.InvariantCulture),
                int.Parse(Cell("PROTOCOL"), CultureInfo.InvariantCulture),
                Milliseconds(Cell("TIMESTAMP_START")), Milliseconds(Cell("TIMESTAMP_END")),
                ulong.Parse(Cell("PACKETS"), CultureInfo.InvariantCulture), ulong.Parse(Cell("BYTES"), CultureInfo.InvariantCulture), 0, 0));
        }

        return flows;
    }

    private static long Milliseconds(string text) =>
        new DateTimeOffset(DateTime.ParseExact(text, "yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture), TimeSpan.Zero).ToUnixTimeMilliseconds();
}
