namespace VtapCollector.Export.Formats;

/// <summary>The output formats a sink may name in its <c>Format</c> setting, and the encoder of each.</summary>
public static class RecordFormats
{
    /// <summary>The format a sink carries when its configuration names none.</summary>
    public const string Default = VtapJsonEncoder.FormatName;

    /// <summary>Every format name, in the order the documentation lists them.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [VtapJsonEncoder.FormatName, EcsJsonEncoder.FormatName, OcsfJsonEncoder.FormatName, AzureFlowTupleEncoder.FormatName];

    /// <summary>A new encoder for <paramref name="name"/> (case-insensitive), or null when no format has that name.</summary>
    public static IRecordEncoder? Create(string? name) => (name ?? Default).ToLowerInvariant() switch
    {
        VtapJsonEncoder.FormatName => new VtapJsonEncoder(),
        EcsJsonEncoder.FormatName => new EcsJsonEncoder(),
        OcsfJsonEncoder.FormatName => new OcsfJsonEncoder(),
        AzureFlowTupleEncoder.FormatName => new AzureFlowTupleEncoder(),
        _ => null,
    };

    /// <summary>One sentence saying <paramref name="name"/> is not a format, for the setting <paramref name="key"/>; null when it is one.</summary>
    public static string? Validate(string key, string? name) =>
        Create(name) is null ? $"{key} '{name}' is not a record format; use one of: {string.Join(", ", Names)}." : null;
}
