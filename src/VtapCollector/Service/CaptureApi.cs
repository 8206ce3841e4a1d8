using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Service;

/// <summary>
/// The capture API on the metrics listener: <c>POST /captures</c> (a JSON filter; returns the new
/// session), <c>GET /captures</c>, <c>GET /captures/{id}</c>, <c>DELETE /captures/{id}</c> and
/// <c>GET /captures/{id}/files/{name}</c>. Served without a token only while the listener is a
/// loopback address and no token is configured; otherwise every request needs
/// <c>Authorization: Bearer TOKEN</c>. Every refusal is one sentence of plain text. JSON is read and
/// written by hand (no reflection), so the API works in a trimmed build too.
/// </summary>
internal static class CaptureApi
{
    /// <summary>Largest request body accepted: a filter is a few hundred bytes.</summary>
    private const long MaxBodyBytes = 64 * 1024;

    /// <summary>JSON request properties and the filter keys they set.</summary>
    private static readonly Dictionary<string, string> FilterProperties = new(StringComparer.Ordinal)
    {
        ["protocol"] = "proto",
        ["local_address"] = "local",
        ["remote_address"] = "remote",
        ["local_port"] = "lport",
        ["remote_port"] = "rport",
        ["host"] = "host",
        ["port"] = "port",
        ["vni"] = "vni",
        ["tunnel_source"] = "tunnel",
    };

    public static void Map(WebApplication app)
    {
        app.MapPost("/captures", StartAsync);
        app.MapGet("/captures", List);
        app.MapGet("/captures/{id}", Get);
        app.MapDelete("/captures/{id}", Delete);
        app.MapGet("/captures/{id}/files/{name}", Fetch);
    }

