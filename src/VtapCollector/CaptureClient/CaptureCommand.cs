using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using VtapCollector.Cli;

namespace VtapCollector.CaptureClient;

/// <summary>
/// <c>vtap-collector capture start|list|stop|fetch</c>: a client of the daemon's capture API. It prints
/// the API's JSON (start, list, stop) or writes the session's files (fetch); a refusal prints the
/// API's one sentence and exits 1.
/// </summary>
internal static class CaptureCommand
{
    public static async Task<int> RunAsync(CaptureOptions options, TextWriter output, TextWriter log)
    {
        using var client = new HttpClient { BaseAddress = options.Url, Timeout = TimeSpan.FromSeconds(60) };
        if (options.Token is { Length: > 0 } token)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        try
        {
            return options.Verb switch
            {
                "start" => await PrintAsync(await client.PostAsync(new Uri("/captures", UriKind.Relative), new StringContent(options.Request.ToJsonString(), Encoding.UTF8, "application/json")).ConfigureAwait(false), output, log).ConfigureAwait(false),
                "list" => await PrintAsync(await client.GetAsync(Path(options.Id)).ConfigureAwait(false), output, log).ConfigureAwait(false),
                "stop" => await PrintAsync(await client.DeleteAsync(Path(options.Id)).ConfigureAwait(false), output, log).ConfigureAwait(false),
                _ => await FetchAsync(client, options, log).ConfigureAwait(false),
            };
        }
        catch (HttpRequestException error)
        {
            await log.WriteLineAsync($"vtap-collector: cannot reach the capture API at {options.Url}: {error.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (TaskCanceledException)
        {
            await log.WriteLineAsync($"vtap-collector: the capture API at {options.Url} did not answer within 60 s.").ConfigureAwait(false);
            return 1;
        }
    }

    private static Uri Path(string? id) => new(id is null ? "/captures" : "/captures/" + Uri.EscapeDataString(id), UriKind.Relative);

    private static async Task<int> PrintAsync(HttpResponseMessage response, TextWriter output, TextWriter log)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                await log.WriteAsync($"vtap-collector: {(int)response.StatusCode}: {body}").ConfigureAwait(false);
                return 1;
            }

            await output.WriteAsync(response.StatusCode == HttpStatusCode.NoContent ? "deleted\n" : body).ConfigureAwait(false);
            return 0;
        }
    }

    /// <summary>Every file of the session (or the one named) into the output folder, under the names the API gives.</summary>
    private static async Task<int> FetchAsync(HttpClient client, CaptureOptions options, TextWriter log)
    {
        using var status = await client.GetAsync(Path(options.Id)).ConfigureAwait(false);
        var body = await status.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!status.IsSuccessStatusCode)
        {
            await log.WriteAsync($"vtap-collector: {(int)status.StatusCode}: {body}").ConfigureAwait(false);
            return 1;
        }

        var names = new List<string>();
        using (var json = JsonDocument.Parse(body))
        {
            foreach (var file in json.RootElement.GetProperty("files").EnumerateArray())
            {
                names.Add(file.GetProperty("name").GetString()!);
            }
        }

        if (options.File is not null)
        {
            if (!names.Contains(options.File))
            {
                await log.WriteLineAsync($"vtap-collector: the capture '{options.Id}' has no file '{options.File}'.").ConfigureAwait(false);
                return 1;
            }

            names = [options.File];
        }

        Directory.CreateDirectory(options.OutputDirectory);
        foreach (var name in names)
        {
            // The name comes from the server: keep only its last component, so it cannot write elsewhere.
            var target = System.IO.Path.Combine(options.OutputDirectory, System.IO.Path.GetFileName(name));
            using var response = await client.GetAsync(new Uri($"/captures/{Uri.EscapeDataString(options.Id!)}/files/{Uri.EscapeDataString(name)}", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                await log.WriteAsync($"vtap-collector: {name}: {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}").ConfigureAwait(false);
                return 1;
            }

            var file = File.Create(target);
            await using (file.ConfigureAwait(false))
            {
                await response.Content.CopyToAsync(file).ConfigureAwait(false);
            }

            await log.WriteLineAsync($"{target}").ConfigureAwait(false);
        }

        return 0;
    }
}
