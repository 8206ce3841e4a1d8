using System.Buffers.Binary;
using VtapCollector.Export.Ipfix;

namespace VtapCollector.Export.Tests.Ipfix;

/// <summary>One decoded data record: its template and each field's bytes by (PEN, element id), in order.</summary>
internal sealed record DecodedRecord(ushort TemplateId, List<(uint Pen, ushort Id, byte[] Value)> Fields)
{
    public byte[] Field(ushort id, uint pen = 0) => Fields.First(f => f.Id == id && f.Pen == pen).Value;

    public ulong Number(ushort id, uint pen = 0)
    {
        ulong value = 0;
        foreach (var b in Field(id, pen))
        {
            value = (value << 8) | b;
        }

        return value;
    }
}

/// <summary>One decoded message: its header and its data records.</summary>
internal sealed record DecodedMessage(int Length, uint ExportTime, uint Sequence, uint DomainId, bool HasTemplates, List<DecodedRecord> Records);

/// <summary>
/// A deliberately plain reader of the messages the tests capture, written from RFC 7011 section 3
/// (not from the exporter's code): it learns templates from Template Sets and splits Data Sets by them,
/// failing the test on any length that does not add up.
/// </summary>
internal sealed class IpfixTestReader
{
    private readonly Dictionary<ushort, List<(uint Pen, ushort Id, ushort Length)>> _templates = [];

    public DecodedMessage Read(ReadOnlySpan<byte> message)
    {
        Assert.Equal(10, BinaryPrimitives.ReadUInt16BigEndian(message));
        var length = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        Assert.Equal(message.Length, length);
        var records = new List<DecodedRecord>();
        var hasTemplates = false;
        var offset = 16;
        while (offset < length)
        {
            var setId = BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
            var setLength = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
            Assert.True(setLength >= 4 && offset + setLength <= length, $"set at {offset} has length {setLength}");
            var body = message.Slice(offset + 4, setLength - 4);
            if (setId == 2)
            {
                hasTemplates = true;
                ReadTemplates(body);
            }
            else
            {
                Assert.True(setId >= 256, $"unexpected set id {setId}");
                var template = _templates[setId];
                var recordLength = template.Sum(f => f.Length);
                Assert.Equal(0, body.Length % recordLength);
                for (var at = 0; at < body.Length; at += recordLength)
                {
                    var fields = new List<(uint, ushort, byte[])>();
                    var position = at;
                    foreach (var (pen, id, fieldLength) in template)
                    {
                        fields.Add((pen, id, body.Slice(position, fieldLength).ToArray()));
                        position += fieldLength;
                    }

                    records.Add(new DecodedRecord(setId, fields));
                }
            }

            offset += setLength;
        }

        return new DecodedMessage(length, BinaryPrimitives.ReadUInt32BigEndian(message[4..]), BinaryPrimitives.ReadUInt32BigEndian(message[8..]), BinaryPrimitives.ReadUInt32BigEndian(message[12..]), hasTemplates, records);
    }

    private void ReadTemplates(ReadOnlySpan<byte> body)
    {
        var offset = 0;
        while (offset + 4 <= body.Length)
        {
            var id = BinaryPrimitives.ReadUInt16BigEndian(body[offset..]);
            var count = BinaryPrimitives.ReadUInt16BigEndian(body[(offset + 2)..]);
            offset += 4;
            var fields = new List<(uint, ushort, ushort)>();
            for (var i = 0; i < count; i++)
            {
                var element = BinaryPrimitives.ReadUInt16BigEndian(body[offset..]);
                var fieldLength = BinaryPrimitives.ReadUInt16BigEndian(body[(offset + 2)..]);
                offset += 4;
                uint pen = 0;
                if ((element & 0x8000) != 0)
                {
                    pen = BinaryPrimitives.ReadUInt32BigEndian(body[offset..]);
                    offset += 4;
                }

                fields.Add((pen, (ushort)(element & 0x7FFF), fieldLength));
            }

            _templates[id] = fields;
        }

        Assert.Equal(body.Length, offset);
    }
}

/// <summary>A datagram-like transport that keeps a copy of every message.</summary>
internal sealed class CapturingTransport(bool datagram = true) : IIpfixTransport
{
    public List<byte[]> Messages { get; } = [];

    public bool IsDatagram => datagram;

    public bool IsHealthy => true;

    public IpfixCollectorCounters Counters { get; } = new();

    public void Send(ReadOnlySpan<byte> message, int records, bool templates)
    {
        Messages.Add(message.ToArray());
        Counters.Sent(message.Length, records, templates);
    }

    public void Pump()
    {
    }

    public void Dispose()
    {
    }
}
