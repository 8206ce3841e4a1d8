namespace VtapCollector.Export.Ipfix;

/// <summary>
/// The exporting process of one collector: packs data records into messages of at most the configured
/// size, numbers them (RFC 7011 section 3.1: the sequence number counts the data records sent before
/// the message), and over UDP puts the templates at the front of a message at least every refresh
/// interval and every N messages (section 8.4), so a collector that started late or restarted learns
/// them. A stream transport sends the templates itself at the start of each session.
/// </summary>
public sealed class IpfixExporter : IDisposable
{
    private readonly IpfixMessageWriter _writer;
    private readonly IpfixTemplateMessage _templates;
    private readonly long _refreshMs;
    private readonly int _refreshMessages;
    private uint _sequence;
    private bool _withTemplates;
    private bool _templatesEverSent;
    private long _lastTemplatesMs;
    private int _messagesSinceTemplates;

    /// <summary>Creates the exporter of one collector.</summary>
    public IpfixExporter(string collector, IIpfixTransport transport, IpfixTemplateMessage templates, int maxMessageBytes, TimeSpan templateRefresh, int templateRefreshMessages)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(templates);
        Collector = collector;
        Transport = transport;
        _templates = templates;
        _writer = new IpfixMessageWriter(maxMessageBytes);
        _refreshMs = (long)templateRefresh.TotalMilliseconds;
        _refreshMessages = templateRefreshMessages;
    }

    /// <summary>The collector as configured: the <c>collector</c> metric label.</summary>
    public string Collector { get; }

    /// <summary>The transport carrying the messages.</summary>
    public IIpfixTransport Transport { get; }

    /// <summary>Adds <paramref name="count"/> data records of one template; sends the open message first when they do not fit.</summary>
    public void Add(ushort templateId, ReadOnlySpan<byte> records, int count)
    {
        if (!_writer.IsOpen)
        {
            Begin();
        }

        if (_writer.TryAddRecords(templateId, records, count))
        {
            return;
        }

        Send();
        Begin();
        if (!_writer.TryAddRecords(templateId, records, count))
        {
            // Unreachable with a validated message size (the largest record fits with the templates).
            Transport.Counters.DroppedNotConnected += count;
        }
    }

    /// <summary>Sends the open message, or over UDP a templates-only message when they are due; then lets the transport make progress.</summary>
    public void Flush()
    {
        if (_writer.IsOpen && _writer.Records > 0)
        {
            Send();
        }
        else if (Transport.IsDatagram && TemplatesDue())
        {
            Begin();
            Send();
        }

        Transport.Pump();
    }

    /// <summary>Sends what is open and closes the transport.</summary>
    public void Dispose()
    {
        if (_writer.IsOpen && _writer.Records > 0)
        {
            Send();
        }

        Transport.Dispose();
    }

    private bool TemplatesDue() =>
        !_templatesEverSent || Environment.TickCount64 - _lastTemplatesMs >= _refreshMs || _messagesSinceTemplates >= _refreshMessages;

    private void Begin()
    {
        _writer.Begin((uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds(), _sequence, _templates.ObservationDomainId);
        _withTemplates = Transport.IsDatagram && TemplatesDue();
        if (_withTemplates)
        {
            _writer.TryAddSet(_templates.TemplateSet);
        }
    }

    private void Send()
    {
        var records = _writer.Records;
        Transport.Send(_writer.Finish(), records, _withTemplates);
        _sequence += (uint)records;
        if (_withTemplates)
        {
            _templatesEverSent = true;
            _lastTemplatesMs = Environment.TickCount64;
            _messagesSinceTemplates = 0;
        }
        else
        {
            _messagesSinceTemplates++;
        }
    }
}
