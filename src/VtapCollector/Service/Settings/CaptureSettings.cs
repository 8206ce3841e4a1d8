using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Service;

/// <summary>Packet capture: where files go, how many sessions may run, who may use the API, and the configured sessions.</summary>
internal sealed class CaptureSettings
{
    /// <summary>The folder under which each session writes its files (one folder per session). Default /var/lib/vtap-collector/captures. A change takes effect at the next restart.</summary>
    public string Directory { get; set; } = "/var/lib/vtap-collector/captures";

    /// <summary>Sessions (configured and from the API) that may run at once; beyond it the API answers 429. Default 4. A change takes effect at the next restart.</summary>
    public int MaxSessions { get; set; } = 4;

    /// <summary>Bearer token the capture API requires (always when set; and it must be set when Metrics:Listen is not a loopback address). Default none.</summary>
    public string Token { get; set; } = string.Empty;

    /// <summary>A file holding the token (its first line), read at start and on reload; instead of <see cref="Token"/>. Default none.</summary>
    public string TokenFile { get; set; } = string.Empty;

    /// <summary>Sessions that run from the start; a reload starts, stops or restarts them to match. Default none.</summary>
    public List<CaptureSessionSettings> Sessions { get; set; } = [];

    /// <summary>The configured sessions' specifications and the token, or null and one sentence naming the first invalid setting.</summary>
    public IReadOnlyList<CaptureSpec>? ToSpecs(out string? token, out string? error)
    {
        token = null;
        error = null;
        if (string.IsNullOrWhiteSpace(Directory))
        {
            error = "Capture:Directory must name a folder for capture files.";
            return null;
        }

        if (MaxSessions is < 1 or > 64)
        {
            error = $"Capture:MaxSessions must be between 1 and 64 (was {MaxSessions}).";
            return null;
        }

        if (!string.IsNullOrEmpty(Token) && !string.IsNullOrEmpty(TokenFile))
        {
            error = "Capture:Token and Capture:TokenFile are both set; keep one.";
            return null;
        }

        if (!string.IsNullOrEmpty(TokenFile))
        {
            try
            {
                token = File.ReadLines(TokenFile).FirstOrDefault()?.Trim();
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                error = $"Capture:TokenFile '{TokenFile}' cannot be read: {failure.Message}";
                return null;
            }

            if (string.IsNullOrEmpty(token))
            {
                error = $"Capture:TokenFile '{TokenFile}' is empty; put the token on its first line.";
                return null;
            }
        }
        else
        {
            token = string.IsNullOrEmpty(Token) ? null : Token;
        }

        if (token is { Length: < 16 })
        {
            error = "The capture API token (Capture:Token or Capture:TokenFile) must be at least 16 characters.";
            return null;
        }

        if (Sessions.Count > MaxSessions)
        {
            error = $"Capture:Sessions lists {Sessions.Count} sessions but Capture:MaxSessions is {MaxSessions}.";
            return null;
        }

        var specs = new List<CaptureSpec>();
        for (var i = 0; i < Sessions.Count; i++)
        {
            var spec = Sessions[i].ToSpec(i, out error);
            if (spec is null)
            {
                return null;
            }

            if (specs.Exists(s => s.Name == spec.Name))
            {
                error = $"Capture:Sessions:{i}:Name '{spec.Name}' is used by another session.";
                return null;
            }

            specs.Add(spec);
        }

        return specs;
    }
}

/// <summary>One configured capture session (<c>Capture:Sessions:N</c>); limits of 0 mean none.</summary>
internal sealed class CaptureSessionSettings
{
    /// <summary>The session's name: its id in the API and its files' prefix (letters, digits, - and _). Required.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The packets kept, in the compact filter syntax (<c>proto=tcp,local=10.1.0.0/16,rport=443,vni=100</c>). Default: every packet.</summary>
    public string Filter { get; set; } = string.Empty;

    /// <summary>Bytes kept of each packet. Default 9216.</summary>
    public int SnapLength { get; set; } = CaptureSpec.DefaultSnapLength;

    /// <summary>Keep the whole outer (mirror) frame instead of the inner one. Default false.</summary>
    public bool Outer { get; set; }

    /// <summary>Stop after this many packets. Default 0 (no limit).</summary>
    public long MaxPackets { get; set; }

    /// <summary>Stop after this many bytes of packets. Default 0 (no limit).</summary>
    public long MaxBytes { get; set; }

    /// <summary>Stop after this many seconds. Default 0 (no limit).</summary>
    public int DurationSeconds { get; set; }

    /// <summary>Start a new file at this size. Default 67108864 (64 MiB).</summary>
    public long FileBytes { get; set; } = 64L << 20;

    /// <summary>Start a new file at this age in seconds; 0: by size only. Default 3600.</summary>
    public int FileSeconds { get; set; } = 3600;

    /// <summary>Delete the oldest files beyond this total size. Default 1073741824 (1 GiB).</summary>
    public long RetainBytes { get; set; } = 1L << 30;

    /// <summary>Delete files older than this many seconds; 0: by size only. Default 0.</summary>
    public int RetainSeconds { get; set; }

    /// <summary>Memory for packets waiting to be written. Default 16777216 (16 MiB).</summary>
    public int QueueBytes { get; set; } = 16 << 20;

    public CaptureSpec? ToSpec(int index, out string? error)
    {
        var filter = CaptureFilterParser.TryParse(Filter, out error);
        if (filter is null)
        {
            error = $"Capture:Sessions:{index}:Filter: {error}";
            return null;
        }

        var spec = new CaptureSpec
        {
            Name = Name,
            Filter = filter,
            SnapLength = SnapLength,
            Outer = Outer,
            MaxPackets = MaxPackets,
            MaxBytes = MaxBytes,
            Duration = TimeSpan.FromSeconds(DurationSeconds),
            FileBytes = FileBytes,
            FileAge = TimeSpan.FromSeconds(FileSeconds),
            RetainBytes = RetainBytes,
            RetainAge = TimeSpan.FromSeconds(RetainSeconds),
            QueueBytes = QueueBytes,
            FromConfiguration = true,
        };
        error = spec.Validate();
        if (error is not null)
        {
            error = $"Capture:Sessions:{index}: {error}";
            return null;
        }

        return spec;
    }
}
