using System.Reflection;
using System.Runtime.InteropServices;

namespace VtapCollector.Kafka;

/// <summary>
/// Chooses the librdkafka that Confluent.Kafka (and the tests' mock cluster) use, once per process:
/// a copy bundled with the application (the librdkafka.redist package, <c>-p:KafkaNative=bundled</c>)
/// before the operating system's (<c>librdkafka.so.1</c>, Debian package librdkafka1, <c>-p:KafkaNative=system</c>).
/// </summary>
/// <remarks>
/// Confluent.Kafka's own search would take a system <c>librdkafka.so</c> (from librdkafka-dev) over the
/// bundled one whenever the bundled default build cannot load (on Debian it needs <c>libsasl2.so.3</c>,
/// which Debian names <c>libsasl2.so.2</c>), so the choice is made here, deterministically. Candidates,
/// in order, each in the application's directory and in <c>runtimes/&lt;rid&gt;/native</c>:
/// <c>librdkafka.so</c> (glibc build linked against Cyrus SASL <c>libsasl2.so.3</c>, as on RHEL, for GSSAPI),
/// <c>centos8-librdkafka.so</c> (glibc build needing nothing beyond libc: TLS, SASL PLAIN, SCRAM,
/// OAUTHBEARER with <c>sasl.oauthbearer.method=oidc</c>, no GSSAPI); then the system's <c>librdkafka.so.1</c>
/// and <c>librdkafka.so</c> (Debian 12's 2.0.2 has GSSAPI but no OIDC, and is too old for Confluent.Kafka's
/// consumer, which the sink does not use).
/// </remarks>
public static class KafkaNativeLibrary
{
    private static readonly Lock Gate = new();
    private static nint _handle;
    private static string? _path;
    private static bool _resolverSet;

    /// <summary>The file the library was loaded from (a bare name for the system's), or null before <see cref="EnsureLoaded"/>.</summary>
    public static string? LoadedFrom => _path;

    /// <summary>librdkafka's version, e.g. <c>2.16.0</c>, after <see cref="EnsureLoaded"/>.</summary>
    public static string Version
    {
        get
        {
            EnsureLoaded();
            return Confluent.Kafka.Library.VersionString;
        }
    }

    /// <summary>
    /// Loads librdkafka and routes Confluent.Kafka's native calls to it. Idempotent and thread-safe.
    /// Returns the library's handle, for callers with native calls of their own (<see cref="NativeLibrary.GetExport"/>).
    /// </summary>
    /// <exception cref="DllNotFoundException">No candidate loads; the message lists what was tried and why each failed.</exception>
    public static nint EnsureLoaded()
    {
        lock (Gate)
        {
            if (_handle != 0)
            {
                return _handle;
            }

            var failures = new List<string>();
            foreach (var candidate in Candidates())
            {
                try
                {
                    _handle = NativeLibrary.Load(candidate);
                    _path = candidate;
                    break;
                }
                catch (DllNotFoundException error)
                {
                    failures.Add(error.Message.Split('\n')[0]);
                }
                catch (BadImageFormatException error)
                {
                    failures.Add($"{candidate}: {error.Message}");
                }
            }

            if (_handle == 0)
            {
                throw new DllNotFoundException(
                    "librdkafka could not be loaded: build with -p:KafkaNative=bundled, or install the operating system's (Debian: apt-get install librdkafka1). Tried: "
                    + string.Join("; ", failures));
            }

            if (!_resolverSet)
            {
                NativeLibrary.SetDllImportResolver(typeof(Confluent.Kafka.Library).Assembly, Resolve);
                _resolverSet = true;
            }

            return _handle;
        }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name.Contains("rdkafka", StringComparison.Ordinal) ? _handle : 0;

    private static IEnumerable<string> Candidates()
    {
        var baseDirectory = AppContext.BaseDirectory;
        var architecture = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.Arm64 => "linux-arm64",
            _ => "linux-x64",
        };
        string[] directories = [baseDirectory, Path.Combine(baseDirectory, "runtimes", architecture, "native")];
        foreach (var file in new[] { "librdkafka.so", "centos8-librdkafka.so" })
        {
            foreach (var directory in directories)
            {
                var path = Path.Combine(directory, file);
                if (File.Exists(path))
                {
                    yield return path;
                }
            }
        }

        yield return "librdkafka.so.1";
        yield return "librdkafka.so";
    }
}
