namespace VtapCollector.Export.Ipfix;

/// <summary>The IPFIX sink's metric families, labelled with <c>sink</c> and <c>collector</c>; one place for names and help texts.</summary>
public static class IpfixMetrics
{
    public const string MessagesSent = "vtap_ipfix_messages_sent_total";
    public const string MessagesSentHelp = "IPFIX messages handed to each collector (template-only messages included).";
    public const string RecordsSent = "vtap_ipfix_records_sent_total";
    public const string RecordsSentHelp = "IPFIX data records handed to each collector (two per flow record in unidirectional mode when the responder sent).";
    public const string BytesSent = "vtap_ipfix_bytes_sent_total";
    public const string BytesSentHelp = "Bytes of IPFIX messages handed to each collector.";
    public const string TemplatesSent = "vtap_ipfix_templates_sent_total";
    public const string TemplatesSentHelp = "Messages carrying the Template Set sent to each collector (UDP refreshes, one per TCP connection).";
    public const string RecordsDropped = "vtap_ipfix_records_dropped_total";
    public const string RecordsDroppedHelp = "IPFIX data records not delivered to a collector, by reason: buffer_full (TCP buffer full), not_connected (failed send or lost connection).";
    public const string Reconnects = "vtap_ipfix_reconnects_total";
    public const string ReconnectsHelp = "TCP connections to a collector made again after the first one.";
}
