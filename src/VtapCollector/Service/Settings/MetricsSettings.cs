namespace VtapCollector.Service;

/// <summary>The Prometheus endpoint and its label bounds.</summary>
internal sealed class MetricsSettings
{
    /// <summary>Where <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> are served, <c>ADDRESS:PORT</c>. Default 127.0.0.1:9464.</summary>
    public string Listen { get; set; } = "127.0.0.1:9464";

    /// <summary>VNIs counted under their own label; later ones share <c>vni="other"</c>. Default 256.</summary>
    public int MaxVniLabels { get; set; } = 256;

    /// <summary>Mirror sources counted under their own label; later ones share <c>tunnel_source="other"</c>. Default 256.</summary>
    public int MaxTunnelSourceLabels { get; set; } = 256;

    /// <summary>Configured network names counted under their own <c>src_network</c>/<c>dst_network</c> label; later ones (and unmatched addresses) share <c>other</c>. Default 64.</summary>
    public int MaxNetworkLabels { get; set; } = 64;

    /// <summary>Seconds without a received packet after which <c>/readyz</c> reports not receiving; 0: never. Default 0.</summary>
    public int ReadyMaxIdleSeconds { get; set; }

    /// <summary>The endpoint to serve on, or null and one sentence naming the first invalid setting.</summary>
    public System.Net.IPEndPoint? Validate(out string? error)
    {
        error = null;
        if (!Capture.Udp.EndPointText.TryParse(Listen, out var endPoint))
        {
            error = $"Metrics:Listen '{Listen}' is not ADDRESS:PORT (example: 127.0.0.1:9464).";
        }
        else if (MaxVniLabels is < 0 or > 100_000 || MaxTunnelSourceLabels is < 0 or > 100_000)
        {
            error = "Metrics:MaxVniLabels and Metrics:MaxTunnelSourceLabels must be between 0 and 100000.";
        }
        else if (MaxNetworkLabels is < 0 or > 256)
        {
            // Each worker keeps a square matrix of counters over the labels: 256 is 1.6 MB per worker.
            error = $"Metrics:MaxNetworkLabels must be between 0 and 256 (was {MaxNetworkLabels}).";
        }
        else if (ReadyMaxIdleSeconds < 0)
        {
            error = $"Metrics:ReadyMaxIdleSeconds cannot be negative (was {ReadyMaxIdleSeconds}).";
        }

        return error is null ? endPoint : null;
    }
}