    private static async Task<IResult> StartAsync(HttpContext context, LiveCollector collector, ValidatedSettings settings)
    {
        if (Refuse(context, collector, settings) is { } refused)
        {
            return refused;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        JsonDocument body;
        try
        {
            body = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return Sentence(StatusCodes.Status400BadRequest, "The request body is not JSON; send an object such as {\"protocol\":\"tcp\",\"remote_port\":\"443\"}.");
        }
        catch (BadHttpRequestException)
        {
            return Sentence(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {MaxBodyBytes} bytes.");
        }

        using (body)
        {
            var spec = ReadSpec(body.RootElement, out var error);
            if (spec is null)
            {
                return Sentence(StatusCodes.Status400BadRequest, error!);
            }

            var session = collector.Captures.TryStart(spec, out var refusal, out error);
            if (session is null)
            {
                return Sentence(
                    refusal switch
                    {
                        CaptureRefusal.NameTaken => StatusCodes.Status409Conflict,
                        CaptureRefusal.TooMany => StatusCodes.Status429TooManyRequests,
                        _ => StatusCodes.Status400BadRequest,
                    },
                    error!);
            }

            return Json(StatusCodes.Status201Created, w => WriteSession(w, session), $"/captures/{session.Name}");
        }
    }

    private static IResult List(HttpContext context, LiveCollector collector, ValidatedSettings settings)
    {
        if (Refuse(context, collector, settings) is { } refused)
        {
            return refused;
        }

        return Json(StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray();
            foreach (var session in collector.Captures.All())
            {
                WriteSession(w, session);
            }

            w.WriteEndArray();
        });
    }

    private static IResult Get(HttpContext context, string id, LiveCollector collector, ValidatedSettings settings)
    {
        if (Refuse(context, collector, settings) is { } refused)
        {
            return refused;
        }

        var session = Find(collector, id);
        return session is null ? NotFound(id) : Json(StatusCodes.Status200OK, w => WriteSession(w, session));
    }

    private static IResult Delete(HttpContext context, string id, LiveCollector collector, ValidatedSettings settings)
    {
        if (Refuse(context, collector, settings) is { } refused)
        {
            return refused;
        }

        var session = Find(collector, id);
        if (session is null)
        {
            return NotFound(id);
        }

        if (session.Spec.FromConfiguration && session.IsActive)
        {
            return Sentence(StatusCodes.Status409Conflict, $"The capture '{id}' comes from the configuration; remove it from Capture:Sessions and reload.");
        }

        if (session.IsActive)
        {
            collector.Captures.Stop(id, "stopped through the API");
            return Json(StatusCodes.Status200OK, w => WriteSession(w, session));
        }

        return collector.Captures.Forget(id)
            ? Results.NoContent()
            : Sentence(StatusCodes.Status409Conflict, $"The capture '{id}' is still writing its last packets; try again in a moment.");
    }

    private static IResult Fetch(HttpContext context, string id, string name, LiveCollector collector, ValidatedSettings settings)
    {
        if (Refuse(context, collector, settings) is { } refused)
        {
            return refused;
        }

        var session = Find(collector, id);
        if (session is null)
        {
            return NotFound(id);
        }

        // Only a name the session's own listing holds is served: no path of the caller's reaches the disk.
        var file = CaptureFileSet.ListFiles(session.Directory, session.Name).FirstOrDefault(f => f.Name == name);
        if (file is null)
        {
            return Sentence(StatusCodes.Status404NotFound, $"The capture '{id}' has no file named '{Printable(name)}'; GET /captures/{id} lists its files.");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(Path.Combine(session.Directory, file.Name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return Sentence(StatusCodes.Status404NotFound, $"The file '{file.Name}' was deleted by retention meanwhile.");
        }

        return Results.Stream(stream, "application/x-pcapng", file.Name);
    }

    /// <summary>The session of a well-formed id, or null.</summary>
    private static CaptureSession? Find(LiveCollector collector, string id) =>
        CaptureSpec.IsValidName(id) ? collector.Captures.Find(id) : null;

    private static IResult NotFound(string id) =>
        Sentence(StatusCodes.Status404NotFound, $"There is no capture '{Printable(id)}'; GET /captures lists them.");

    /// <summary>
    /// Null when the request may go on. Without a token the API answers only on a loopback listener, and
    /// only to loopback peers; with one, every request must carry it (compared in constant time).
    /// </summary>
    private static IResult? Refuse(HttpContext context, LiveCollector collector, ValidatedSettings settings)
    {
        var token = collector.CaptureToken;
        if (token is null)
        {
            if (!IPAddress.IsLoopback(settings.MetricsListen.Address))
            {
                return Sentence(StatusCodes.Status403Forbidden, "The capture API is off: Metrics:Listen is not a loopback address, so set Capture:Token or Capture:TokenFile.");
            }

            return context.Connection.RemoteIpAddress is { } peer && !IPAddress.IsLoopback(peer)
                ? Sentence(StatusCodes.Status403Forbidden, "The capture API answers only this host.")
                : null;
        }

        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        var given = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : string.Empty;
        if (given.Length == 0 || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(token)))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Sentence(StatusCodes.Status401Unauthorized, "The capture API needs the header Authorization: Bearer TOKEN with the configured Capture:Token.");
        }

        return null;
    }

    /// <summary>A session's settings from a request: filter terms by name or as one <c>filter</c> text, limits, files.</summary>
    private static CaptureSpec? ReadSpec(JsonElement request, out string? error)
    {
        error = null;
        if (request.ValueKind != JsonValueKind.Object)
        {
            error = "The request body must be a JSON object.";
            return null;
        }

        var builder = new CaptureFilterParser.Builder();
        var spec = new CaptureSpec { Name = "cap-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) };
        foreach (var property in request.EnumerateObject())
        {
            var name = property.Name;
            var value = property.Value;
            if (FilterProperties.TryGetValue(name, out var key))
            {
                error = Text(name, value, out var text) ?? builder.Set(key, text!);
            }
            else
            {
                switch (name)
                {
                    case "filter":
                        error = Text(name, value, out var filter) ?? builder.AddTerms(filter);
                        break;
                    case "name":
                        error = Text(name, value, out var id);
                        spec = spec with { Name = id ?? spec.Name };
                        break;
                    case "outer":
                        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        {
                            error = "The property 'outer' must be true or false.";
                        }
                        else
                        {
                            spec = spec with { Outer = value.GetBoolean() };
                        }

                        break;
                    case "snap_length":
                        error = Number(name, value, out var snap);
                        spec = spec with { SnapLength = (int)Math.Min(snap, int.MaxValue) };
                        break;
                    case "max_packets":
                        error = Number(name, value, out var packets);
                        spec = spec with { MaxPackets = packets };
                        break;
                    case "max_bytes":
                        error = Number(name, value, out var bytes);
                        spec = spec with { MaxBytes = bytes };
                        break;
                    case "duration_seconds":
                        error = Number(name, value, out var seconds);
                        spec = spec with { Duration = TimeSpan.FromSeconds(Math.Min(seconds, 366L * 86_400)) };
                        break;
                    case "file_bytes":
                        error = Number(name, value, out var fileBytes);
                        spec = spec with { FileBytes = fileBytes };
                        break;
                    case "file_seconds":
                        error = Number(name, value, out var fileSeconds);
                        spec = spec with { FileAge = TimeSpan.FromSeconds(Math.Min(fileSeconds, 366L * 86_400)) };
                        break;
                    case "retain_bytes":
                        error = Number(name, value, out var retainBytes);
                        spec = spec with { RetainBytes = retainBytes };
                        break;
                    case "retain_seconds":
                        error = Number(name, value, out var retainSeconds);
                        spec = spec with { RetainAge = TimeSpan.FromSeconds(Math.Min(retainSeconds, 3660L * 86_400)) };
                        break;
                    default:
                        error = $"The property '{Printable(name)}' is unknown; use filter, protocol, local_address, remote_address, local_port, remote_port, host, port, vni, tunnel_source, name, snap_length, outer, max_packets, max_bytes, duration_seconds, file_bytes, file_seconds, retain_bytes or retain_seconds.";
                        break;
                }
            }

            if (error is not null)
            {
                return null;
            }
        }

        spec = spec with { Filter = builder.Build() };
        error = spec.Validate();
        return error is null ? spec : null;
    }

    /// <summary>A string property, or a number given as such (a port, a VNI).</summary>
    private static string? Text(string name, JsonElement value, out string? text)
    {
        text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
        return text is null ? $"The property '{name}' must be a string or a number." : null;
    }

    private static string? Number(string name, JsonElement value, out long number)
    {
        number = 0;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out number) && number >= 0
            ? null
            : $"The property '{name}' must be a whole number, 0 or more.";
    }

    private static void WriteSession(Utf8JsonWriter w, CaptureSession session)
    {
        var spec = session.Spec;
        w.WriteStartObject();
        w.WriteString("id", session.Name);
        w.WriteString("state", session.State.ToString().ToLowerInvariant());
        if (session.Reason is { } reason)
        {
            w.WriteString("reason", reason);
        }

        w.WriteString("filter", spec.Filter.ToString());
        w.WriteNumber("snap_length", spec.SnapLength);
        w.WriteBoolean("outer", spec.Outer);
        w.WriteBoolean("configured", spec.FromConfiguration);
        w.WriteString("started", session.Started.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        w.WriteNumber("packets", session.Packets);
        w.WriteNumber("bytes", session.Bytes);
        w.WriteNumber("dropped", session.Dropped);
        w.WriteNumber("max_packets", spec.MaxPackets);
        w.WriteNumber("max_bytes", spec.MaxBytes);
        w.WriteNumber("duration_seconds", (long)spec.Duration.TotalSeconds);
        w.WriteStartArray("files");
        foreach (var file in CaptureFileSet.ListFiles(session.Directory, session.Name))
        {
            w.WriteStartObject();
            w.WriteString("name", file.Name);
            w.WriteNumber("bytes", file.Bytes);
            w.WriteString("modified", file.Modified.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static JsonResult Json(int status, Action<Utf8JsonWriter> write, string? location = null)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            write(writer);
        }

        buffer.WriteByte((byte)'\n');
        return new JsonResult(status, buffer.ToArray(), location);
    }

    private static IResult Sentence(int status, string sentence) => Results.Text(sentence + "\n", "text/plain; charset=utf-8", statusCode: status);

    /// <summary>What the caller sent, echoed without control characters (a forged line in a terminal or log).</summary>
    private static string Printable(string text) =>
        string.Concat(text.Where(c => !char.IsControl(c)).Take(100));

    /// <summary>A JSON body with a status and, for a created session, its location.</summary>
    private sealed class JsonResult(int status, byte[] body, string? location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "application/json";
            if (location is not null)
            {
                httpContext.Response.Headers.Location = location;
            }

            return httpContext.Response.Body.WriteAsync(body).AsTask();
        }
    }
}
