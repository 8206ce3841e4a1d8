using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using VtapCollector.Tests.Oracle;
using VtapCollector.Tests.Run;

namespace VtapCollector.Tests.KernelMirror;

/// <summary>
/// A real kernel mirror built in three network namespaces made for one test (the recipe of
/// scripts/make-sample.sh), torn down by <see cref="Dispose"/>:
/// <code>
///  client                server                                     collector
///  wl-c 10.99.0.1  ===  wl-s 10.99.0.2   (the workload interface)
///       fd99::1              fd99::2
///                       tc clsact ingress+egress: mirred egress mirror
///                         -> vtap0 (VXLAN VNI 4242, 172.31.99.1 -> 172.31.99.2:4789)
///                       ul-s 172.31.99.1  ===================  ul-k 172.31.99.2 (the daemon)
/// </code>
/// Every address lives only inside these namespaces, whose names carry a random suffix, so runs
/// never meet each other or the host's networks.
/// </summary>
/// <remarks>
/// The ground truth is tcpdump on wl-s, the interface tc mirrors, so it must see exactly the
/// frames that are mirrored. What could make the two differ is ruled out here:
/// <list type="bullet">
/// <item>Window: wl-s is up before the capture starts but has no carrier until
/// <see cref="ConnectWorkload"/> brings wl-c up, and nothing crosses a link without carrier; the
/// end comes only after the traffic has been quiet for a while (<see cref="CapturedFrames"/>).</item>
/// <item>Late neighbour probes: an ARP or ND entry learnt from a request and then used goes
/// through DELAY and sends a probe 5 s later; delay_first_probe_time 1 s lets that happen inside
/// the quiet wait, and a 10-minute reachable time keeps entries from going stale mid-test.</item>
/// <item>Spontaneous IPv6: no DAD and no router solicitations (they repeat for seconds); MLD
/// reports go out once carrier comes, and are in both views like any other packet (their repeats
/// come within 100 ms rather than a second, well before the end). vtap0 has IPv6 off, so the
/// mirror device itself never sends its own MLD into the tunnel.</item>
/// <item>Segmentation offload: veths pass 64 KB GSO packets, which tcpdump and tc see whole while
/// the collector's socket receives the VXLAN copy already cut into wire-sized datagrams.
/// gso_max_segs 1 makes the stacks send wire-sized packets, what a real mirror session sees.</item>
/// <item>The underlay neighbour of the VXLAN device is static, so the first mirrored packets
/// never wait (or overflow) in an ARP queue.</item>
/// </list>
/// </remarks>
/// <remarks>
/// Both ends tapped (<see cref="Create(DoubleTap)"/>): wl-c is mirrored as well, from the client
/// namespace into its own VXLAN device over its own underlay, as a second NIC's tap would be:
/// <code>
///  client: tc clsact on wl-c -> vtap1 (VNI ClientVni, 172.31.98.1 -> 172.31.98.2:4789) over ul-c === ul-d (collector)
/// </code>
/// Both taps sit before anything that drops: the loss the tests make is an iptables rule in the
/// receiving namespace's INPUT chain, after tc and after tcpdump's tap, so both mirrors and the
/// ground truth see every packet the wire carried, and TCP still has to retransmit.
/// </remarks>
internal sealed partial class MirrorLab : IDisposable
{
    public const uint Vni = 4242;
    public const string ClientMirrorSource = "172.31.98.1";
    public const string ClientCollectorAddress = "172.31.98.2";

    /// <summary>Where the server's tap sends when its path is delayed: a relay in the collector namespace that holds each datagram, then sends it on from the collector's address.</summary>
    public const int RelayPort = 4790;
    public const int DuplicatedQueryPort = 40404;
    public const string ClientV4 = "10.99.0.1";
    public const string ServerV4 = "10.99.0.2";
    public const string ClientV6 = "fd99::1";
    public const string ServerV6 = "fd99::2";
    public const string MirrorSource = "172.31.99.1";
    public const string CollectorAddress = "172.31.99.2";
    public const int HttpPort = 8080;
    public const int ClosedPort = 8081;
    public const int UdpPort = 5353;
    public const int DownloadBytes = 1_000_000;

