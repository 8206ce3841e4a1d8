using System.Globalization;

namespace VtapCollector.Kafka;

/// <summary>How much a <see cref="KafkaSinkReport"/> matters, for the log level it is written at.</summary>
public enum KafkaReportSeverity
{
    /// <summary>A change of state worth a line: started, spool replayed.</summary>
    Information = 0,

    /// <summary>Records are delayed but not lost: brokers unreachable, records going to the spool.</summary>
    Warning = 1,

    /// <summary>Records are lost or refused: rejected by a broker, spool full, spool not writable.</summary>
    Error = 2,
}

/// <summary>
/// One message from the sink for the daemon's log. Repeats of one <see cref="Cause"/> are reported at
/// most once per <see cref="KafkaSinkOptions.ReportInterval"/>; the message then says how many were held back.
/// </summary>
/// <param name="Severity">How much it matters.</param>
/// <param name="Cause">A short stable key (<c>broker-rejected:TopicAuthorizationFailed</c>, <c>spool-full</c>, ...), usable as a log event name.</param>
/// <param name="Message">One or two sentences, with the broker's or the system's reason.</param>
public readonly record struct KafkaSinkReport(KafkaReportSeverity Severity, string Cause, string Message);

/// <summary>Rate-limits reports per cause. Thread-safe: librdkafka's threads and the exporter report through it.</summary>
internal sealed class ReportLimiter(Action<KafkaSinkReport>? sink, TimeSpan interval, TimeProvider time)
{
    private readonly Dictionary<string, (long Last, long Held)> _causes = new(StringComparer.Ordinal);

    public long Reported { get; private set; }

    public long Suppressed { get; private set; }

    public void Report(KafkaReportSeverity severity, string cause, string message)
    {
        if (sink is null)
        {
            return;
        }

        long held;
        lock (_causes)
        {
            var now = time.GetTimestamp();
            if (_causes.TryGetValue(cause, out var state) && time.GetElapsedTime(state.Last, now) < interval)
            {
                _causes[cause] = (state.Last, state.Held + 1);
                Suppressed++;
                return;
            }

            held = state.Held;
            _causes[cause] = (now, 0);
            Reported++;
        }

        if (held > 0)
        {
            message = string.Create(CultureInfo.InvariantCulture, $"{message} ({held} more of this kind since the last report.)");
        }

        try
        {
            sink(new KafkaSinkReport(severity, cause, message));
        }
        catch (Exception)
        {
            // A failing log callback must not take the producer's threads down with it.
        }
    }
}
