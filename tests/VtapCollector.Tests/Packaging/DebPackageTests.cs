using System.Text.Json;
using VtapCollector.Tests.Oracle;
using VtapCollector.Tests.Run;

namespace VtapCollector.Tests.Packaging;

/// <summary>
/// The .deb that packaging/build-deb.sh makes: its fields, its contents, its maintainer scripts,
/// lintian's verdict, a real install/upgrade/remove/purge with dpkg, and the executable inside it.
/// In the daemon collection: the build and the dpkg runs are heavy for this two-core machine.
/// </summary>
[Collection(DaemonTests.Name)]
public class DebPackageTests(DebPackageFixture package) : IClassFixture<DebPackageFixture>
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Slow = TimeSpan.FromMinutes(5);

    [Fact]
    public void Control_fields_name_the_package_its_build_version_and_the_native_libraries_it_loads()
    {
        Assert.Equal("vtap-collector", package.Field("Package"));
        Assert.Equal("amd64", package.Field("Architecture"));

        // The version is the build's, the same that the executable prints, plus the Debian revision.
        var printed = PackagingTools.RunOk(package.PublishedBinary, ["--version"], Quick).StandardOutput.Trim();
        Assert.Equal($"{printed["vtap-collector ".Length..]}-1", package.Field("Version"));

        var depends = package.Field("Depends").Split(',', StringSplitOptions.TrimEntries);
        Assert.Contains(depends, d => d.StartsWith("librdkafka1", StringComparison.Ordinal));
        Assert.Contains(depends, d => d.StartsWith("libpcap0.8", StringComparison.Ordinal));
        Assert.Contains("adduser", depends);
        Assert.Contains(depends, d => d.StartsWith("libc6 (>= 2.27)", StringComparison.Ordinal));
    }

    [Fact]
    public void Contents_put_program_command_configuration_units_and_sysctl_where_debian_expects_them()
    {
        var listing = PackagingTools.RunOk("dpkg-deb", ["-c", package.DebPath], Quick).OutputLines;
        var entries = listing.Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        string Mode(string path) => entries.Single(e => e[5] == path)[0];

        Assert.Equal("-rwxr-xr-x", Mode("./usr/lib/vtap-collector/vtap-collector"));
        Assert.Equal("-rwxr-xr-x", Mode("./usr/lib/vtap-collector/tune-nic"));
        Assert.Contains(entries, e => e[5] == "./usr/bin/vtap-collector" && e[0].StartsWith('l') && e[7] == "../lib/vtap-collector/vtap-collector");
        Assert.Equal("-rw-r--r--", Mode("./etc/vtap-collector/vtap-collector.json"));
        Assert.Equal("-rw-r--r--", Mode("./lib/systemd/system/vtap-collector.service"));
        Assert.Equal("-rw-r--r--", Mode("./lib/systemd/system/vtap-collector-tune-nic@.service"));
        Assert.Equal("-rw-r--r--", Mode("./usr/lib/sysctl.d/60-vtap-collector.conf"));
        foreach (var documentation in new[] { "copyright", "changelog.Debian.gz", "examples/af-packet.conf", "examples/gre-socket.conf", "examples/af-xdp.conf", "examples/container.json" })
        {
            Assert.Contains(entries, e => e[5] == $"./usr/share/doc/vtap-collector/{documentation}");
        }

        Assert.Contains(entries, e => e[5] == "./usr/share/man/man1/vtap-collector.1.gz");
        Assert.All(entries, e => Assert.Equal("root/root", e[1]));

        // One self-contained executable: no debug symbols, no loose assemblies, no bundled librdkafka.
        Assert.DoesNotContain(entries, e => e[5].EndsWith(".pdb", StringComparison.Ordinal) || e[5].EndsWith(".dll", StringComparison.Ordinal) || e[5].Contains("librdkafka", StringComparison.Ordinal));
    }

    [Fact]
    public void Configuration_is_the_only_conffile_and_passes_run_check()
    {
        var control = Extract(["-e"]);
        Assert.Equal(["/etc/vtap-collector/vtap-collector.json"], File.ReadAllLines(Path.Combine(control, "conffiles")));

        var tree = Extract(["-x"]);
        var configuration = Path.Combine(tree, "etc", "vtap-collector", "vtap-collector.json");
        var check = PackagingTools.RunOk(package.PublishedBinary, ["run", "--check", "--config", configuration], Quick,
            new Dictionary<string, string> { ["VTAP_SYSTEM_CONFIG"] = Path.Combine(tree, "none.json") });
        Assert.Contains("the configuration is valid", check.StandardError, StringComparison.Ordinal);

        // Safe by default on any machine: metrics on loopback, records to files the service owns.
        using var json = PackagingTools.ParseConfiguration(configuration);
        Assert.Equal("127.0.0.1:9464", json.RootElement.GetProperty("Metrics").GetProperty("Listen").GetString());
        Assert.StartsWith("/var/lib/vtap-collector/", json.RootElement.GetProperty("Sinks").GetProperty("File").GetProperty("Path").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Maintainer_scripts_are_posix_shell_that_shellcheck_accepts()
    {
        var control = Extract(["-e"]);
        var scripts = new[] { "postinst", "prerm", "postrm" }.Select(name => Path.Combine(control, name)).ToArray();
        foreach (var script in scripts)
        {
            Assert.Equal("#!/bin/sh", File.ReadLines(script).First());
            PackagingTools.RunOk("sh", ["-n", script], Quick);
        }

        PackagingTools.RunOk("shellcheck", ["--shell=sh", .. scripts], Quick);
    }

    [Fact]
    public void Lintian_finds_nothing_beyond_the_justified_overrides()
    {
        var lintian = PackagingTools.Run("lintian", ["--pedantic", "--display-info", "--fail-on", "error,warning,info,pedantic", package.DebPath], Slow);
        var tags = lintian.OutputLines.Where(line => line.Length > 2 && line[1] == ':' && "EWIPX".Contains(line[0], StringComparison.Ordinal)).ToList();
        Assert.True(lintian.ExitCode == 0 && tags.Count == 0, string.Join('\n', tags) + lintian.StandardError);

        // Every override says why, in a comment right above it.
        var overrides = File.ReadAllLines(PackagingTools.InRepository("packaging", "debian", "lintian-overrides"));
        for (var i = 0; i < overrides.Length; i++)
        {
            if (overrides[i].StartsWith("vtap-collector:", StringComparison.Ordinal))
            {
                Assert.True(i > 0 && overrides[i - 1].StartsWith('#'), $"override without a reason: {overrides[i]}");
            }
        }
    }

    [Fact]
    public void Install_upgrade_remove_and_purge_with_dpkg_in_a_throwaway_overlay_leave_this_machine_untouched()
    {
        var before = MachineState();
        var cycle = PackagingTools.Run("bash", [PackagingTools.InRepository("packaging", "check-lifecycle.sh"), package.DebPath, package.OlderDebPath], Slow);
        var after = MachineState();

        Assert.True(cycle.ExitCode == 0, cycle.StandardOutput + cycle.StandardError);
        string[] steps =
        [
            $"ok: installed {DebPackageFixture.OlderVersion}-1",
            "ok: system user vtap-collector",
            "ok: state directory /var/lib/vtap-collector, vtap-collector:vtap-collector 750",
            "ok: configuration root:vtap-collector 640",
            "ok: run --check as vtap-collector",
            "ok: enabled, daemon-reload, started, sysctl drop-in applied",
            "ok: systemd-analyze verify: the installed units are clean",
            $"ok: upgraded {DebPackageFixture.OlderVersion}-1 -> {package.Field("Version")}: configuration change, records, user, mode and disabled state kept",
            "ok: an upgrade restarts the enabled service",
            "ok: removed: stopped, program and unit gone, configuration, records and user kept",
            "ok: purged: configuration, records, user, group, statoverride and systemd state gone",
        ];
        foreach (var step in steps)
        {
            Assert.Contains(cycle.OutputLines, line => line.StartsWith(step, StringComparison.Ordinal));
        }

        Assert.Equal(before, after);
    }

    [Fact]
    public void Unit_passes_systemd_analyze_verify_with_the_published_binary_in_place()
    {
        // verify insists that ExecStart's program exists: a copy of the unit points at the publish.
        var directory = Directory.CreateTempSubdirectory("vtap-unit-").FullName;
        try
        {
            var unit = Path.Combine(directory, "vtap-collector.service");
            File.WriteAllText(unit, File.ReadAllText(PackagingTools.InRepository("systemd", "vtap-collector.service"))
                .Replace("/usr/bin/vtap-collector", package.PublishedBinary, StringComparison.Ordinal));
            var verify = PackagingTools.RunOk("systemd-analyze", ["verify", "--man=no", unit], Quick);
            Assert.Equal("", (verify.StandardOutput + verify.StandardError).Trim());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Published_binary_replays_the_bundled_sample_into_flow_records()
    {
        var replay = PackagingTools.RunOk(package.PublishedBinary, ["replay"], Quick);
        Assert.NotEmpty(replay.OutputLines);
        foreach (var line in replay.OutputLines)
        {
            using var record = JsonDocument.Parse(line);
            Assert.Equal("vtap-flow/1", record.RootElement.GetProperty("schema").GetString());
        }
    }

    [Fact]
    public void Container_configuration_passes_run_check_as_the_image_build_runs_it()
    {
        var check = PackagingTools.RunOk(package.PublishedBinary, ["run", "--check", "--config", PackagingTools.InRepository("packaging", "container.json")], Quick,
            new Dictionary<string, string> { ["VTAP_SYSTEM_CONFIG"] = Path.Combine(package.OutputDirectory, "none.json") });
        Assert.Contains("the configuration is valid", check.StandardError, StringComparison.Ordinal);
    }

    private string Extract(string[] mode)
    {
        var directory = Path.Combine(package.OutputDirectory, $"{mode[0].TrimStart('-')}-{Guid.NewGuid():N}");
        PackagingTools.RunOk("dpkg-deb", [.. mode, package.DebPath, directory], Quick);
        return directory;
    }

    /// <summary>What the lifecycle test must not change on this machine: the package's state and the user.</summary>
    private static string MachineState()
    {
        var status = ExternalTools.Run("dpkg-query", ["-W", "-f=${Status} ${Version}", "vtap-collector"], Quick);
        var user = ExternalTools.Run("getent", ["passwd", "vtap-collector"], Quick);
        return $"{status.ExitCode} {status.StandardOutput} | {user.ExitCode} {user.StandardOutput}";
    }
}
