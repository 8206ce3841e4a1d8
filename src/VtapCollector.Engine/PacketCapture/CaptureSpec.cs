namespace VtapCollector.Engine.PacketCapture;

/// <summary>
/// One capture session's settings, whether it comes from the configuration (<c>Capture:Sessions</c>),
/// the HTTP API or the command line. Limits of 0 mean none: a session runs until it is stopped.
/// </summary>
internal sealed record CaptureSpec
{
    /// <summary>
    /// Default bytes kept of each packet: a whole jumbo frame (9000-byte MTU and its headers). Longer
    /// packets (GSO super-packets) are cut; the file records their whole length. Every queue slot is
    /// this long, so a larger default would buy fewer slots with the same memory.
    /// </summary>
    public const int DefaultSnapLength = 9216;

    /// <summary>The session's name: its id in the API and the prefix of its files ([A-Za-z0-9_-], 1-64 characters).</summary>
    public required string Name { get; init; }

    /// <summary>What the session keeps.</summary>
    public CaptureFilter Filter { get; init; } = CaptureFilter.All;

    /// <summary>Bytes kept of each packet (the rest is cut; the file records the original length). Default 9216.</summary>
    public int SnapLength { get; init; } = DefaultSnapLength;

    /// <summary>Write the whole outer frame (the mirror's tunnel packet) instead of the inner frame. Default false.</summary>
    public bool Outer { get; init; }

    /// <summary>Stop after this many packets; 0: no limit.</summary>
    public long MaxPackets { get; init; }

    /// <summary>Stop after this many packet bytes written (as kept, after the snap length); 0: no limit.</summary>
    public long MaxBytes { get; init; }

    /// <summary>Stop after this long; zero: no limit.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Start a new file when the current one reaches this size. Default 64 MiB.</summary>
    public long FileBytes { get; init; } = 64L << 20;

    /// <summary>Start a new file when the current one is this old; zero: by size only. Default one hour.</summary>
    public TimeSpan FileAge { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Delete the oldest files when the session's files together exceed this. Default 1 GiB.</summary>
    public long RetainBytes { get; init; } = 1L << 30;

    /// <summary>Delete files older than this (by their last write); zero: by size only. Default zero.</summary>
    public TimeSpan RetainAge { get; init; }

    /// <summary>Memory for packets waiting for the writer: slots of <see cref="SnapLength"/> bytes (a power of two of them, at least 16). Default 16 MiB (1024 slots of 9216 bytes, 9 MiB).</summary>
    public int QueueBytes { get; init; } = 16 << 20;

    /// <summary>One file at this path instead of rotating files, with no retention (a replay's <c>--capture-output</c>). Default null.</summary>
    public string? SingleFile { get; init; }

    /// <summary>A full queue makes the receiving thread wait for the writer instead of dropping (a replay loses nothing). Default false.</summary>
    public bool WaitWhenFull { get; init; }

    /// <summary>True for a session made by the configuration (a reload may change or end it; the API may not).</summary>
    public bool FromConfiguration { get; init; }

    /// <summary>Slots in the session's queue: the largest power of two that fits <see cref="QueueBytes"/>, 16 to 65536.</summary>
    public int QueueSlots => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(QueueBytes / Math.Max(1, SnapLength) / 2 + 1, 16, 1 << 16));

    /// <summary>A sentence naming the first invalid setting, or null.</summary>
    public string? Validate()
    {
        if (!IsValidName(Name))
        {
            return $"The capture name '{Name}' must be 1-64 characters of letters, digits, '-' and '_'.";
        }

        if (SnapLength is < 64 or > 262_144)
        {
            return $"The capture '{Name}' snap length must be 64-262144 bytes (was {SnapLength}).";
        }

        if (MaxPackets < 0 || MaxBytes < 0 || Duration < TimeSpan.Zero || FileAge < TimeSpan.Zero || RetainAge < TimeSpan.Zero)
        {
            return $"The capture '{Name}' limits must not be negative.";
        }

        if (FileBytes < 4096)
        {
            return $"The capture '{Name}' file size must be at least 4096 bytes (was {FileBytes}).";
        }

        if (RetainBytes < FileBytes)
        {
            return $"The capture '{Name}' retention ({RetainBytes} bytes) must be at least one file ({FileBytes} bytes).";
        }

        return QueueBytes < 4096 ? $"The capture '{Name}' queue must be at least 4096 bytes (was {QueueBytes})." : null;
    }

    /// <summary>Letters, digits, '-' and '_', 1-64 of them: safe as a file-name prefix and in a URL.</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 64)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}
