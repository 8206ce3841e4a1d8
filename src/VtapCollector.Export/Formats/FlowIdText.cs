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
        record.Vni.TryFormat(destination, out var length, default, System.Globalization.CultureInfo.InvariantCulture);
        destination[length++] = (byte)'-';
        var id = record.FlowId;
        for (var i = 15; i >= 0; i--)
        {
            var nibble = (int)(id & 0xF);
            destination[length + i] = (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
            id >>= 4;
        }

        return length + 16;
    }
}
