using System.Globalization;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Packaging;

/// <summary>
/// The service unit, its AF_PACKET drop-in, the sysctl drop-in and the NIC tuning helper, checked
/// with systemd's own analyzer and, for the helper, on a real interface in a network namespace.
/// </summary>
public class SystemdUnitTests
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(60);
    private static readonly string Unit = PackagingTools.InRepository("systemd", "vtap-collector.service");
    private static readonly string AfPacketDropIn = PackagingTools.InRepository("systemd", "af-packet.conf");
    private static readonly string GreSocketDropIn = PackagingTools.InRepository("systemd", "gre-socket.conf");
    private static readonly string AfXdpDropIn = PackagingTools.InRepository("systemd", "af-xdp.conf");

    [Fact]
    public void Unit_is_notify_with_watchdog_restart_policy_and_its_own_user_and_no_capability()
    {
        var directives = PackagingTools.UnitDirectives(Unit);
        string Value(string key) => directives.Last(d => d.Section == "Service" && d.Key == key).Value;

        Assert.Equal("notify", Value("Type"));
        Assert.Equal("30s", Value("WatchdogSec"));
        Assert.Equal("on-failure", Value("Restart"));
        Assert.Equal("vtap-collector", Value("User"));
        Assert.Equal("vtap-collector", Value("StateDirectory"));
        Assert.Equal("/usr/bin/vtap-collector run --check", Value("ExecStartPre"));
        Assert.Equal("", Value("CapabilityBoundingSet"));
        Assert.Equal("", Value("AmbientCapabilities"));
        Assert.Equal("strict", Value("ProtectSystem"));
        Assert.DoesNotContain("AF_PACKET", Value("RestrictAddressFamilies"), StringComparison.Ordinal);
    }

    [Fact]
    public void Unit_exposure_under_systemd_analyze_security_is_at_most_1_5()
    {
        var security = PackagingTools.RunOk("systemd-analyze", ["security", "--offline=yes", Unit], Quick);
        Assert.True(PackagingTools.ExposureLevel(security.StandardOutput) <= 1.5, security.StandardOutput);
    }

    [Fact]
    public void Af_packet_drop_in_adds_only_net_raw_and_packet_sockets_and_stays_below_2_1()
    {
        var directives = PackagingTools.UnitDirectives(AfPacketDropIn);
        Assert.Equal(
            ["AmbientCapabilities=CAP_NET_RAW", "CapabilityBoundingSet=CAP_NET_RAW", "PrivateUsers=no", "RestrictAddressFamilies=AF_PACKET"],
            directives.Select(d => $"{d.Key}={d.Value}").Order(StringComparer.Ordinal));

        // The unit with the drop-in where systemd would find it, analysed as installed.
        var root = Directory.CreateTempSubdirectory("vtap-security-").FullName;
        try
        {
            var system = Path.Combine(root, "etc", "systemd", "system");
            Directory.CreateDirectory(Path.Combine(system, "vtap-collector.service.d"));
            File.Copy(Unit, Path.Combine(system, "vtap-collector.service"));
            File.Copy(AfPacketDropIn, Path.Combine(system, "vtap-collector.service.d", "af-packet.conf"));
            var security = PackagingTools.RunOk("systemd-analyze", ["security", "--offline=yes", $"--root={root}", "vtap-collector.service"], Quick);
            Assert.Contains("✗ RestrictAddressFamilies=~AF_PACKET", security.StandardOutput, StringComparison.Ordinal);
            Assert.True(PackagingTools.ExposureLevel(security.StandardOutput) < 2.1, security.StandardOutput);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Gre_socket_drop_in_adds_only_net_raw_and_stays_below_2_1()
    {
        var directives = PackagingTools.UnitDirectives(GreSocketDropIn);
        Assert.Equal(
            ["AmbientCapabilities=CAP_NET_RAW", "CapabilityBoundingSet=CAP_NET_RAW", "PrivateUsers=no"],
            directives.Select(d => $"{d.Key}={d.Value}").Order(StringComparer.Ordinal));

        // Raw IP sockets are AF_INET and AF_INET6, which the unit already allows: no packet sockets.
        var root = Directory.CreateTempSubdirectory("vtap-security-").FullName;
        try
        {
            var system = Path.Combine(root, "etc", "systemd", "system");
            Directory.CreateDirectory(Path.Combine(system, "vtap-collector.service.d"));
            File.Copy(Unit, Path.Combine(system, "vtap-collector.service"));
            File.Copy(GreSocketDropIn, Path.Combine(system, "vtap-collector.service.d", "gre-socket.conf"));
            var security = PackagingTools.RunOk("systemd-analyze", ["security", "--offline=yes", $"--root={root}", "vtap-collector.service"], Quick);
            Assert.Contains("✓ RestrictAddressFamilies=~AF_PACKET", security.StandardOutput, StringComparison.Ordinal);
            Assert.True(PackagingTools.ExposureLevel(security.StandardOutput) < 2.1, security.StandardOutput);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Af_xdp_drop_in_adds_only_bpf_net_admin_net_raw_xdp_sockets_and_the_bpf_call_and_stays_at_2_1()
    {
        var directives = PackagingTools.UnitDirectives(AfXdpDropIn);
        Assert.Equal(
            [
                "AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_NET_RAW", "CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_NET_RAW", "LimitMEMLOCK=infinity",
                "PrivateUsers=no", "RestrictAddressFamilies=AF_XDP", "SystemCallFilter=bpf",
            ],
            directives.Select(d => $"{d.Key}={d.Value}").Order(StringComparer.Ordinal));

        var root = Directory.CreateTempSubdirectory("vtap-security-").FullName;
        try
        {
            var system = Path.Combine(root, "etc", "systemd", "system");
            Directory.CreateDirectory(Path.Combine(system, "vtap-collector.service.d"));
            File.Copy(Unit, Path.Combine(system, "vtap-collector.service"));
            File.Copy(AfXdpDropIn, Path.Combine(system, "vtap-collector.service.d", "af-xdp.conf"));
            var security = PackagingTools.RunOk("systemd-analyze", ["security", "--offline=yes", $"--root={root}", "vtap-collector.service"], Quick);

            // bpf() is allowed again, and only the three capabilities are in the bounding set.
            Assert.Contains("(e.g. bpf is allowed)", security.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("✓ CapabilityBoundingSet=~CAP_SYS_ADMIN", security.StandardOutput, StringComparison.Ordinal);
            Assert.True(PackagingTools.ExposureLevel(security.StandardOutput) <= 2.1, security.StandardOutput);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Sysctl_drop_in_lets_an_unprivileged_socket_have_the_default_receive_buffer()
    {
        var settings = File.ReadAllLines(PackagingTools.InRepository("packaging", "sysctl", "60-vtap-collector.conf"))
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split('=', 2, StringSplitOptions.TrimEntries))
            .ToDictionary(pair => pair[0], pair => long.Parse(pair[1], CultureInfo.InvariantCulture));

        // Every key is one this kernel has.
        Assert.All(settings.Keys, key => Assert.True(File.Exists(Path.Combine("/proc/sys", key.Replace('.', '/'))), key));

        // Sources:Udp:ReceiveBufferBytes' default (32 MiB) without CAP_NET_ADMIN needs rmem_max at least that.
        Assert.True(settings["net.core.rmem_max"] >= 32 * 1024 * 1024);
    }

    [Fact]
    public void Tune_nic_raises_the_mtu_for_vxlan_copies_and_spreads_a_single_queue_over_the_cpus()
    {
        var helper = PackagingTools.InRepository("packaging", "tune-nic");
        PackagingTools.RunOk("sh", ["-n", helper], Quick);
        PackagingTools.RunOk("shellcheck", [helper], Quick);

        // A veth interface (one receive queue, MTU 1500) in a namespace of its own.
        var ns = $"vtap-tune-{Environment.ProcessId}";
        PackagingTools.RunOk("ip", ["netns", "add", ns], Quick);
        try
        {
            PackagingTools.RunOk("ip", ["-n", ns, "link", "add", "mirror0", "type", "veth", "peer", "name", "mirror1"], Quick);
            var dryRun = PackagingTools.RunOk("ip", ["netns", "exec", ns, "sh", helper, "mirror0", "--dry-run"], Quick);
            Assert.Contains("ip link set dev mirror0 mtu 9000", dryRun.OutputLines);
            Assert.Equal("1500", InNamespace(ns, "/sys/class/net/mirror0/mtu"));

            var tuned = PackagingTools.RunOk("ip", ["netns", "exec", ns, "sh", helper, "mirror0"], Quick);
            Assert.Equal("9000", InNamespace(ns, "/sys/class/net/mirror0/mtu"));
            // nproc, as the helper counts: the CPUs this process may run on.
            var cpus = int.Parse(PackagingTools.RunOk("nproc", [], Quick).StandardOutput.Trim(), CultureInfo.InvariantCulture);
            if (cpus is > 1 and < 32)
            {
                var mask = ((1L << cpus) - 1).ToString("x", CultureInfo.InvariantCulture);
                Assert.Equal(mask, InNamespace(ns, "/sys/class/net/mirror0/queues/rx-0/rps_cpus").TrimStart('0', ','));
            }

            // A second run changes nothing and says so.
            var again = PackagingTools.RunOk("ip", ["netns", "exec", ns, "sh", helper, "mirror0"], Quick);
            Assert.Contains("mirror0: MTU 9000 (at least 9000 already)", again.StandardError, StringComparison.Ordinal);
            Assert.Contains("mirror0: MTU 1500 -> 9000", tuned.StandardError, StringComparison.Ordinal);

            Assert.NotEqual(0, PackagingTools.Run("ip", ["netns", "exec", ns, "sh", helper, "absent0"], Quick).ExitCode);
        }
        finally
        {
            ExternalTools.Run("ip", ["netns", "delete", ns], Quick);
        }
    }

    private static string InNamespace(string ns, string file) =>
        PackagingTools.RunOk("ip", ["netns", "exec", ns, "cat", file], Quick).StandardOutput.Trim();
}
