using VtapCollector.Export.Formats;
using VtapCollector.Export.Metrics;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;

namespace VtapCollector.Export.Ipfix;

/// <summary>
/// Exports records as IPFIX (RFC 7011) to one or more collectors over UDP or TCP, or to an IPFIX
/// file (RFC 5655). The exporter hands it the data record(s) its <see cref="IpfixRecordEncoder"/>
/// wrote; each collector's <see cref="IpfixExporter"/> packs them into its own messages with its own
/// sequence numbers and templates. Nothing blocks and nothing is allocated per record.
/// </summary>
public sealed class IpfixSink : IRecordSink
{
    private readonly IpfixRecordEncoder _encoder;
    private readonly IpfixExporter[] _exporters;
    private bool _disposed;

    /// <summary>Opens a transport per configured collector; the options must have passed <see cref="IpfixSinkOptions.Validate"/>.</summary>
    public IpfixSink(IpfixSinkOptions options, string name = "ipfix")
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } error)
        {
            throw new ArgumentException(error, nameof(options));
        }

        _encoder = new IpfixRecordEncoder(options.Biflow);
        Name = name;
        var templates = new IpfixTemplateMessage(IpfixTemplate.For(options.Biflow), options.ObservationDomainId);
        _exporters = new IpfixExporter[options.Collectors.Count];
        for (var i = 0; i < _exporters.Length; i++)
        {
            var collector = IpfixCollectorAddress.TryParse(options.Collectors[i], out _)!;
            IIpfixTransport transport = collector.Transport == IpfixTransportKind.Udp
                ? new UdpIpfixTransport(collector)
                : new TcpIpfixTransport(collector, templates, options.MaxMessageBytes, options.TcpBufferMessages, options.ReconnectInterval, options.ShutdownDrain);
            _exporters[i] = new IpfixExporter(collector.ToString(), transport, templates, options.MaxMessageBytes, options.TemplateRefresh, options.TemplateRefreshMessages);
        }

        foreach (var exporter in _exporters)
        {
            exporter.Transport.Pump();
        }
    }

    /// <summary>Writes an IPFIX file (RFC 5655) to <paramref name="stream"/>, which the sink disposes.</summary>
    public IpfixSink(Stream stream, bool biflow = true, uint observationDomainId = 0, int maxMessageBytes = ushort.MaxValue, string name = "file")
    {
        _encoder = new IpfixRecordEncoder(biflow);
        Name = name;
        var templates = new IpfixTemplateMessage(IpfixTemplate.For(biflow), observationDomainId);
        _exporters = [new IpfixExporter(name, new FileIpfixTransport(stream, templates), templates, maxMessageBytes, TimeSpan.MaxValue, int.MaxValue)];
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IRecordEncoder Encoder => _encoder;

    /// <summary>The exporter of each collector, in configuration order.</summary>
    public IReadOnlyList<IpfixExporter> Exporters => _exporters;

    /// <inheritdoc/>
    /// <remarks>
    /// False: every collector of a scale set exports to the same IPFIX collectors, so one that is away
    /// would fail them all and take the Kafka and file records down with it. A lost TCP connection shows
    /// in <c>vtap_sink_healthy</c> and <c>vtap_ipfix_records_dropped_total</c>, and alerts from there.
    /// </remarks>
    public bool GatesReadiness => false;

    /// <inheritdoc/>
    public bool IsHealthy
    {
        get
        {
            foreach (var exporter in _exporters)
            {
                if (!exporter.Transport.IsHealthy)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <inheritdoc/>
    public bool Write(in FlowRecord record, ReadOnlySpan<byte> encoded)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var templateId = _encoder.TemplateId(record);
        var count = _encoder.RecordCount(record);
        foreach (var exporter in _exporters)
        {
            exporter.Add(templateId, encoded, count);
        }

        return true;
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (_disposed)
        {
            return;
        }

        foreach (var exporter in _exporters)
        {
            exporter.Flush();
        }
    }

    /// <inheritdoc/>
    public void CollectMetrics(MetricSet metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        foreach (var exporter in _exporters)
        {
            var counters = exporter.Transport.Counters;
            var collector = exporter.Collector;
            metrics.Counter(IpfixMetrics.MessagesSent, IpfixMetrics.MessagesSentHelp, Volatile.Read(ref counters.MessagesSent), ("sink", Name), ("collector", collector));
            metrics.Counter(IpfixMetrics.RecordsSent, IpfixMetrics.RecordsSentHelp, Volatile.Read(ref counters.RecordsSent), ("sink", Name), ("collector", collector));
            metrics.Counter(IpfixMetrics.BytesSent, IpfixMetrics.BytesSentHelp, Volatile.Read(ref counters.BytesSent), ("sink", Name), ("collector", collector));
            metrics.Counter(IpfixMetrics.TemplatesSent, IpfixMetrics.TemplatesSentHelp, Volatile.Read(ref counters.TemplatesSent), ("sink", Name), ("collector", collector));
            metrics.Counter(IpfixMetrics.RecordsDropped, IpfixMetrics.RecordsDroppedHelp, Volatile.Read(ref counters.DroppedBufferFull), ("sink", Name), ("collector", collector), ("reason", "buffer_full"));
            metrics.Counter(IpfixMetrics.RecordsDropped, IpfixMetrics.RecordsDroppedHelp, Volatile.Read(ref counters.DroppedNotConnected), ("sink", Name), ("collector", collector), ("reason", "not_connected"));
            metrics.Counter(IpfixMetrics.Reconnects, IpfixMetrics.ReconnectsHelp, Volatile.Read(ref counters.Reconnects), ("sink", Name), ("collector", collector));
        }
    }

    /// <summary>Sends what is open, gives TCP collectors a short time to take what is buffered, and closes. A second call does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var exporter in _exporters)
        {
            exporter.Dispose();
        }
    }
}
