namespace VtapCollector.Export.Metrics;

/// <summary>The kind of a metric family in the Prometheus exposition format.</summary>
public enum MetricType
{
    /// <summary>Only goes up (reset by a restart).</summary>
    Counter,

    /// <summary>Goes up and down.</summary>
    Gauge,
}

/// <summary>
/// The samples of one scrape, gathered from every <see cref="IMetricSource"/>. Samples of one family
/// may come from several components (each sink adds its own <c>sink</c> label); the exposition format
/// wants them together under one <c># HELP</c> and <c># TYPE</c>, so they are grouped here and
/// rendered in the order families first appeared.
/// </summary>
public sealed class MetricSet
{
    private readonly List<Family> _families = [];
    private readonly Dictionary<string, Family> _byName = new(StringComparer.Ordinal);

    /// <summary>Adds a counter sample.</summary>
    public void Counter(string name, string help, double value, params ReadOnlySpan<(string Name, string Value)> labels) =>
        Add(name, MetricType.Counter, help, value, labels);

    /// <summary>Adds a gauge sample.</summary>
    public void Gauge(string name, string help, double value, params ReadOnlySpan<(string Name, string Value)> labels) =>
        Add(name, MetricType.Gauge, help, value, labels);

    /// <summary>Declares a family without a sample (a labelled family with nothing to report yet still shows its help and type).</summary>
    public void Declare(string name, MetricType type, string help) => FamilyOf(name, type, help);

    /// <summary>True when a family of that name has been added.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The families in Prometheus text format 0.0.4.</summary>
    public string Render()
    {
        var writer = new PrometheusTextWriter();
        foreach (var family in _families)
        {
            writer.Family(family.Name, family.Type == MetricType.Counter ? "counter" : "gauge", family.Help);
            foreach (var (labels, value) in family.Samples)
            {
                writer.Sample(family.Name, labels, value);
            }
        }

        return writer.ToString();
    }

    private void Add(string name, MetricType type, string help, double value, ReadOnlySpan<(string Name, string Value)> labels) =>
        FamilyOf(name, type, help).Samples.Add((labels.ToArray(), value));

    private Family FamilyOf(string name, MetricType type, string help)
    {
        if (!_byName.TryGetValue(name, out var family))
        {
            family = new Family(name, type, help);
            _byName.Add(name, family);
            _families.Add(family);
        }
        else if (family.Type != type)
        {
            throw new InvalidOperationException($"Metric {name} was added as a {family.Type} and as a {type}.");
        }

        return family;
    }

    private sealed record Family(string Name, MetricType Type, string Help)
    {
        public List<((string Name, string Value)[] Labels, double Value)> Samples { get; } = [];
    }
}