    private const string WorkloadInterface = "wl-s";
    private const int SigInt = 2;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);
    private static readonly string[] SbinFolders = ["/usr/sbin", "/sbin"];
    private static readonly string[] MirroredHooks = ["ingress", "egress"];

    private readonly List<LabProcess> _processes = [];
    private readonly List<string> _created = [];
    private readonly DoubleTap? _doubleTap;
    private LabProcess? _capture;
    private bool _disposed;

    private MirrorLab(DoubleTap? doubleTap = null)
    {
        _doubleTap = doubleTap;
        var suffix = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 3));
        Client = $"vtm{suffix}c";
        Server = $"vtm{suffix}s";
        Collector = $"vtm{suffix}k";
        Directory = System.IO.Directory.CreateTempSubdirectory("vtap-mirror-").FullName;
    }

    public string Client { get; }

    public string Server { get; }

    public string Collector { get; }

    public IReadOnlyList<string> Namespaces => [Client, Server, Collector];

    /// <summary>Scratch folder: the workload capture, the served files, the helper script.</summary>
    public string Directory { get; }

    /// <summary>tcpdump's capture of the workload interface (wl-s in the server namespace).</summary>
    public string CapturePath => Path.Combine(Directory, "workload.pcap");

    private string WebRoot => Path.Combine(Directory, "www");

    private string Script => Path.Combine(Directory, "workload.py");

    /// <summary>
    /// How the client's link is tapped as well: the VNI its tap uses, and how long the server's tap
    /// path holds each copy (0: not at all), which is the skew between the two taps' copies.
    /// </summary>
    public sealed record DoubleTap(uint ClientVni, int ServerTapDelayMicroseconds = 0);

    /// <summary>Both ends tapped: see <see cref="DoubleTap"/>.</summary>
    public static MirrorLab Create(DoubleTap doubleTap) => Create(new MirrorLab(doubleTap));

    /// <summary>Builds the namespaces, links, VXLAN device and mirror; wl-c stays down (no carrier on wl-s).</summary>
    public static MirrorLab Create() => Create(new MirrorLab());

    private static MirrorLab Create(MirrorLab lab)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            lab.Dispose();
            throw new InvalidOperationException("The kernel mirror test creates network namespaces, veth pairs and tc filters: it must run as root (CI does).");
        }

        try
        {
            lab.Build();
        }
        catch
        {
            lab.Dispose();
            throw;
        }

        return lab;
    }

    /// <summary>The command prefix that runs a program in a namespace; ip netns exec execs it, so the process id is the program's.</summary>
    public IReadOnlyList<string> InNamespace(string name) => [Tool("ip", "iproute2"), "netns", "exec", name];

    /// <summary>The name of the lab namespace a process is in (by <c>ip netns identify</c>), empty if none.</summary>
    public static string NamespaceOf(int processId) =>
        Run(Tool("ip", "iproute2"), ["netns", "identify", processId.ToString(CultureInfo.InvariantCulture)]).Trim();

    /// <summary>What <c>ip link show</c> says of an interface in a lab namespace (an attached XDP program shows as <c>prog/xdp</c>).</summary>
    public string LinkShow(string name, string device) => Run(Tool("ip", "iproute2"), ["-n", name, "link", "show", "dev", device]);

    /// <summary>Names of the network namespaces that exist now (<c>ip netns list</c>).</summary>
    public static IReadOnlyList<string> ExistingNamespaces() =>
        Run(Tool("ip", "iproute2"), ["netns", "list"]).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ')[0]).ToList();

    /// <summary>Starts tcpdump on the workload interface and waits until it captures.</summary>
    public void StartWorkloadCapture()
    {
        // -Z root: stay root to write into the private scratch folder. --immediate-mode and -U:
        // every packet reaches the file at once, so the quiet wait can count them. Immediate mode
        // makes libpcap use a ring of fixed slots of the snapshot length: -s 2048 holds every
        // frame whole (MTU 1500, no GSO) and with -B 32 MB gives thousands of slots, so a slow
        // tcpdump on a loaded machine does not lose packets (a loss is checked at the end).
        _capture = StartIn(Server, "tcpdump", Tool("tcpdump", "tcpdump"),
            "-Z", "root", "-i", WorkloadInterface, "-s", "2048", "-B", "32768", "--immediate-mode", "-U", "-w", CapturePath);
        _capture.WaitForLine("listening on", ReadyTimeout);
    }

    /// <summary>Stops the capture (SIGINT, so tcpdump writes its statistics) and returns the packets the kernel dropped before tcpdump read them.</summary>
    public long StopWorkloadCapture()
    {
        var capture = _capture ?? throw new InvalidOperationException("the workload capture was not started");
        capture.Signal(SigInt);
        capture.WaitForExit(ReadyTimeout);
        var dropped = Regex.Match(capture.Output, @"(\d+) packets? dropped by kernel");
        return dropped.Success
            ? long.Parse(dropped.Groups[1].Value, CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"tcpdump printed no statistics:\n{capture.Output}");
    }

    /// <summary>Frames and their bytes in the workload capture so far (a record still being written is not counted).</summary>
    public (long Frames, long Bytes) CapturedFrames()
    {
        if (!File.Exists(CapturePath))
        {
            return (0, 0);
        }

        using var stream = new FileStream(CapturePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[24];
        if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
        {
            return (0, 0);
        }

        // pcap magic in the writer's byte order: microsecond or nanosecond timestamps.
        var little = BinaryPrimitives.ReadUInt32LittleEndian(header) is 0xa1b2c3d4 or 0xa1b23c4d;
        if (!little && BinaryPrimitives.ReadUInt32BigEndian(header) is not (0xa1b2c3d4 or 0xa1b23c4d))
        {
            throw new InvalidDataException($"{CapturePath} is not a pcap file");
        }

        long frames = 0, bytes = 0;
        Span<byte> record = stackalloc byte[16];
        while (stream.ReadAtLeast(record, record.Length, throwOnEndOfStream: false) == record.Length)
        {
            var captured = little ? BinaryPrimitives.ReadUInt32LittleEndian(record[8..]) : BinaryPrimitives.ReadUInt32BigEndian(record[8..]);
            var original = little ? BinaryPrimitives.ReadUInt32LittleEndian(record[12..]) : BinaryPrimitives.ReadUInt32BigEndian(record[12..]);
            if (stream.Position + captured > stream.Length)
            {
                break;
            }

            stream.Seek(captured, SeekOrigin.Current);
            frames++;
            bytes += original;
        }

        return (frames, bytes);
    }

    /// <summary>Starts the servers in the server namespace: HTTP on both families, and a UDP answerer.</summary>
    public void StartServers()
    {
        System.IO.Directory.CreateDirectory(WebRoot);
        var download = new byte[DownloadBytes];
        new Random(4242).NextBytes(download);
        File.WriteAllBytes(Path.Combine(WebRoot, "download.bin"), download);
        File.WriteAllText(Path.Combine(WebRoot, "small.txt"), "served over IPv6 to the kernel mirror test\n");
        File.WriteAllText(Script, WorkloadScript);

        // --bind :: makes http.server dual-stack (IPv4 and IPv6 on one socket).
        var web = StartIn(Server, "http.server", ExternalTools.DebianPython,
            "-u", "-m", "http.server", HttpPort.ToString(CultureInfo.InvariantCulture), "--bind", "::", "--directory", WebRoot);
        var udp = StartIn(Server, "udp answerer", ExternalTools.DebianPython, "-u", Script, "udp-serve", UdpPort.ToString(CultureInfo.InvariantCulture));
        web.WaitForLine("Serving HTTP", ReadyTimeout);
        udp.WaitForLine("ready", ReadyTimeout);
    }

    /// <summary>Brings wl-c up: from now on the workload link has carrier and traffic crosses the mirrored interface.</summary>
    public void ConnectWorkload()
    {
        Ip("-n", Client, "link", "set", "wl-c", "up");
        var up = DaemonProcess.WaitFor(() =>
            Ip("-n", Client, "-o", "link", "show", "dev", "wl-c").Contains("state UP", StringComparison.Ordinal) &&
            Ip("-n", Server, "-o", "link", "show", "dev", WorkloadInterface).Contains("state UP", StringComparison.Ordinal), ReadyTimeout);
        if (!up)
        {
            throw new TimeoutException($"the workload link did not come up within {ReadyTimeout.TotalSeconds} s");
        }
    }

    /// <summary>
    /// The workload, from the client: ICMP echo, a 1 MB HTTP download, a TCP connection to a
    /// closed port (refused with a RST), a UDP query and answer, then the same over IPv6 (ICMPv6
    /// echo, UDP, HTTP). Each step must succeed as expected, or the test stops here saying which.
    /// </summary>
    public void RunTraffic()
    {
        var python = ExternalTools.DebianPython;
        var curl = Tool("curl", "curl");
        var udpPort = UdpPort.ToString(CultureInfo.InvariantCulture);

        Expect("ICMP echo", 0, "3", python, Script, "echo", ServerV4, "3");
        Expect("HTTP download", 0, $"200 {DownloadBytes}", curl, "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", $"http://{ServerV4}:{HttpPort}/download.bin");
        Expect("refused TCP connection", 7, string.Empty, curl, "-s", "--max-time", "10", "-o", "/dev/null", $"http://{ServerV4}:{ClosedPort}/");
        Expect("UDP query", 0, "2", python, Script, "udp-query", ServerV4, udpPort, "2");
        Expect("ICMPv6 echo", 0, "2", python, Script, "echo", ServerV6, "2");
        Expect("UDP query over IPv6", 0, "1", python, Script, "udp-query", ServerV6, udpPort, "1");
        Expect("HTTP over IPv6", 0, "200", curl, "-g", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", $"http://[{ServerV6}]:{HttpPort}/small.txt");
    }

    /// <summary>
    /// Loss on the workload link after both taps: each namespace's INPUT chain drops one in
    /// <paramref name="oneIn"/> of the HTTP segments it receives (iptables' statistic match), so
    /// TCP retransmits; tc and tcpdump run before INPUT, so the mirrors and the ground truth see
    /// the dropped packets and their retransmissions alike.
    /// </summary>
    public void DropHttpSegments(int oneIn)
    {
        var iptables = Tool("iptables", "iptables");
        var probability = (1.0 / oneIn).ToString("0.######", CultureInfo.InvariantCulture);
        Exec(Client, iptables, "-A", "INPUT", "-p", "tcp", "--sport", HttpPort.ToString(CultureInfo.InvariantCulture), "-m", "statistic", "--mode", "random", "--probability", probability, "-j", "DROP");
        Exec(Server, iptables, "-A", "INPUT", "-p", "tcp", "--dport", HttpPort.ToString(CultureInfo.InvariantCulture), "-m", "statistic", "--mode", "random", "--probability", probability, "-j", "DROP");
    }

    /// <summary>Segments the loss rules dropped, both namespaces together.</summary>
    public long DroppedHttpSegments()
    {
        long dropped = 0;
        foreach (var name in new[] { Client, Server })
        {
            var listing = Exec(name, Tool("iptables", "iptables"), "-L", "INPUT", "-v", "-x", "-n");
            foreach (var line in listing.Split('\n'))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 2 && fields[2] == "DROP")
                {
                    dropped += long.Parse(fields[0], CultureInfo.InvariantCulture);
                }
            }
        }

        return dropped;
    }

    /// <summary>
    /// A 1 MB HTTP download (under loss when <see cref="DropHttpSegments"/> was called), then a UDP
    /// query sent twice as the very same IP packet (a raw socket, same identification): a real
    /// duplicate on the wire, seen by both taps, answered twice by the UDP answerer.
    /// </summary>
    public void RunDoubleTapTraffic()
    {
        var curl = Tool("curl", "curl");
        Expect("ICMP echo", 0, "3", ExternalTools.DebianPython, Script, "echo", ServerV4, "3");
        Expect("HTTP download", 0, $"200 {DownloadBytes}", curl, "-sS", "--max-time", "60", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", $"http://{ServerV4}:{HttpPort}/download.bin");
        Expect("duplicated UDP query", 0, "2", ExternalTools.DebianPython, Script, "udp-twice", ClientV4, ServerV4, UdpPort.ToString(CultureInfo.InvariantCulture), DuplicatedQueryPort.ToString(CultureInfo.InvariantCulture));
        Expect("ICMPv6 echo", 0, "2", ExternalTools.DebianPython, Script, "echo", ServerV6, "2");
        Expect("HTTP over IPv6", 0, "200", curl, "-g", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", $"http://[{ServerV6}]:{HttpPort}/small.txt");
    }

    /// <summary>Starts the relay that delays the server's tap, when the lab has one.</summary>
    public void StartTapDelay()
    {
        if (_doubleTap is not { ServerTapDelayMicroseconds: > 0 } tap)
        {
            return;
        }

        // Real-time scheduling (chrt, util-linux): on a loaded machine a normal process can wait
        // milliseconds for a core, which would add its own skew to the one the test sets.
        var relay = StartIn(Collector, "tap delay relay", Tool("chrt", "util-linux"), "--fifo", "20", ExternalTools.DebianPython, "-u", Script, "relay",
            CollectorAddress, RelayPort.ToString(CultureInfo.InvariantCulture), "4789", tap.ServerTapDelayMicroseconds.ToString(CultureInfo.InvariantCulture));
        relay.WaitForLine("ready", ReadyTimeout);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            _processes[i].Dispose();
        }

        // Deleting a namespace deletes its interfaces (veths with their peers, vtap0, the tc filters).
        foreach (var name in _created)
        {
            ExternalTools.Run(Tool("ip", "iproute2"), ["netns", "del", name], CommandTimeout);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the folder is under the system temporary directory.
        }
    }

    private void Build()
    {
        foreach (var name in Namespaces)
        {
            var added = ExternalTools.Run(Tool("ip", "iproute2"), ["netns", "add", name], CommandTimeout);
            if (added.ExitCode != 0)
            {
                throw new InvalidOperationException($"'ip netns add {name}' failed (exit {added.ExitCode}): {added.StandardError.Trim()}. The kernel mirror test needs root and network namespaces.");
            }

            _created.Add(name);
            Ip("-n", name, "link", "set", "lo", "up");

            // Set on "default" before the interfaces exist, so every interface made here inherits them.
            Exec(name, Tool("sysctl", "procps"), "-qw",
                "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.router_solicitations=0", "net.ipv6.conf.all.router_solicitations=0",
                "net.ipv6.conf.default.mldv2_unsolicited_report_interval=100");
        }

        // The workload link.
        Ip("link", "add", "wl-c", "netns", Client, "type", "veth", "peer", "name", WorkloadInterface, "netns", Server);
        Ip("-n", Client, "addr", "add", $"{ClientV4}/24", "dev", "wl-c");
        Ip("-n", Client, "addr", "add", $"{ClientV6}/64", "dev", "wl-c", "nodad");
        Ip("-n", Server, "addr", "add", $"{ServerV4}/24", "dev", WorkloadInterface);
        Ip("-n", Server, "addr", "add", $"{ServerV6}/64", "dev", WorkloadInterface, "nodad");
        Ip("-n", Client, "link", "set", "wl-c", "gso_max_segs", "1");
        Ip("-n", Server, "link", "set", WorkloadInterface, "gso_max_segs", "1");
        foreach (var (name, link) in new[] { (Client, "wl-c"), (Server, WorkloadInterface) })
        {
            // Per interface: a namespace other than the first has no neigh "default" to inherit from.
            Exec(name, Tool("sysctl", "procps"), "-qw",
                $"net.ipv4.neigh.{link}.delay_first_probe_time=1", $"net.ipv6.neigh.{link}.delay_first_probe_time=1",
                $"net.ipv4.neigh.{link}.base_reachable_time_ms=600000", $"net.ipv6.neigh.{link}.base_reachable_time_ms=600000");
        }

        // The underlay from the tapped host to the collector, with room for the 50-byte VXLAN header.
        Ip("link", "add", "ul-s", "netns", Server, "address", "02:00:00:99:00:01", "type", "veth", "peer", "name", "ul-k", "netns", Collector, "address", "02:00:00:99:00:02");
        Ip("-n", Server, "addr", "add", $"{MirrorSource}/30", "dev", "ul-s");
        Ip("-n", Collector, "addr", "add", $"{CollectorAddress}/30", "dev", "ul-k");
        Ip("-n", Server, "link", "set", "ul-s", "mtu", "1600", "up");
        Ip("-n", Collector, "link", "set", "ul-k", "mtu", "1600", "up");
        Ip("-n", Server, "neigh", "replace", CollectorAddress, "lladdr", "02:00:00:99:00:02", "dev", "ul-s", "nud", "permanent");

        // The TAP: VXLAN towards the collector, fed by tc mirred from both directions of wl-s.
        var serverTapPort = _doubleTap is { ServerTapDelayMicroseconds: > 0 } ? RelayPort : 4789;
        Ip("-n", Server, "link", "add", "vtap0", "type", "vxlan", "id", Vni.ToString(CultureInfo.InvariantCulture),
            "local", MirrorSource, "remote", CollectorAddress, "dstport", serverTapPort.ToString(CultureInfo.InvariantCulture), "dev", "ul-s");
        Exec(Server, Tool("sysctl", "procps"), "-qw", "net.ipv6.conf.vtap0.disable_ipv6=1");
        Ip("-n", Server, "link", "set", "vtap0", "up");
        var tc = Tool("tc", "iproute2");
        Exec(Server, tc, "qdisc", "add", "dev", WorkloadInterface, "clsact");
        foreach (var hook in MirroredHooks)
        {
            // u32 "match u32 0 0" matches every frame; matchall is not available on every kernel.
            Exec(Server, tc, "filter", "add", "dev", WorkloadInterface, hook, "protocol", "all", "u32", "match", "u32", "0", "0",
                "action", "mirred", "egress", "mirror", "dev", "vtap0");
        }

        if (_doubleTap is { } doubleTap)
        {
            BuildClientTap(doubleTap.ClientVni);
        }

        // Up but without carrier until wl-c comes up: the capture can start on it, nothing crosses yet.
        Ip("-n", Server, "link", "set", WorkloadInterface, "up");
    }

    /// <summary>The second tap: wl-c mirrored from the client namespace, over an underlay of its own.</summary>
    private void BuildClientTap(uint vni)
    {
        Ip("link", "add", "ul-c", "netns", Client, "address", "02:00:00:98:00:01", "type", "veth", "peer", "name", "ul-d", "netns", Collector, "address", "02:00:00:98:00:02");
        Ip("-n", Client, "addr", "add", $"{ClientMirrorSource}/30", "dev", "ul-c");
        Ip("-n", Collector, "addr", "add", $"{ClientCollectorAddress}/30", "dev", "ul-d");
        Ip("-n", Client, "link", "set", "ul-c", "mtu", "1600", "up");
        Ip("-n", Collector, "link", "set", "ul-d", "mtu", "1600", "up");
        Ip("-n", Client, "neigh", "replace", ClientCollectorAddress, "lladdr", "02:00:00:98:00:02", "dev", "ul-c", "nud", "permanent");
        Ip("-n", Client, "link", "add", "vtap1", "type", "vxlan", "id", vni.ToString(CultureInfo.InvariantCulture),
            "local", ClientMirrorSource, "remote", ClientCollectorAddress, "dstport", "4789", "dev", "ul-c");
        Exec(Client, Tool("sysctl", "procps"), "-qw", "net.ipv6.conf.vtap1.disable_ipv6=1");
        Ip("-n", Client, "link", "set", "vtap1", "up");
        var tc = Tool("tc", "iproute2");
        Exec(Client, tc, "qdisc", "add", "dev", "wl-c", "clsact");
        foreach (var hook in MirroredHooks)
        {
            Exec(Client, tc, "filter", "add", "dev", "wl-c", hook, "protocol", "all", "u32", "match", "u32", "0", "0",
                "action", "mirred", "egress", "mirror", "dev", "vtap1");
        }
    }

    private void Expect(string step, int exitCode, string output, string program, params string[] arguments)
    {
        var result = ExternalTools.Run(InNamespace(Client)[0], [.. InNamespace(Client).Skip(1), program, .. arguments], CommandTimeout);
        if (result.ExitCode != exitCode || result.StandardOutput.Trim() != output)
        {
            throw new InvalidOperationException(
                $"workload step '{step}' ({Path.GetFileName(program)} {string.Join(' ', arguments)}) gave exit {result.ExitCode} and '{result.StandardOutput.Trim()}', " +
                $"expected exit {exitCode} and '{output}': {result.StandardError.Trim()}");
        }
    }

    private LabProcess StartIn(string name, string label, string program, params string[] arguments)
    {
        var process = LabProcess.Start(label, [.. InNamespace(name), program, .. arguments]);
        _processes.Add(process);
        return process;
    }

    private static string Ip(params string[] arguments) => Run(Tool("ip", "iproute2"), arguments);

    private string Exec(string name, string program, params string[] arguments) =>
        Run(InNamespace(name)[0], [.. InNamespace(name).Skip(1), program, .. arguments]);

    private static string Run(string program, IReadOnlyList<string> arguments)
    {
        var result = ExternalTools.Run(program, arguments, CommandTimeout);
        return result.ExitCode == 0
            ? result.StandardOutput
            : throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', arguments)} failed (exit {result.ExitCode}): {result.StandardError.Trim()}");
    }

    /// <summary>A program by name (also in the sbin folders, where ip, tc and sysctl live), or a failure naming its Debian package.</summary>
    private static string Tool(string name, string debianPackage) =>
        SbinFolders.Select(folder => Path.Combine(folder, name)).FirstOrDefault(File.Exists) ??
        ExternalTools.FindOnPath(name) ??
        throw new InvalidOperationException($"{name} is not installed: install the Debian package '{debianPackage}'.");

    /// <summary>
    /// The workload helpers, run by Debian's python3: ICMP and ICMPv6 echo over raw sockets (this
    /// machine has no ping), and a UDP answerer with its client (netcat is not installed). The
    /// client connects its UDP socket, so all its queries share one source port: one flow.
    /// </summary>
    private const string WorkloadScript = """
        import os, select, socket, struct, sys, time

        def checksum(data):
            if len(data) % 2:
                data += b"\0"
            total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
            total = (total >> 16) + (total & 0xFFFF)
            total += total >> 16
            return ~total & 0xFFFF

        def echo(destination, count):
            v6 = ":" in destination
            request, reply = (128, 129) if v6 else (8, 0)
            sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                                 socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
            ident, payload, answered = os.getpid() & 0xFFFF, b"vtap kernel mirror test", 0
            for seq in range(1, count + 1):
                header = struct.pack("!BBHHH", request, 0, 0, ident, seq)
                if not v6:  # the kernel fills in the ICMPv6 checksum, not the ICMP one
                    header = struct.pack("!BBHHH", request, 0, checksum(header + payload), ident, seq)
                sock.sendto(header + payload, (destination, 0))
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    if not select.select([sock], [], [], deadline - time.monotonic())[0]:
                        break
                    data = sock.recv(4096)
                    if not v6:
                        data = data[(data[0] & 0x0F) * 4:]
                    kind, _, _, their_ident, their_seq = struct.unpack("!BBHHH", data[:8])
                    if (kind, their_ident, their_seq) == (reply, ident, seq):
                        answered += 1
                        break
                time.sleep(0.05)
            print(answered)
            return answered == count

        def udp_serve(port):
            v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            v4.bind(("0.0.0.0", port))
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::", port))
            print("ready")
            while True:
                for sock in select.select([v4, v6], [], [])[0]:
                    data, peer = sock.recvfrom(4096)
                    sock.sendto(b"answer to " + data, peer)

        def udp_query(destination, port, count):
            sock = socket.socket(socket.AF_INET6 if ":" in destination else socket.AF_INET, socket.SOCK_DGRAM)
            sock.settimeout(3)
            sock.connect((destination, port))
            for i in range(count):
                sock.send(b"query %d" % i)
                sock.recv(4096)
            print(count)
            return True

        def udp_twice(source, destination, port, source_port):
            # One IPv4/UDP packet built whole (IP_HDRINCL) and sent twice: the same bytes on the wire twice.
            payload = b"duplicated query"
            udp = struct.pack("!HHHH", source_port, port, 8 + len(payload), 0) + payload
            header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x4242, 0x4000, 64, socket.IPPROTO_UDP, 0,
                                 socket.inet_aton(source), socket.inet_aton(destination))
            header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            listen.bind((source, source_port))
            listen.settimeout(3)
            for _ in range(2):
                raw.sendto(header + udp, (destination, 0))
            answers = 0
            try:
                while answers < 2:
                    listen.recv(4096)
                    answers += 1
            except socket.timeout:
                pass
            print(answers)
            return answers == 2

        def relay(address, port, forward_port, delay_us):
            # Holds every datagram delay_us, then sends it on: the skew of one tap's path.
            inbound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            inbound.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            inbound.bind((address, port))
            outbound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            outbound.bind((address, 0))
            held, delay = [], delay_us / 1e6
            print("ready")
            while True:
                timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
                if select.select([inbound], [], [], timeout)[0]:
                    held.append((time.monotonic() + delay, inbound.recv(65536)))
                now = time.monotonic()
                while held and held[0][0] <= now:
                    outbound.sendto(held.pop(0)[1], (address, forward_port))

        command = sys.argv[1]
        if command == "echo":
            ok = echo(sys.argv[2], int(sys.argv[3]))
        elif command == "udp-serve":
            ok = udp_serve(int(sys.argv[2]))
        elif command == "udp-twice":
            ok = udp_twice(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        elif command == "relay":
            ok = relay(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        else:
            ok = udp_query(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0 if ok else 1)
        """;

    /// <summary>
    /// A background program of the lab (tcpdump, a server): its standard output and error are
    /// collected as lines; Dispose kills it if it still runs.
    /// </summary>
    private sealed partial class LabProcess : IDisposable
    {
        private readonly Process _process;
        private readonly string _label;
        private readonly StringBuilder _output = new();

        private LabProcess(string label, Process process)
        {
            _label = label;
            _process = process;
        }

        /// <summary>Standard output and error so far, interleaved as they came.</summary>
        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static LabProcess Start(string label, IReadOnlyList<string> command)
        {
            var start = new ProcessStartInfo(command[0])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            foreach (var argument in command.Skip(1))
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException($"{label} did not start");
            var lab = new LabProcess(label, process);
            process.OutputDataReceived += (_, e) => lab.Append(e.Data);
            process.ErrorDataReceived += (_, e) => lab.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return lab;
        }

        public void WaitForLine(string text, TimeSpan timeout)
        {
            if (!DaemonProcess.WaitFor(() => Output.Contains(text, StringComparison.Ordinal) || _process.HasExited, timeout) ||
                !Output.Contains(text, StringComparison.Ordinal))
            {
                throw new TimeoutException($"{_label} did not print '{text}' within {timeout.TotalSeconds} s (exited: {_process.HasExited}):\n{Output}");
            }
        }

        public void Signal(int signal)
        {
            if (Kill(_process.Id, signal) != 0)
            {
                throw new InvalidOperationException($"kill({_process.Id}, {signal}) for {_label} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }

        public void WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
            {
                throw new TimeoutException($"{_label} did not exit within {timeout.TotalSeconds} s:\n{Output}");
            }

            // The parameterless wait also waits for the redirected streams to reach their end.
            _process.WaitForExit();
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.Append(line).Append('\n');
            }
        }

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static partial int Kill(int pid, int signal);
    }
}
