using System.Text.Json;
using System.Text.RegularExpressions;
using VtapCollector.Tests.Run;

namespace VtapCollector.Tests.Packaging;

/// <summary>
/// The Dockerfile, without a Docker engine (none runs here): a Dockerfile linter, its structure,
/// its build stage's publish against the package's, and its health check run against a real
/// collector. The publish itself is what the package tests build and run.
/// </summary>
[Collection(DaemonTests.Name)]
public partial class ContainerTests
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(60);
    private static readonly string DockerfilePath = PackagingTools.InRepository("Dockerfile");

    /// <summary>Instructions with their continuation lines joined, comments left out.</summary>
    private static readonly IReadOnlyList<(string Instruction, string Arguments)> Instructions = ParseDockerfile(File.ReadAllLines(DockerfilePath));

    [Fact]
    public void Dockerfile_passes_the_dockerfile_linter()
    {
        var lint = PackagingTools.RunOk("bash", [PackagingTools.InRepository("packaging", "lint-dockerfile.sh"), DockerfilePath], TimeSpan.FromMinutes(3));
        Assert.DoesNotContain("Error", lint.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_has_a_build_stage_and_a_pinned_debian_runtime_stage_running_as_non_root()
    {
        var stages = Instructions.Where(i => i.Instruction == "FROM").Select(i => i.Arguments.Split(' ')).ToList();
        Assert.Equal(2, stages.Count);
        Assert.All(stages, from =>
        {
            // image:tag AS name, the tag a version (digits), never latest.
            Assert.Equal(3, from.Length);
            Assert.Equal("AS", from[1]);
            Assert.Matches(PinnedTag(), from[0]);
            Assert.DoesNotContain("latest", from[0], StringComparison.Ordinal);
        });
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:", stages[0][0], StringComparison.Ordinal);
        Assert.StartsWith("debian:12", stages[1][0], StringComparison.Ordinal);

        var runtime = Instructions.SkipWhile(i => i.Instruction != "FROM" || !i.Arguments.EndsWith("AS runtime", StringComparison.Ordinal)).ToList();
        var user = runtime.Last(i => i.Instruction == "USER").Arguments;
        Assert.NotEqual("0", user.Split(':')[0]);
        Assert.NotEqual("root", user.Split(':')[0]);
        Assert.Contains(runtime, i => i.Instruction == "COPY" && i.Arguments == "--from=build /out/vtap-collector /usr/lib/vtap-collector/vtap-collector");
        Assert.Contains(runtime, i => i.Instruction == "COPY" && i.Arguments == "packaging/container.json /etc/vtap-collector/vtap-collector.json");
        Assert.Equal("[\"/usr/bin/vtap-collector\"]", runtime.Single(i => i.Instruction == "ENTRYPOINT").Arguments);
        Assert.Equal("[\"run\"]", runtime.Single(i => i.Instruction == "CMD").Arguments);
    }

    [Fact]
    public void Dockerfile_exposes_vxlan_and_metrics_and_documents_host_network_and_net_raw()
    {
        Assert.Equal("4789/udp 9464/tcp", Instructions.Single(i => i.Instruction == "EXPOSE").Arguments);
        var text = File.ReadAllText(DockerfilePath);
        Assert.Contains("--network host", text, StringComparison.Ordinal);
        Assert.Contains("--cap-drop ALL --cap-add NET_RAW", text, StringComparison.Ordinal);
        Assert.Contains("-p 4789:4789/udp -p 9464:9464", text, StringComparison.Ordinal);

        // The image's configuration is the one for containers: every address, stdout, metrics reachable.
        using var json = PackagingTools.ParseConfiguration(PackagingTools.InRepository("packaging", "container.json"));
        var root = json.RootElement;
        Assert.Equal("0.0.0.0:4789", root.GetProperty("Sources").GetProperty("Udp").GetProperty("Listen")[0].GetString());
        Assert.True(root.GetProperty("Sinks").GetProperty("Stdout").GetProperty("Enabled").GetBoolean());
        Assert.Equal("0.0.0.0:9464", root.GetProperty("Metrics").GetProperty("Listen").GetString());
    }

    [Fact]
    public void Build_stage_publishes_exactly_as_the_package_script_does()
    {
        var stage = Instructions.Single(i => i.Instruction == "RUN" && i.Arguments.StartsWith("dotnet publish", StringComparison.Ordinal)).Arguments;
        var script = string.Join(' ', File.ReadAllLines(PackagingTools.InRepository("packaging", "build-deb.sh"))
            .SkipWhile(line => !line.TrimStart().StartsWith("dotnet publish", StringComparison.Ordinal))
            .TakeWhile(line => line.TrimEnd().EndsWith('\\') || line.TrimStart().StartsWith("dotnet publish", StringComparison.Ordinal))
            .Select(line => line.Trim().TrimEnd('\\')));

        Assert.Equal(PublishProperties(script), PublishProperties(stage));
        Assert.Contains("-p:KafkaNative=system", stage, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerignore_keeps_build_outputs_out_of_the_context_but_not_what_the_build_copies()
    {
        var ignored = File.ReadAllLines(PackagingTools.InRepository(".dockerignore")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
        Assert.Contains(".git/", ignored);
        foreach (var copied in Instructions.Where(i => i.Instruction == "COPY" && !i.Arguments.StartsWith("--from", StringComparison.Ordinal))
                     .SelectMany(i => i.Arguments.Split(' ')[..^1]))
        {
            Assert.DoesNotContain(ignored, pattern => copied.StartsWith(pattern.TrimEnd('/'), StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Healthcheck_command_passes_against_a_running_collector_and_fails_once_it_stops()
    {
        var healthcheck = Instructions.Single(i => i.Instruction == "HEALTHCHECK").Arguments;
        Assert.Contains("/healthz", healthcheck, StringComparison.Ordinal);
        var command = JsonSerializer.Deserialize<string[]>(healthcheck[healthcheck.IndexOf("CMD [", StringComparison.Ordinal)..][4..])!;

        using var daemon = DaemonProcess.Start("""{ "Sources": { "Udp": { "Listen": [ "127.0.0.1:{udp}" ] } }, "Sinks": { "Stdout": { "Enabled": true } }, "Metrics": { "Listen": "127.0.0.1:{metrics}" } }""");
        string[] Probe() => [.. command.Skip(1).Select(a => a.Replace("/9464", $"/{daemon.MetricsPort}", StringComparison.Ordinal))];

        Assert.Equal(0, PackagingTools.Run(command[0], Probe(), Quick).ExitCode);
        Assert.Equal(0, daemon.Terminate(TimeSpan.FromSeconds(30)));
        Assert.NotEqual(0, PackagingTools.Run(command[0], Probe(), Quick).ExitCode);
    }

    private static SortedSet<string> PublishProperties(string command) =>
        new(command.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(word => word.StartsWith("-p:", StringComparison.Ordinal) || word is "-c" or "Release" or "-r" or "linux-x64" or "--self-contained"), StringComparer.Ordinal);

    private static List<(string, string)> ParseDockerfile(string[] lines)
    {
        var instructions = new List<(string, string)>();
        var current = "";
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && current.Length == 0))
            {
                continue;
            }

            current += (current.Length > 0 ? " " : "") + line.TrimEnd('\\').Trim();
            if (!line.EndsWith('\\'))
            {
                var space = current.IndexOf(' ', StringComparison.Ordinal);
                instructions.Add((current[..space], current[(space + 1)..]));
                current = "";
            }
        }

        return instructions;
    }

    [GeneratedRegex(@"^[a-z0-9./-]+:[0-9][0-9.]*(-[a-z]+)*$")]
    private static partial Regex PinnedTag();
}
