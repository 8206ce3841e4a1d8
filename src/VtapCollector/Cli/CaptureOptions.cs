using System.Text.Json.Nodes;

namespace VtapCollector.Cli;

/// <summary>The <c>capture</c> command's settings: a verb (start, list, stop, fetch), the API's address and token, and the verb's own options.</summary>
internal sealed class CaptureOptions
{
    /// <summary>The daemon's metrics listener, where the API is. Default http://127.0.0.1:9464 (Metrics:Listen's default).</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1:9464");

    public string Verb { get; private set; } = string.Empty;

    /// <summary>The session named by stop, fetch and list.</summary>
    public string? Id { get; private set; }

    /// <summary>The bearer token (<c>--token</c>, <c>--token-file</c> or VTAP_CAPTURE_TOKEN); null for none.</summary>
    public string? Token { get; private set; }

    /// <summary>The request body of start.</summary>
    public JsonObject Request { get; } = [];

    /// <summary>Where fetch writes the files. Default: the current folder.</summary>
    public string OutputDirectory { get; private set; } = ".";

    /// <summary>One file for fetch; null: every file of the session.</summary>
    public string? File { get; private set; }

    public static CaptureOptions Parse(string[] args)
    {
        var options = new CaptureOptions { Token = Environment.GetEnvironmentVariable("VTAP_CAPTURE_TOKEN") };
        var reader = new ArgumentReader(args, 1);
        if (!reader.TryNext(out var verb) || verb is not ("start" or "list" or "stop" or "fetch"))
        {
            throw new UsageException("capture needs a verb: start, list, stop or fetch; run 'vtap-collector --help' for their options.");
        }

        options.Verb = verb;
        while (reader.TryNext(out var argument))
        {
            switch (argument)
            {
                case "--url":
                    var url = reader.Value(argument);
                    options.Url = Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"
                        ? parsed
                        : throw new UsageException($"--url '{url}' is not an http:// or https:// address such as http://127.0.0.1:9464.");
                    break;
                case "--token":
                    options.Token = reader.Value(argument);
                    break;
                case "--token-file":
                    var path = reader.Value(argument);
                    try
                    {
                        options.Token = System.IO.File.ReadLines(path).FirstOrDefault()?.Trim();
                    }
                    catch (Exception error) when (error is IOException or UnauthorizedAccessException)
                    {
                        throw new UsageException($"--token-file '{path}' cannot be read: {error.Message}");
                    }

                    break;
                case "--filter" when verb == "start":
                    options.Request["filter"] = reader.Value(argument);
                    break;
                case "--name" when verb == "start":
                    options.Request["name"] = reader.Value(argument);
                    break;
                case "--snaplen" when verb == "start":
                    options.Request["snap_length"] = reader.Int(argument, 64, 262_144);
                    break;
                case "--outer" when verb == "start":
                    options.Request["outer"] = true;
                    break;
                case "--max-packets" when verb == "start":
                    options.Request["max_packets"] = reader.Int(argument, 1, int.MaxValue);
                    break;
                case "--max-bytes" when verb == "start":
                    options.Request["max_bytes"] = reader.Int(argument, 1, int.MaxValue);
                    break;
                case "--duration" when verb == "start":
                    options.Request["duration_seconds"] = (long)reader.Seconds(argument, 1, 366 * 86_400).TotalSeconds;
                    break;
                case "--output" or "-o" when verb == "fetch":
                    options.OutputDirectory = reader.Value(argument);
                    break;
                case "--file" when verb == "fetch":
                    options.File = reader.Value(argument);
                    break;
                default:
                    if (argument.StartsWith('-') || options.Id is not null || verb == "start")
                    {
                        throw new UsageException($"Unknown argument '{argument}' for capture {verb}; run 'vtap-collector --help' for its options.");
                    }

                    options.Id = argument;
                    break;
            }
        }

        if (options.Id is null && verb is "stop" or "fetch")
        {
            throw new UsageException($"capture {verb} needs the session's id (capture list shows them).");
        }

        return options;
    }
}
