namespace VtapCollector.Export.Ipfix;

/// <summary>
/// An IPFIX File (RFC 5655 section 7): the messages back to back in a stream, the templates once at
/// its start, as a stream transport sends them once per session.
/// </summary>
public sealed class FileIpfixTransport : IIpfixTransport
{
    private readonly Stream _stream;
    private readonly IpfixTemplateMessage _templates;
    private bool _started;
    private bool _healthy = true;

    /// <summary>Writes to <paramref name="stream"/>, which the transport disposes.</summary>
    public FileIpfixTransport(Stream stream, IpfixTemplateMessage templates)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(templates);
        _stream = stream;
        _templates = templates;
    }

    /// <inheritdoc/>
    public bool IsDatagram => false;

    /// <inheritdoc/>
    public bool IsHealthy => _healthy;

    /// <summary>The message of the error that made the transport unhealthy, or null.</summary>
    public string? LastError { get; private set; }

    /// <inheritdoc/>
    public IpfixCollectorCounters Counters { get; } = new();

    /// <inheritdoc/>
    public void Send(ReadOnlySpan<byte> message, int records, bool templates)
    {
        if (!_healthy)
        {
            Counters.DroppedNotConnected += records;
            return;
        }

        try
        {
            if (!_started)
            {
                var sequence = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(message[8..]);
                var templateMessage = _templates.Build((uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds(), sequence);
                _stream.Write(templateMessage);
                Counters.Sent(templateMessage.Length, 0, templates: true);
                _started = true;
            }

            _stream.Write(message);
            Counters.Sent(message.Length, records, templates);
        }
        catch (IOException error)
        {
            LastError = error.Message;
            _healthy = false;
            Counters.DroppedNotConnected += records;
        }
    }

    /// <inheritdoc/>
    public void Pump()
    {
        if (!_healthy)
        {
            return;
        }

        try
        {
            _stream.Flush();
        }
        catch (IOException error)
        {
            LastError = error.Message;
            _healthy = false;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Pump();
        _stream.Dispose();
    }
}
