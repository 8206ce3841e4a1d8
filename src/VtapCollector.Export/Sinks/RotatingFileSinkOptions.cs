using System.Globalization;

namespace VtapCollector.Export.Sinks;

/// <summary>
/// Where and how <see cref="RotatingFileSink"/> writes, bound from the <c>Sinks:File</c>
/// configuration section; <see cref="Validate"/> names those configuration keys.
/// </summary>
public sealed class RotatingFileSinkOptions
{
    /// <summary>The smallest <see cref="MaxFileBytes"/>: one record of the largest size, and its newline, must fit in a file.</summary>
    public const long MinFileBytes = FlowRecordJsonEncoder.MaxRecordLength + 1;

    /// <summary>The record format written (<see cref="Formats.RecordFormats.Names"/>). Default <c>vtap</c>.</summary>
    public string Format { get; init; } = Formats.RecordFormats.Default;

    /// <summary>
    /// The active file, which <c>tail -F</c> can follow. Rotated files are renamed next to it to
    /// <c>&lt;stem&gt;-&lt;yyyyMMddTHHmmssfffZ&gt;[-n]&lt;extension&gt;</c>. Default /var/lib/vtap-collector/flows.jsonl.
    /// </summary>
    public string Path { get; init; } = "/var/lib/vtap-collector/flows.jsonl";

    /// <summary>The active file is rotated before a record would take it beyond this size, in bytes. Default 104857600 (100 MiB).</summary>
    public long MaxFileBytes { get; init; } = 100L * 1024 * 1024;

    /// <summary>
    /// A file that has held records this long is rotated before the next record; <see cref="TimeSpan.Zero"/>
    /// rotates by size only. The interval starts at the file's first record (or when the sink
    /// opened an existing file). Default 1 hour.
    /// </summary>
    public TimeSpan RotateInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// After each rotation the oldest rotated files of this sink are deleted until they and the
    /// active file together take at most this many bytes. Files that do not match the rotated-file
    /// name pattern are neither counted nor deleted. The active file keeps growing until the next
    /// rotation, so disk use peaks at about this plus <see cref="MaxFileBytes"/>. Default 1073741824 (1 GiB).
    /// </summary>
    public long MaxTotalBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>Permissions of a file the sink creates (the process umask still applies). Default 0640.</summary>
    public UnixFileMode FilePermissions { get; init; } = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    /// <summary>While the file cannot be opened or written, the sink tries again at most this often. Default 5 seconds.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Returns one sentence naming the first invalid setting, or null when all are valid.</summary>
    public string? Validate()
    {
        if (Formats.RecordFormats.Validate("Sinks:File:Format", Format) is { } formatError)
        {
            return formatError;
        }

        if (string.IsNullOrWhiteSpace(Path))
        {
            return "Sinks:File:Path must name the file to write (it is empty).";
        }

        if (Path.Contains('\0', StringComparison.Ordinal))
        {
            return "Sinks:File:Path contains a NUL character.";
        }

        if (string.IsNullOrEmpty(System.IO.Path.GetFileName(Path)))
        {
            return $"Sinks:File:Path '{Path}' must name a file, not a directory.";
        }

        if (MaxFileBytes < MinFileBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:File:MaxFileBytes ({MaxFileBytes}) must be at least {MinFileBytes}, the size of the largest record and its newline.");
        }

        if (MaxTotalBytes < MaxFileBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:File:MaxTotalBytes ({MaxTotalBytes}) must be at least Sinks:File:MaxFileBytes ({MaxFileBytes}).");
        }

        // The configuration gives this interval in whole seconds, under the key named here.
        if (RotateInterval < TimeSpan.Zero || (RotateInterval > TimeSpan.Zero && RotateInterval < TimeSpan.FromSeconds(1)))
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:File:RotateIntervalSeconds ({RotateInterval.TotalSeconds}) must be 0 (rotate by size only) or at least 1 second.");
        }

        if (RetryInterval <= TimeSpan.Zero)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:File:RetryInterval ({RetryInterval.TotalSeconds} s) must be positive.");
        }

        const UnixFileMode PermissionBits = (UnixFileMode)0b111_111_111;
        if ((FilePermissions & ~PermissionBits) != 0)
        {
            return $"Sinks:File:FilePermissions ({Octal(FilePermissions)}) may hold only permission bits (at most 0777).";
        }

        if ((FilePermissions & UnixFileMode.UserWrite) == 0)
        {
            return $"Sinks:File:FilePermissions ({Octal(FilePermissions)}) must let the owner write (0200), or the sink could not reopen its own file.";
        }

        return null;
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode, 8).PadLeft(3, '0');
}
