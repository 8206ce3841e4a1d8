using System.Diagnostics;
using System.Text;
using VtapCollector.Decoding;

namespace VtapCollector.Flows.Tests;

public class ServiceNamesTests
{
    /// <summary>
    /// getservbyport(3), through <c>getent services PORT/PROTOCOL</c>, on this machine's netbase
    /// /etc/services (the table's source): every port and protocol the table names, and a spread of
    /// ports it does not, must agree with it.
    /// </summary>
    [Fact]
    public void Lookup_EveryTcpAndUdpPort_AgreesWithGetservbyport()
    {
        if (!File.Exists("/etc/services"))
        {
            Assert.Fail("/etc/services is missing: install netbase (scripts/install-deps.sh does).");
        }

        var system = SystemTable();
        var compared = 0;
        foreach (var ((port, protocol), name) in system)
        {
            Assert.Equal(name, Encoding.ASCII.GetString(ServiceNames.Lookup(protocol, port)));
            compared++;
        }

        Assert.Equal(compared, ServiceNames.Count);
        for (var port = 0; port < 65536; port += 97)
        {
            foreach (var protocol in new[] { IpProtocol.Tcp, IpProtocol.Udp })
            {
                Assert.Equal(system.GetValueOrDefault(((ushort)port, protocol), ""), Encoding.ASCII.GetString(ServiceNames.Lookup(protocol, (ushort)port)));
            }
        }

        Assert.True(compared > 250);
    }

    [Fact]
    public void Lookup_ProtocolWithoutPorts_IsEmpty()
    {
        Assert.True(ServiceNames.Lookup(IpProtocol.Icmp, 443).IsEmpty);
        Assert.True(ServiceNames.Lookup(IpProtocol.Icmpv6, 80).IsEmpty);
        Assert.True(ServiceNames.OfResponder(new FlowRecord { Protocol = IpProtocol.Gre, DestinationPort = 22 }).IsEmpty);
    }

    [Fact]
    public void OfResponder_TcpRecord_IsTheDestinationPortsName()
    {
        var record = new FlowRecord { Protocol = IpProtocol.Tcp, SourcePort = 443, DestinationPort = 22 };
        Assert.Equal(GetEnt("22/tcp"), Encoding.ASCII.GetString(ServiceNames.OfResponder(record)));
    }

    /// <summary>What getservbyport(3) answers for every entry of /etc/services, read with getent (the first name of each port and protocol).</summary>
    private static Dictionary<(ushort Port, byte Protocol), string> SystemTable()
    {
        var table = new Dictionary<(ushort, byte), string>();
        foreach (var line in Run("getent", "services").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var portProtocol = fields[1].Split('/');
            byte? protocol = portProtocol[1] switch { "tcp" => IpProtocol.Tcp, "udp" => IpProtocol.Udp, "sctp" => 132, _ => null };
            if (protocol is { } known)
            {
                table.TryAdd((ushort.Parse(portProtocol[0], System.Globalization.CultureInfo.InvariantCulture), known), fields[0]);
            }
        }

        return table;
    }

    private static string GetEnt(string portProtocol) => Run("getent", $"services {portProtocol}").Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[0];

    private static string Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), $"{file} {arguments} did not finish");
        return output;
    }
}
