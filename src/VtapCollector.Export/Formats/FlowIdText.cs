using VtapCollector.Flows;

namespace VtapCollector.Export.Formats;

/// <summary>
/// The text form of a flow's id, <c>&lt;vni&gt;-&lt;16 lower-case hex digits&gt;</c>: the <c>flow_id</c> of every
/// format and the Kafka message key. The VNI leads so that overlapping tenant address spaces never collide.
/// </summary>
public static class FlowIdText
{
    /// <summary>The longest form: ten digits of VNI, a dash, sixteen hex digits.</summary>
    public const int MaxLength = 10 + 1 + 16;

    /// <summary>Writes the flow id of <paramref name="record"/>; returns the bytes written (at most <see cref="MaxLength"/>).</summary>
    public static int Format(in FlowRecord record, Span<byte> destination)
    {
        System.Buffers.Text.Utf8Formatter.TryFormat(record.Vni, destination, out var length);
        destination[length++] = (byte)'-';

        // Two hex digits per byte from a table: the digit-by-digit loop was a tenth of a record's encoding.
        var id = record.FlowId;
        var digits = destination.Slice(length, 16);
        for (var i = 7; i >= 0; i--)
        {
            var pair = (int)(id & 0xFF) * 2;
            digits[(i * 2) + 1] = HexPairs[pair + 1];
            digits[i * 2] = HexPairs[pair];
            id >>= 8;
        }

        return length + 16;
    }

    /// <summary>"00" to "ff", two lower-case hex digits per byte value.</summary>
    private static ReadOnlySpan<byte> HexPairs => HexTable;

    private static readonly byte[] HexTable = BuildHexTable();

    private static byte[] BuildHexTable()
    {
        var table = new byte[512];
        for (var value = 0; value < 256; value++)
        {
            table[value * 2] = (byte)"0123456789abcdef"[value >> 4];
            table[(value * 2) + 1] = (byte)"0123456789abcdef"[value & 0xF];
        }

        return table;
    }
}
