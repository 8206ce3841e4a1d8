using System.Globalization;

namespace VtapCollector.Export.Ipfix;

/// <summary>Settings of <see cref="IpfixSink"/> (<c>Sinks:Ipfix:*</c>).</summary>
public sealed class IpfixSinkOptions
{
    /// <summary>The smallest message size accepted without deduplication: the largest data record, its set header and the message header, with the templates.</summary>
    public static readonly int MinMessageBytes = MinMessageBytesFor(dedup: false);

    /// <summary>The smallest message size accepted for the templates of <paramref name="dedup"/> (with the deduplication elements, or without).</summary>
    public static int MinMessageBytesFor(bool dedup) => IpfixMessageWriter.HeaderLength + Math.Max(
        IpfixTemplate.TemplateSetLength(IpfixTemplate.For(true, dedup)) + 4 + IpfixTemplate.For(true, dedup)[1].RecordLength,
        IpfixTemplate.TemplateSetLength(IpfixTemplate.For(false, dedup)) + 4 + (2 * IpfixTemplate.For(false, dedup)[1].RecordLength));

    /// <summary>Collectors, each <c>udp://HOST:PORT</c> or <c>tcp://HOST:PORT</c>; at least one.</summary>
    public IReadOnlyList<string> Collectors { get; init; } = [];

    /// <summary>The observation domain id of every message. Default 0.</summary>
    public uint ObservationDomainId { get; init; }

    /// <summary>Over UDP, the templates travel again at least this often (RFC 7011 section 8.4). Default 60 s.</summary>
    public TimeSpan TemplateRefresh { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Over UDP, the templates travel again at least every this many messages. Default 100.</summary>
    public int TemplateRefreshMessages { get; init; } = 100;

    /// <summary>The largest message. Default 1400: a 1500-byte path MTU less the IPv6 and UDP headers, with room to spare.</summary>
    public int MaxMessageBytes { get; init; } = 1400;

    /// <summary>RFC 5103 biflow records (default), or two unidirectional records per flow.</summary>
    public bool Biflow { get; init; } = true;

    /// <summary>Over TCP, messages held while the collector is slow or away. Default 4096.</summary>
    public int TcpBufferMessages { get; init; } = 4096;

    /// <summary>
    /// Add the double-tap deduplication elements (observation points, copies removed) in templates
    /// of their own; set from <c>Dedup:Enabled</c>, not a key of its own. Default false.
    /// </summary>
    public bool Dedup { get; init; }

    /// <summary>Over TCP, the least time between connection attempts (it doubles while they fail, up to 30 s). Default 1 s.</summary>
    public TimeSpan ReconnectInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Over TCP, how long closing the sink keeps trying to deliver what is buffered. Default 2 s.</summary>
    public TimeSpan ShutdownDrain { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>One sentence naming the first invalid setting, or null.</summary>
    public string? Validate()
    {
        if (Collectors.Count == 0)
        {
            return "Sinks:Ipfix:Collectors needs at least one collector, udp://HOST:PORT or tcp://HOST:PORT.";
        }

        foreach (var collector in Collectors)
        {
            if (IpfixCollectorAddress.TryParse(collector, out var error) is null)
            {
                return $"Sinks:Ipfix:Collectors: {error}.";
            }
        }

        if (TemplateRefresh < TimeSpan.FromSeconds(1))
        {
            return "Sinks:Ipfix:TemplateRefreshSeconds must be at least 1.";
        }

        if (TemplateRefreshMessages < 1)
        {
            return "Sinks:Ipfix:TemplateRefreshMessages must be at least 1.";
        }

        var least = MinMessageBytesFor(Dedup);
        if (MaxMessageBytes < least || MaxMessageBytes > ushort.MaxValue)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Sinks:Ipfix:MaxMessageBytes must be from {least} to 65535 (the largest record with the templates must fit).");
        }

        return TcpBufferMessages < 1 ? "Sinks:Ipfix:TcpBufferMessages must be at least 1." : null;
    }
}
