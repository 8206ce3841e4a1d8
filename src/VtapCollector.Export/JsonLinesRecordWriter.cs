using VtapCollector.Flows;

namespace VtapCollector.Export;

/// <summary>
/// Writes flow records as JSON Lines to a stream (stdout or a file) through one reusable buffer:
/// the stream sees large writes, and encoding a record allocates nothing.
/// </summary>
public sealed class JsonLinesRecordWriter : IFlowRecordWriter, IDisposable
{
    private const int BufferSize = 256 * 1024;

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly ushort _communityIdSeed;
    private readonly byte[] _buffer = new byte[BufferSize];
    private int _used;
    private bool _disposed;

    public JsonLinesRecordWriter(Stream stream, bool ownsStream, ushort communityIdSeed = 0)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _communityIdSeed = communityIdSeed;
    }

    /// <summary>Records written, by type.</summary>
    public long UpdateRecords { get; private set; }

    /// <summary>End records written.</summary>
    public long EndRecords { get; private set; }

    /// <summary>Bytes of JSON produced.</summary>
    public long BytesWritten { get; private set; }

    public void Write(in FlowRecord record)
    {
        if (_used > BufferSize - FlowRecordJsonEncoder.MaxRecordLength - 1)
        {
            Drain();
        }

        var written = FlowRecordJsonEncoder.Encode(record, _buffer.AsSpan(_used), _communityIdSeed);
        _buffer[_used + written++] = (byte)'\n';
        _used += written;
        BytesWritten += written;
        if (record.Type == FlowRecordType.End)
        {
            EndRecords++;
        }
        else
        {
            UpdateRecords++;
        }
    }

    /// <summary>Writes buffered records to the stream and flushes it.</summary>
    public void Flush()
    {
        Drain();
        _stream.Flush();
    }

    public void Dispose()
    {
        // A second Dispose must not flush a stream the first one closed (IDisposable's contract).
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Flush();
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }

    private void Drain()
    {
        if (_used > 0)
        {
            _stream.Write(_buffer, 0, _used);
            _used = 0;
        }
    }
}
