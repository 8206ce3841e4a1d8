using System.Buffers.Binary;

namespace VtapCollector.Export.Ipfix;

/// <summary>
/// Packs one IPFIX message (RFC 7011 section 3) into a preallocated buffer: the 16-byte header, then
/// sets; consecutive records of one template share one Data Set. Nothing is allocated per record.
/// </summary>
public sealed class IpfixMessageWriter
{
    /// <summary>RFC 7011 section 3.1: the version number of IPFIX.</summary>
    public const ushort Version = 10;

    /// <summary>Bytes of the message header.</summary>
    public const int HeaderLength = 16;

    private const int SetHeaderLength = 4;

    private readonly byte[] _buffer;
    private int _length;
    private int _setStart = -1;
    private ushort _setId;

    /// <summary>Creates a writer of messages of at most <paramref name="maxMessageBytes"/> bytes.</summary>
    public IpfixMessageWriter(int maxMessageBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageBytes, 256);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessageBytes, ushort.MaxValue);
        _buffer = new byte[maxMessageBytes];
    }

    /// <summary>True between <see cref="Begin"/> and <see cref="Finish"/>.</summary>
    public bool IsOpen => _length > 0;

    /// <summary>Data records in the open message.</summary>
    public int Records { get; private set; }

    /// <summary>Starts a message: the header, whose length is written by <see cref="Finish"/>.</summary>
    /// <param name="exportTime">Seconds since the UNIX epoch (RFC 7011 section 3.1).</param>
    /// <param name="sequence">Data records sent before this message in this transport session and observation domain, modulo 2^32.</param>
    /// <param name="observationDomainId">The observation domain.</param>
    public void Begin(uint exportTime, uint sequence, uint observationDomainId)
    {
        var header = _buffer.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(header, Version);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], exportTime);
        BinaryPrimitives.WriteUInt32BigEndian(header[8..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(header[12..], observationDomainId);
        _length = HeaderLength;
        _setStart = -1;
        Records = 0;
    }

    /// <summary>Appends a whole set (a Template Set); false when it does not fit.</summary>
    public bool TryAddSet(ReadOnlySpan<byte> set)
    {
        CloseSet();
        if (set.Length > _buffer.Length - _length)
        {
            return false;
        }

        set.CopyTo(_buffer.AsSpan(_length));
        _length += set.Length;
        return true;
    }

    /// <summary>
    /// Appends <paramref name="count"/> data records of template <paramref name="templateId"/>, opening a
    /// Data Set when the previous set was of another template; false when they do not fit.
    /// </summary>
    public bool TryAddRecords(ushort templateId, ReadOnlySpan<byte> records, int count)
    {
        var needed = records.Length + (_setStart >= 0 && _setId == templateId ? 0 : SetHeaderLength);
        if (needed > _buffer.Length - _length)
        {
            return false;
        }

        if (_setStart < 0 || _setId != templateId)
        {
            CloseSet();
            _setStart = _length;
            _setId = templateId;
            BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_length), templateId);
            _length += SetHeaderLength;
        }

        records.CopyTo(_buffer.AsSpan(_length));
        _length += records.Length;
        Records += count;
        return true;
    }

    /// <summary>Closes the message: writes the lengths and returns its bytes, valid until the next <see cref="Begin"/>.</summary>
    public ReadOnlySpan<byte> Finish()
    {
        CloseSet();
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(2), (ushort)_length);
        var message = _buffer.AsSpan(0, _length);
        _length = 0;
        return message;
    }

    private void CloseSet()
    {
        if (_setStart >= 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_setStart + 2), (ushort)(_length - _setStart));
            _setStart = -1;
        }
    }
}
