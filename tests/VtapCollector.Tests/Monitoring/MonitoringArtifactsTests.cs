using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Monitoring;

/// <summary>
/// The monitoring artifacts in monitoring/ (Grafana dashboard, Prometheus alert rules, their
/// promtool unit tests, an example scrape configuration) are checked with promtool, the
/// Prometheus project's own checker, and every expression in them may only name metrics the
/// daemon serves, so a renamed metric cannot leave a dashboard panel or an alert silently empty.
/// </summary>
public partial class MonitoringArtifactsTests
{
    /// <summary>
    /// The metric names the daemon serves: the contract the dashboard and the rules are written
    /// against. Kept as one list so it can be replaced by the list the daemon actually serves.
    /// </summary>
    /// <summary>The metric names the daemon serves, read from its metrics code (the README table is checked against the same list).</summary>
    private static readonly IReadOnlyList<string> ServedMetricNames = Docs.ServedMetrics.Names;

    /// <summary>The alerts operations asked for; the rules file may add more, never drop these.</summary>
    private static readonly string[] RequiredAlerts =
    [
        "VtapKernelDropsRising",
        "VtapDecodeErrors",
        "VtapAllowListRejects",
        "VtapNoTraffic",
        "VtapTunnelSourceSilent",
        "VtapSinkFailing",
        "VtapRecordsDropped",
        "VtapFlowTableNearlyFull",
        "VtapFlowEvictions",
        "VtapProcessingLag",
        "VtapCollectorDown",
    ];

    private static readonly TimeSpan PromtoolTimeout = TimeSpan.FromSeconds(120);

    private static string MonitoringDirectory => Path.Combine(ExternalTools.RepositoryRoot, "monitoring");

    private static string RulesFile => Path.Combine(MonitoringDirectory, "prometheus", "vtap-collector.rules.yml");

    private static string RulesTestFile => Path.Combine(MonitoringDirectory, "prometheus", "vtap-collector.rules.test.yml");

    private static string PrometheusConfig => Path.Combine(MonitoringDirectory, "prometheus", "prometheus.yml");

    private static string DashboardFile => Path.Combine(MonitoringDirectory, "grafana", "vtap-collector.json");

    private static string Promtool => Run.Promtool.PromtoolPath;

    [Fact]
    public void Promtool_CheckRules_AcceptsTheAlertRules() => AssertPromtoolSucceeds("check", "rules", RulesFile);

    [Fact]
    public void Promtool_TestRules_EveryAlertUnitTestPasses() => AssertPromtoolSucceeds("test", "rules", RulesTestFile);

    [Fact]
    public void Promtool_CheckConfig_AcceptsTheExampleScrapeConfiguration() => AssertPromtoolSucceeds("check", "config", PrometheusConfig);

    [Fact]
    public void Dashboard_IsValidJson_WithUniquePanelIds()
    {
        using var dashboard = ReadDashboard();
        var panels = AllPanels(dashboard.RootElement).ToList();
        Assert.NotEmpty(panels);

        var withoutId = panels.Where(panel => !panel.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number)
            .Select(panel => Title(panel)).ToList();
        Assert.True(withoutId.Count == 0, $"panels without a numeric id: {string.Join(", ", withoutId)}");

        var duplicates = panels.GroupBy(panel => panel.GetProperty("id").GetInt32())
            .Where(group => group.Count() > 1)
            .Select(group => $"{group.Key} ({string.Join(", ", group.Select(Title))})")
            .ToList();
        Assert.True(duplicates.Count == 0, $"panel ids used more than once: {string.Join("; ", duplicates)}");
    }

    [Fact]
    public void Dashboard_HasItsUid_DatasourceAndInstanceVariables()
    {
        using var dashboard = ReadDashboard();
        var root = dashboard.RootElement;
        Assert.Equal("vtap-collector", root.GetProperty("uid").GetString());

        var variables = root.GetProperty("templating").GetProperty("list").EnumerateArray()
            .ToDictionary(variable => variable.GetProperty("name").GetString() ?? string.Empty);
        Assert.True(variables.TryGetValue("datasource", out var datasource), "the dashboard has no 'datasource' variable");
        Assert.Equal("datasource", datasource.GetProperty("type").GetString());
        Assert.Equal("prometheus", datasource.GetProperty("query").GetString());

        Assert.True(variables.TryGetValue("instance", out var instance), "the dashboard has no 'instance' variable");
        Assert.Equal("query", instance.GetProperty("type").GetString());
        Assert.Equal("label_values(vtap_build_info, instance)", VariableQuery(instance));

        // Every panel and query reads through the datasource variable, so the dashboard imports anywhere.
        var fixedDatasource = AllPanels(root)
            .Where(panel => panel.GetProperty("type").GetString() != "row")
            .SelectMany(panel => new[] { panel }.Concat(Targets(panel)))
            .Where(element => !element.TryGetProperty("datasource", out var source) || source.GetProperty("uid").GetString() != "${datasource}")
            .Select(element => element.TryGetProperty("refId", out var refId) ? $"query {refId.GetString()}" : $"panel '{Title(element)}'")
            .ToList();
        Assert.True(fixedDatasource.Count == 0, $"not using ${{datasource}}: {string.Join(", ", fixedDatasource)}");
    }

