namespace VtapCollector.Export.Sinks;

/// <summary>Metric families every sink may report, each labelled with the sink's name; one place for their names and help texts.</summary>
public static class SinkMetrics
{
    /// <summary>Bytes a sink handed to its destination.</summary>
    public const string BytesWritten = "vtap_sink_bytes_written_total";

    /// <summary>Help text of <see cref="BytesWritten"/>.</summary>
    public const string BytesWrittenHelp = "Bytes each sink handed to its destination (file, stream).";

    /// <summary>Records a sink had accepted and then lost.</summary>
    public const string RecordsLost = "vtap_sink_records_lost_total";

    /// <summary>Help text of <see cref="RecordsLost"/>.</summary>
    public const string RecordsLostHelp = "Records a sink had accepted and then could not deliver (a failed write of its buffer, a failed spool write); not counted in vtap_sink_records_dropped_total.";
}
