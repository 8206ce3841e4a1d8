namespace VtapCollector.Kafka;

/// <summary>
/// The bytes (key, then value) of the records librdkafka holds but has not acknowledged, in one
/// circular byte array: records are released in the order they were added, so a FIFO suffices, and
/// one large array of bytes costs the garbage collector nothing per record, unlike an array per record
/// kept alive for the length of a broker outage. Positions are absolute byte counts, so growing the
/// array needs no bookkeeping. Not thread-safe: the sink uses it under its lock.
/// </summary>
internal sealed class InFlightBytes(long maxBytes)
{
    private const int InitialBytes = 1024 * 1024;

    private byte[] _buffer = new byte[(int)Math.Min(InitialBytes, maxBytes)];
    private long _head;
    private long _tail;

    /// <summary>Bytes held.</summary>
    public long Length => _tail - _head;

    /// <summary>Bytes the buffer may grow to.</summary>
    public long MaxBytes { get; } = Math.Min(maxBytes, Array.MaxLength);

    /// <summary>Appends the key and value; false when they would take the buffer beyond <see cref="MaxBytes"/>.</summary>
    public bool TryAppend(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out long position)
    {
        position = _tail;
        var needed = Length + key.Length + value.Length;
        if (needed > _buffer.Length)
        {
            if (needed > MaxBytes)
            {
                return false;
            }

            Grow(needed);
        }

        Write(_tail, key);
        Write(_tail + key.Length, value);
        _tail += key.Length + value.Length;
        return true;
    }

    /// <summary>Copies the bytes at <paramref name="position"/> into <paramref name="destination"/>.</summary>
    public void Read(long position, Span<byte> destination)
    {
        var start = (int)(position % _buffer.Length);
        var first = Math.Min(destination.Length, _buffer.Length - start);
        _buffer.AsSpan(start, first).CopyTo(destination);
        _buffer.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>Frees everything before <paramref name="position"/> (the oldest record was acknowledged).</summary>
    public void ReleaseTo(long position) => _head = Math.Max(_head, position);

    /// <summary>Drops everything from <paramref name="position"/> on (the newest record was not taken after all).</summary>
    public void TruncateTo(long position) => _tail = position;

    private void Write(long position, ReadOnlySpan<byte> source)
    {
        var start = (int)(position % _buffer.Length);
        var first = Math.Min(source.Length, _buffer.Length - start);
        source[..first].CopyTo(_buffer.AsSpan(start));
        source[first..].CopyTo(_buffer);
    }

    private void Grow(long needed)
    {
        var size = _buffer.Length;
        while (size < needed)
        {
            size = (int)Math.Min(2L * size, MaxBytes);
        }

        // Positions are taken modulo the size, so the held bytes move to their places in the larger array.
        var held = new byte[Length];
        Read(_head, held);
        _buffer = new byte[size];
        Write(_head, held);
    }
}
