using System.Security.Cryptography;
using System.Text;

namespace VtapCollector.Tests.Packaging;

/// <summary>
/// The .deb, built once for all the package tests by packaging/build-deb.sh, as a release is: a
/// self-contained, single-file, ReadyToRun publish (a minute or two, the slow part), then
/// dpkg-deb. A second package with an older version is made from the same publish for the upgrade
/// test. Both use gzip rather than the release default xz: the contents and scripts are the same,
/// and xz takes a minute more for the 120 MB executable.
/// </summary>
public sealed class DebPackageFixture : IDisposable
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);

    public DebPackageFixture()
    {
        OutputDirectory = Directory.CreateTempSubdirectory("vtap-deb-test-").FullName;

        // One publish folder per checkout, kept between runs: dotnet publishes incrementally, so
        // a second run of the tests takes seconds here instead of minutes.
        var checkout = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(PackagingTools.RepositoryRoot)))[..12];
        var artifacts = Path.Combine(Path.GetTempPath(), $"vtap-deb-test-artifacts-{checkout}");
        var script = PackagingTools.InRepository("packaging", "build-deb.sh");

        var build = PackagingTools.RunOk("bash", [script, "--output", OutputDirectory, "--artifacts-path", artifacts, "--compression", "gzip"], BuildTimeout);
        DebPath = build.OutputLines[^1];
        PublishedBinary = Path.Combine(artifacts, "publish", "vtap-collector");

        var older = PackagingTools.RunOk("bash", [script, "--output", Path.Combine(OutputDirectory, "older"), "--publish-dir", Path.Combine(artifacts, "publish"), "--version", OlderVersion, "--compression", "gzip"], BuildTimeout);
        OlderDebPath = older.OutputLines[^1];
    }

    /// <summary>The upstream version of the package the upgrade starts from: older than any release.</summary>
    public const string OlderVersion = "0.0.1";

    public string OutputDirectory { get; }

    public string DebPath { get; }

    public string OlderDebPath { get; }

    /// <summary>The executable the package holds, as published.</summary>
    public string PublishedBinary { get; }

    /// <summary>A field of the package's control file (dpkg-deb -f).</summary>
    public string Field(string name) =>
        PackagingTools.RunOk("dpkg-deb", ["-f", DebPath, name], TimeSpan.FromSeconds(30)).StandardOutput.Trim();

    public void Dispose() => Directory.Delete(OutputDirectory, recursive: true);
}
