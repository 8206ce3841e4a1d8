using VtapCollector.Export.Formats;
using VtapCollector.Export.Metrics;
using VtapCollector.Flows;

namespace VtapCollector.Export.Sinks;

/// <summary>
/// Writes records one per line (JSON Lines for the JSON formats) to a stream (standard output by
/// default) through one preallocated buffer, so the stream sees large writes and a record costs a
/// copy, not a system call.
/// </summary>
/// <remarks>
/// An <see cref="IOException"/> from the stream (typically EPIPE: the reader of stdout went away)
/// makes the sink unhealthy for good, since a broken pipe never heals: from then on
/// <see cref="Write"/> returns false and counts a failure instead of throwing into the exporter.
/// </remarks>
public sealed class StreamSink : IRecordSink
{
    /// <summary>Default size of the buffer: 256 KiB, enough that stdout sees few, large writes.</summary>
    public const int DefaultBufferSize = 256 * 1024;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _buffer;
    private int _used;
    private long _bufferedRecords;
    private volatile bool _healthy = true;
    private bool _disposed;
    private long _recordsWritten;
    private long _bytesWritten;
    private long _failures;
    private long _recordsLost;

    /// <summary>Creates a sink over <paramref name="stream"/>.</summary>
    /// <param name="stream">Where the lines go, e.g. <see cref="Console.OpenStandardOutput()"/>.</param>
    /// <param name="name">The sink's metric label. Default <c>stdout</c>.</param>
    /// <param name="leaveOpen">False (the default) to dispose the stream with the sink.</param>
    /// <param name="bufferSize">Bytes buffered before a write to the stream, more than the encoder's <see cref="IRecordEncoder.MaxRecordLength"/>. Default <see cref="DefaultBufferSize"/>.</param>
    /// <param name="encoder">The format written. Default <see cref="VtapJsonEncoder"/>.</param>
    public StreamSink(Stream stream, string name = "stdout", bool leaveOpen = false, int bufferSize = DefaultBufferSize, IRecordEncoder? encoder = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Encoder = encoder ?? new VtapJsonEncoder();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bufferSize, Encoder.MaxRecordLength);
        _stream = stream;
        _leaveOpen = leaveOpen;
        _buffer = new byte[bufferSize];
        Name = name;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IRecordEncoder Encoder { get; }

    /// <inheritdoc/>
    public bool IsHealthy => _healthy;

    /// <summary>Records handed to the stream (buffered records count once they are written).</summary>
    public long RecordsWritten => Volatile.Read(ref _recordsWritten);

    /// <summary>Bytes handed to the stream.</summary>
    public long BytesWritten => Volatile.Read(ref _bytesWritten);

    /// <summary>Records refused by <see cref="Write"/> because the stream failed (each one returned false).</summary>
    public long Failures => Volatile.Read(ref _failures);

    /// <summary>
    /// Records that <see cref="Write"/> had accepted into the buffer but that were discarded because
    /// the write of the buffer failed. The exporter counted them as delivered, so they are counted here.
    /// </summary>
    public long RecordsLost => Volatile.Read(ref _recordsLost);

    /// <summary>The message of the error that made the sink unhealthy, or null while it is healthy.</summary>
    public string? LastError { get; private set; }

    /// <inheritdoc/>
    public bool Write(in FlowRecord record, ReadOnlySpan<byte> encoded)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var length = encoded.Length + 1;
        if (!_healthy || length > _buffer.Length)
        {
            _failures++;
            return false;
        }

        if (length > _buffer.Length - _used && !TryDrain())
        {
            _failures++;
            return false;
        }

        encoded.CopyTo(_buffer.AsSpan(_used));
        _buffer[_used + encoded.Length] = (byte)'\n';
        _used += length;
        _bufferedRecords++;
        return true;
    }

    /// <inheritdoc/>
    public void CollectMetrics(MetricSet metrics)
    {
        metrics.Counter(SinkMetrics.BytesWritten, SinkMetrics.BytesWrittenHelp, BytesWritten, ("sink", Name));
        metrics.Counter(SinkMetrics.RecordsLost, SinkMetrics.RecordsLostHelp, RecordsLost, ("sink", Name));
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (_disposed || !_healthy || !TryDrain())
        {
            return;
        }

        try
        {
            _stream.Flush();
        }
        catch (IOException error)
        {
            Fail(error);
        }
    }

    /// <summary>Flushes the buffer and, unless told to leave it open, disposes the stream. A second call does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Flush();
        _disposed = true;
        if (!_leaveOpen)
        {
            try
            {
                _stream.Dispose();
            }
            catch (IOException)
            {
                // Closing a pipe whose reader is gone can fail again; the failure is already counted.
            }
        }
    }

    private bool TryDrain()
    {
        if (_used == 0)
        {
            return true;
        }

        try
        {
            _stream.Write(_buffer, 0, _used);
        }
        catch (IOException error)
        {
            Fail(error);
            return false;
        }

        _bytesWritten += _used;
        _recordsWritten += _bufferedRecords;
        _used = 0;
        _bufferedRecords = 0;
        return true;
    }

    private void Fail(IOException error)
    {
        // How much of the buffer reached the reader is unknown, and the stream cannot be reopened:
        // the buffered records are lost, and counted as such.
        _recordsLost += _bufferedRecords;
        _used = 0;
        _bufferedRecords = 0;
        LastError = error.Message;
        _healthy = false;
    }
}
