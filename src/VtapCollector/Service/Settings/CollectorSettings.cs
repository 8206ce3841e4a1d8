namespace VtapCollector.Service;

/// <summary>
/// Every setting of <c>vtap-collector run</c>, one class per configuration section. Property names
/// are the configuration keys (<c>Sources:Udp:Listen</c>, <c>VTAP__SOURCES__UDP__LISTEN__0</c>);
/// the README's configuration table lists the same keys and defaults.
/// </summary>
internal sealed class CollectorSettings
{
    public Engine.Sources.SourcesSettings Sources { get; set; } = new();
    public AllowListSettings AllowList { get; set; } = new();
    public Dictionary<string, NetworkSettings> Networks { get; set; } = new(StringComparer.OrdinalIgnoreCase);
    public DecoderSettings Decoder { get; set; } = new();
    public FlowSettings Flows { get; set; } = new();
    public Engine.PipelineOptions Pipeline { get; set; } = new();
    public SinksSettings Sinks { get; set; } = new();
    public MetricsSettings Metrics { get; set; } = new();
    public Engine.DedupOptions Dedup { get; set; } = new();
    public CaptureSettings Capture { get; set; } = new();
}
