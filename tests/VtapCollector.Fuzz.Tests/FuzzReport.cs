using Xunit.Abstractions;
using Xunit.Sdk;

namespace VtapCollector.Fuzz.Tests;

/// <summary>
/// Prints each run's figures in the test run's own output (xunit diagnostic messages, enabled in
/// xunit.runner.json), where a passing test's ITestOutputHelper lines are not shown.
/// </summary>
public sealed class FuzzReport(IMessageSink sink)
{
    public void Write(string line) => sink.OnMessage(new DiagnosticMessage(line));
}