    [Fact]
    public void Dashboard_ExpressionsNameOnlyServedMetrics()
    {
        using var dashboard = ReadDashboard();
        var expressions = DashboardExpressions(dashboard.RootElement).ToList();
        Assert.NotEmpty(expressions);

        var variableQueries = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Where(variable => variable.GetProperty("type").GetString() == "query")
            .Select(variable => (Where: $"variable ${variable.GetProperty("name").GetString()}", Expression: VariableQuery(variable)));

        AssertOnlyServedMetrics("monitoring/grafana/vtap-collector.json", expressions.Concat(variableQueries));
    }

    [Fact]
    public void Dashboard_ExpressionsArePromQlThatPromtoolParses()
    {
        using var dashboard = ReadDashboard();
        var expressions = DashboardExpressions(dashboard.RootElement).ToList();
        Assert.NotEmpty(expressions);

        // Each panel query becomes a recording rule, with Grafana's variables replaced by values
        // Prometheus would see; promtool check rules then parses every one.
        var rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        var legend = new StringBuilder("rule names:\n");
        var index = 0;
        foreach (var (where, expression) in expressions)
        {
            var promql = GrafanaVariable().Replace(GrafanaTimeVariable().Replace(expression, "5m"), ".*");
            var name = $"dashboard_query_{index++}";
            rules.Append("      - record: ").Append(name).Append('\n');
            rules.Append("        expr: ").Append(JsonSerializer.Serialize(promql)).Append('\n');
            legend.Append(name).Append(": ").Append(where).Append('\n');
        }

        var directory = Directory.CreateTempSubdirectory("vtap-monitoring-");
        try
        {
            var file = Path.Combine(directory.FullName, "dashboard-queries.rules.yml");
            File.WriteAllText(file, rules.ToString());
            AssertPromtoolSucceeds(["check", "rules", file], legend.ToString());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Dashboard_AnswersTheNetworkQuestions_DirectionBinsMatrixTopVnisAndTunnelSources()
    {
        using var dashboard = ReadDashboard();
        var panels = AllPanels(dashboard.RootElement).Where(panel => panel.GetProperty("type").GetString() != "row").ToList();
        string[] Expressions(JsonElement panel) => [.. Targets(panel).Select(target => target.GetProperty("expr").GetString() ?? string.Empty)];

        // Traffic by direction in 5-minute bins: increase over 5m, stepped every 5m, drawn as bars.
        var direction = panels.Single(panel => Expressions(panel).Any(e => e.Contains("vtap_direction_bytes_total", StringComparison.Ordinal)));
        Assert.Contains(Expressions(direction), e => e.Contains("sum by (direction) (increase(", StringComparison.Ordinal) && e.Contains("[5m]", StringComparison.Ordinal));
        Assert.Equal("5m", direction.GetProperty("interval").GetString());
        Assert.Equal("bars", direction.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("custom").GetProperty("drawStyle").GetString());

        // The network-to-network matrix: one instant table turned into rows by source, columns by destination.
        var matrix = panels.Single(panel => panel.TryGetProperty("transformations", out var transformations)
            && transformations.EnumerateArray().Any(t => t.GetProperty("id").GetString() == "groupingToMatrix"));
        var grouping = matrix.GetProperty("transformations").EnumerateArray().Single(t => t.GetProperty("id").GetString() == "groupingToMatrix").GetProperty("options");
        Assert.Equal(("src_network", "dst_network"), (grouping.GetProperty("rowField").GetString(), grouping.GetProperty("columnField").GetString()));
        Assert.Contains(Expressions(matrix), e => e.Contains("sum by (src_network, dst_network) (increase(vtap_network_bytes_total", StringComparison.Ordinal));
        Assert.True(Targets(matrix).Single().GetProperty("instant").GetBoolean());

        // Top VNIs and top tunnel sources, from the metrics that carry them.
        Assert.Contains(panels, panel => Expressions(panel).Any(e => e.StartsWith("topk(10, sum by (vni)", StringComparison.Ordinal)));
        Assert.Contains(panels, panel => Expressions(panel).Any(e => e.StartsWith("topk(10, sum by (tunnel_source)", StringComparison.Ordinal)));
    }

    [Fact]
    public void Rules_ExpressionsAndTestSeriesNameOnlyServedMetrics()
    {
        var expressions = YamlValues(RulesFile, "expr").Select(value => ("vtap-collector.rules.yml expr", value)).ToList();
        Assert.True(expressions.Count >= RequiredAlerts.Length, $"only {expressions.Count} expressions found in {RulesFile}");
        var series = YamlValues(RulesTestFile, "series").Select(value => ("vtap-collector.rules.test.yml series", value));
        var testExpressions = YamlValues(RulesTestFile, "expr").Select(value => ("vtap-collector.rules.test.yml expr", value));

        AssertOnlyServedMetrics("monitoring/prometheus", expressions.Concat(series).Concat(testExpressions));
    }

    [Fact]
    public void Rules_DefineTheRequiredAlerts_EachWithSeverityAndAnnotations()
    {
        var blocks = AlertBlocks(File.ReadAllText(RulesFile));
        var missing = RequiredAlerts.Except(blocks.Keys).ToList();
        Assert.True(missing.Count == 0, $"{RulesFile} lacks the alerts {string.Join(", ", missing)}");

        var incomplete = blocks
            .Where(block => !SeverityLabel().IsMatch(block.Value) || !block.Value.Contains("summary:", StringComparison.Ordinal) ||
                !block.Value.Contains("description:", StringComparison.Ordinal) || !block.Value.Contains("{{ $labels.", StringComparison.Ordinal))
            .Select(block => block.Key)
            .ToList();
        Assert.True(incomplete.Count == 0,
            $"alerts without a severity label (warning or critical), a summary or a templated description: {string.Join(", ", incomplete)}");
    }

    [Fact]
    public void RuleUnitTests_MakeEveryAlertFire_AndShowItQuiet()
    {
        var alerts = AlertBlocks(File.ReadAllText(RulesFile)).Keys.ToList();
        var cases = AlertTestCase().Matches(File.ReadAllText(RulesTestFile))
            .Select(match => (Alert: match.Groups["alert"].Value, Quiet: match.Groups["rest"].Value.Trim() == "[]"))
            .ToList();

        var neverFiring = alerts.Where(alert => !cases.Any(c => c.Alert == alert && !c.Quiet)).ToList();
        var neverQuiet = alerts.Where(alert => !cases.Any(c => c.Alert == alert && c.Quiet)).ToList();
        var unknown = cases.Select(c => c.Alert).Distinct().Except(alerts).ToList();
        Assert.True(neverFiring.Count == 0, $"no unit test makes these alerts fire: {string.Join(", ", neverFiring)}");
        Assert.True(neverQuiet.Count == 0, $"no unit test shows these alerts not firing: {string.Join(", ", neverQuiet)}");
        Assert.True(unknown.Count == 0, $"unit tests name alerts the rules do not define: {string.Join(", ", unknown)}");
    }

    private static void AssertPromtoolSucceeds(params string[] arguments) => AssertPromtoolSucceeds(arguments, string.Empty);

    private static void AssertPromtoolSucceeds(string[] arguments, string context)
    {
        var result = ExternalTools.Run(Promtool, arguments, PromtoolTimeout);
        Assert.True(result.ExitCode == 0,
            $"promtool {string.Join(' ', arguments)} exited with {result.ExitCode}:\n{result.StandardOutput}\n{result.StandardError}\n{context}");
    }

    private static void AssertOnlyServedMetrics(string file, IEnumerable<(string Where, string Expression)> expressions)
    {
        var unknown = expressions
            .SelectMany(e => MetricName().Matches(e.Expression).Select(match => (e.Where, Metric: match.Value)))
            .Where(found => !ServedMetricNames.Contains(found.Metric, StringComparer.Ordinal))
            .Select(found => $"{found.Metric} (in {found.Where})")
            .Distinct()
            .ToList();
        Assert.True(unknown.Count == 0, $"{file} names metrics the daemon does not serve:\n{string.Join('\n', unknown)}");
    }

    private static JsonDocument ReadDashboard()
    {
        var text = File.ReadAllText(DashboardFile);
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{DashboardFile} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Every panel, including those inside collapsed rows.</summary>
    private static IEnumerable<JsonElement> AllPanels(JsonElement container)
    {
        if (!container.TryGetProperty("panels", out var panels))
        {
            yield break;
        }

        foreach (var panel in panels.EnumerateArray())
        {
            yield return panel;
            foreach (var nested in AllPanels(panel))
            {
                yield return nested;
            }
        }
    }

    private static JsonElement[] Targets(JsonElement panel) =>
        panel.TryGetProperty("targets", out var targets) ? [.. targets.EnumerateArray()] : [];

    private static IEnumerable<(string Where, string Expression)> DashboardExpressions(JsonElement root) =>
        AllPanels(root).SelectMany(panel => Targets(panel)
            .Where(target => target.TryGetProperty("expr", out _))
            .Select(target => (
                Where: $"panel {panel.GetProperty("id")} '{Title(panel)}' query {target.GetProperty("refId").GetString()}",
                Expression: target.GetProperty("expr").GetString() ?? string.Empty)));

    private static string Title(JsonElement panel) =>
        panel.TryGetProperty("title", out var title) ? title.GetString() ?? string.Empty : string.Empty;

    /// <summary>A query variable's PromQL: a plain string, or the object Grafana 10 writes.</summary>
    private static string VariableQuery(JsonElement variable)
    {
        var query = variable.GetProperty("query");
        return query.ValueKind == JsonValueKind.String ? query.GetString() ?? string.Empty : query.GetProperty("query").GetString() ?? string.Empty;
    }

    /// <summary>
    /// The values of a key in a YAML file: plain or quoted scalars on the key's line, or literal and
    /// folded block scalars below it (enough for the rule files, which hold no other YAML forms).
    /// </summary>
    private static List<string> YamlValues(string path, string key)
    {
        var lines = File.ReadAllLines(path);
        var values = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var match = YamlKeyLine().Match(lines[i]);
            if (!match.Success || match.Groups["key"].Value != key)
            {
                continue;
            }

            var value = match.Groups["value"].Value.Trim();
            if (value.Length > 0 && (value[0] == '|' || value[0] == '>'))
            {
                var indent = match.Groups["indent"].Value.Length;
                var block = new List<string>();
                while (i + 1 < lines.Length && (lines[i + 1].Trim().Length == 0 || Indentation(lines[i + 1]) > indent))
                {
                    block.Add(lines[++i].Trim());
                }

                values.Add(string.Join('\n', block).Trim());
            }
            else if (value.StartsWith('\'') && value.EndsWith('\'') && value.Length >= 2)
            {
                values.Add(value[1..^1].Replace("''", "'", StringComparison.Ordinal));
            }
            else if (value.StartsWith('"') && value.EndsWith('"') && value.Length >= 2)
            {
                values.Add(JsonSerializer.Deserialize<string>(value) ?? string.Empty);
            }
            else
            {
                values.Add(value);
            }
        }

        return values;
    }

    private static int Indentation(string line) => line.Length - line.TrimStart(' ').Length;

    /// <summary>Each alert's name and the text of its rule, up to the next rule.</summary>
    private static Dictionary<string, string> AlertBlocks(string rules)
    {
        var starts = RuleStart().Matches(rules).ToList();
        var blocks = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < starts.Count; i++)
        {
            if (starts[i].Groups["kind"].Value != "alert")
            {
                continue;
            }

            var end = i + 1 < starts.Count ? starts[i + 1].Index : rules.Length;
            blocks[starts[i].Groups["name"].Value] = rules[starts[i].Index..end];
        }

        return blocks;
    }

    /// <summary>A metric name of the daemon's families (vtap_, process_, dotnet_).</summary>
    [GeneratedRegex(@"\b(vtap|process|dotnet)_[a-z0-9_]+")]
    private static partial Regex MetricName();

    /// <summary>Grafana's interval and range variables, in either spelling.</summary>
    [GeneratedRegex(@"\$\{?__(rate_interval|interval|range)\}?")]
    private static partial Regex GrafanaTimeVariable();

    /// <summary>Any other Grafana variable (used in label matchers): $name, ${name} or ${name:format}.</summary>
    [GeneratedRegex(@"\$\{[A-Za-z0-9_]+(:[a-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex GrafanaVariable();

    [GeneratedRegex(@"^(?<indent>\s*)(-\s+)?(?<key>[A-Za-z_]+):(\s+(?<value>.*))?$")]
    private static partial Regex YamlKeyLine();

    [GeneratedRegex(@"^\s*-\s+(?<kind>alert|record):\s*(?<name>\S+)", RegexOptions.Multiline)]
    private static partial Regex RuleStart();

    [GeneratedRegex(@"^\s*severity:\s*(warning|critical)\s*$", RegexOptions.Multiline)]
    private static partial Regex SeverityLabel();

    /// <summary>An alert_rule_test case: its alert and what follows exp_alerts ("[]" when it must stay quiet).</summary>
    [GeneratedRegex(@"alertname:\s*(?<alert>\w+)\s*\n\s*exp_alerts:(?<rest>[^\n]*)")]
    private static partial Regex AlertTestCase();
}
