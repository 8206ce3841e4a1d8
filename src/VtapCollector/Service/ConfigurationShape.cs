using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using VtapCollector.Engine;
using VtapCollector.Engine.Sources;

namespace VtapCollector.Service;

/// <summary>
/// Checks a configuration against the settings classes before it is bound, so that a mistake is
/// reported in the user's own words: the key as they wrote it, what it may be instead, and no .NET
/// type names (the binder's own message names the class it could not bind and the property type).
/// </summary>
internal static class ConfigurationShape
{
    /// <summary>One sentence about the first key that names no setting or holds a value of the wrong kind; null when the shape fits.</summary>
    /// <remarks>
    /// The settings classes are walked by reflection; the <see cref="DynamicDependencyAttribute"/>s keep
    /// their properties in a trimmed (NativeAOT) build, where the configuration binder is source-generated.
    /// </remarks>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(CollectorSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(SourcesSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(UdpSourceSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(AfPacketSourceSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(PcapSourceSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(GreSourceSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(XdpSourceSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(AllowListSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(NetworkSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(DecoderSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(FlowSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(PipelineOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(SinksSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(StdoutSinkSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(FileSinkSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(Kafka.KafkaSinkOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(IpfixSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(MetricsSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(DedupOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(CaptureSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(CaptureSessionSettings))]
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Every settings class reachable from CollectorSettings is listed in a DynamicDependency above.")]
    public static string? Check(IConfiguration configuration, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type settings, IReadOnlyCollection<string> freeSections)
    {
        foreach (var section in configuration.GetChildren())
        {
            if (freeSections.Contains(section.Key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            if (CheckSection(section, settings, isRoot: true) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Settings property types are kept by the DynamicDependency attributes of Check.")]
    private static string? CheckSection(IConfigurationSection section, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type owner, bool isRoot = false)
    {
        var property = Settable(owner).FirstOrDefault(p => string.Equals(p.Name, section.Key, StringComparison.OrdinalIgnoreCase));
        if (property is null)
        {
            var names = string.Join(", ", Settable(owner).Select(p => p.Name));
            return isRoot
                ? $"Unknown configuration section '{section.Path}'; the sections are {names}, Logging."
                : $"Unknown configuration key '{section.Path}'; the keys under {ParentPath(section.Path)} are {names}.";
        }

        return CheckValue(section, property.PropertyType);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Settings property and list element types are kept by the DynamicDependency attributes of Check.")]
    [UnconditionalSuppressMessage("Trimming", "IL2062", Justification = "List elements of the settings are scalars (strings, numbers), whose properties are never walked.")]
    private static string? CheckValue(IConfigurationSection section, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type)
    {
        // A section that holds a value is a scalar as written, so its children are not listed: each
        // listing scans every key of every provider, and a list of thousands of values (a network's
        // prefixes) would otherwise cost that many scans.
        if (IsScalar(type) && section.Value is not null)
        {
            return Converts(section.Value, type) ? null : $"{section.Path} '{section.Value}' is not {Describe(type)}.";
        }

        var children = section.GetChildren().ToList();
        if (IsScalar(type))
        {
            if (children.Count > 0)
            {
                return $"{section.Path} takes a single value ({Describe(type)}), not a section.";
            }

            return section.Value is null || Converts(section.Value, type) ? null : $"{section.Path} '{section.Value}' is not {Describe(type)}.";
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>)))
        {
            // Pass-through maps (librdkafka properties): any key; values are checked by their component.
            // Maps of sections (Networks: name -> settings): any key; each value has the section's shape.
            var valueType = type.GetGenericArguments()[1];
            if (IsScalar(valueType))
            {
                return null;
            }

            if (section.Value is { Length: > 0 } && children.Count == 0)
            {
                return $"{section.Path} is a section of named entries, not a single value.";
            }

            foreach (var child in children)
            {
                if (CheckValue(child, valueType) is { } error)
                {
                    return error;
                }
            }

            return null;
        }

        if (typeof(IEnumerable).IsAssignableFrom(type) && type.IsGenericType)
        {
            var element = type.GetGenericArguments()[0];
            if (section.Value is { Length: > 0 } && children.Count == 0)
            {
                return $"{section.Path} is a list: write it as a JSON array, or as {section.Path}:0, {section.Path}:1, ... .";
            }

            foreach (var child in children)
            {
                if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    return $"{section.Path} is a list, but '{child.Path}' is not an index (0, 1, 2, ...).";
                }

                if (CheckValue(child, element) is { } error)
                {
                    return error;
                }
            }

            return null;
        }

        if (section.Value is { Length: > 0 } && children.Count == 0)
        {
            return $"{section.Path} is a section with the keys {string.Join(", ", Settable(type).Select(p => p.Name))}, not a single value.";
        }

        foreach (var child in children)
        {
            if (CheckSection(child, type) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    private static IEnumerable<PropertyInfo> Settable([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0);

    private static bool IsScalar(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying.IsPrimitive || underlying.IsEnum || underlying == typeof(string) || underlying == typeof(decimal) || underlying == typeof(TimeSpan);
    }

    /// <summary>Whether the binder can turn <paramref name="value"/> into <paramref name="type"/> (invariant culture, as it reads configuration).</summary>
    private static bool Converts(string value, Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        var c = CultureInfo.InvariantCulture;
        return underlying switch
        {
            _ when underlying.IsEnum => Enum.GetNames(underlying).Contains(value, StringComparer.OrdinalIgnoreCase),
            _ when underlying == typeof(string) => true,
            _ when underlying == typeof(bool) => bool.TryParse(value, out _),
            _ when underlying == typeof(int) => int.TryParse(value, NumberStyles.Integer, c, out _),
            _ when underlying == typeof(long) => long.TryParse(value, NumberStyles.Integer, c, out _),
            _ when underlying == typeof(short) => short.TryParse(value, NumberStyles.Integer, c, out _),
            _ when underlying == typeof(uint) => uint.TryParse(value, NumberStyles.Integer, c, out _),
            _ when underlying == typeof(ulong) => ulong.TryParse(value, NumberStyles.Integer, c, out _),
            _ when underlying == typeof(ushort) => ushort.TryParse(value, NumberStyles.Integer, c, out _),
            _ when underlying == typeof(byte) => byte.TryParse(value, NumberStyles.Integer, c, out _),
            _ when underlying == typeof(double) => double.TryParse(value, NumberStyles.Float, c, out _),
            _ when underlying == typeof(float) => float.TryParse(value, NumberStyles.Float, c, out _),
            _ when underlying == typeof(decimal) => decimal.TryParse(value, NumberStyles.Number, c, out _),
            _ when underlying == typeof(TimeSpan) => TimeSpan.TryParse(value, c, out _),
            _ => true,
        };
    }

    private static string Describe(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying switch
        {
            _ when underlying.IsEnum => "one of " + string.Join(", ", Enum.GetNames(underlying)),
            _ when underlying == typeof(bool) => "true or false",
            _ when underlying == typeof(int) || underlying == typeof(long) || underlying == typeof(short) => "a whole number",
            _ when underlying == typeof(uint) || underlying == typeof(ulong) || underlying == typeof(ushort) || underlying == typeof(byte) => "a whole number of at least 0",
            _ when underlying == typeof(double) || underlying == typeof(float) || underlying == typeof(decimal) => "a number",
            _ when underlying == typeof(TimeSpan) => "a duration such as 00:00:05",
            _ => "text",
        };
    }

    private static string ParentPath(string path)
    {
        var colon = path.LastIndexOf(':');
        return colon < 0 ? path : path[..colon];
    }
}
