namespace VtapCollector.Export.Ipfix;

/// <summary>
/// What one collector's transport did, written by the exporter thread only and read by the metrics
/// scrape; plain fields read with <see cref="Volatile"/>, no lock.
/// </summary>
public sealed class IpfixCollectorCounters
{
    public long MessagesSent;
    public long RecordsSent;
    public long BytesSent;
    public long TemplatesSent;

    /// <summary>Records dropped because the message buffer of a stream transport was full.</summary>
    public long DroppedBufferFull;

    /// <summary>Records dropped because the collector could not take them (a failed send, a broken connection).</summary>
    public long DroppedNotConnected;

    public long Reconnects;

    /// <summary>Counts one message handed to the collector.</summary>
    public void Sent(int bytes, int records, bool templates)
    {
        MessagesSent++;
        RecordsSent += records;
        BytesSent += bytes;
        if (templates)
        {
            TemplatesSent++;
        }
    }
}
