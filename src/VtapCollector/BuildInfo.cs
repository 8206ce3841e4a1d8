using System.Reflection;

namespace VtapCollector;

/// <summary>Version and build facts printed by <c>--version</c> and reported as metrics later.</summary>
internal static class BuildInfo
{
    public static string Version { get; } =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? "0.0.0";
}
