using Microsoft.Extensions.Logging;
using VtapCollector.Kafka;

namespace VtapCollector.Service;

/// <summary>
/// Takes the Kafka sink's reports (already rate-limited per cause by the sink) and logs them. The
/// sink starts before the host's logger exists, so reports from that moment go to stderr.
/// </summary>
internal static class KafkaReports
{
    private static ILogger? _logger;

    public static void Attach(ILogger logger) => Volatile.Write(ref _logger, logger);

    public static void Forward(KafkaSinkReport report)
    {
        var logger = Volatile.Read(ref _logger);
        if (logger is null)
        {
            Console.Error.WriteLine($"vtap-collector: Kafka: {report.Message}");
            return;
        }

        switch (report.Severity)
        {
            case KafkaReportSeverity.Error:
                Log.KafkaError(logger, report.Cause, report.Message);
                break;
            case KafkaReportSeverity.Warning:
                Log.KafkaWarning(logger, report.Cause, report.Message);
                break;
            default:
                Log.KafkaInformation(logger, report.Cause, report.Message);
                break;
        }
    }
}
