using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Run;

/// <summary>Prometheus' own tools (Debian package <c>prometheus</c>): the exposition checker and the server.</summary>
internal static class Promtool
{
    public static string PromtoolPath => ExternalTools.FindOnPath("promtool") ??
        throw new InvalidOperationException("promtool is not installed: install the Debian package 'prometheus' (scripts/install-deps.sh does).");

    public static string PrometheusPath => ExternalTools.FindOnPath("prometheus") ??
        throw new InvalidOperationException("prometheus is not installed: install the Debian package 'prometheus' (scripts/install-deps.sh does).");

    /// <summary>Runs <c>promtool check metrics</c> (format and naming conventions) on a scraped page.</summary>
    public static ToolResult CheckMetrics(string exposition)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, exposition);
            return ExternalTools.Run(PromtoolPath, ["check", "metrics"], TimeSpan.FromSeconds(30), standardInputFile: file);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
