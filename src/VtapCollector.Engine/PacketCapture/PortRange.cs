using System.Globalization;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>An inclusive range of port numbers: one port (<c>443</c>) or a range (<c>1024-2047</c>).</summary>
internal readonly record struct PortRange(ushort Low, ushort High)
{
    public bool Contains(ushort port) => (uint)(port - Low) <= (uint)(High - Low);

    public override string ToString() =>
        Low == High ? Low.ToString(CultureInfo.InvariantCulture) : $"{Low.ToString(CultureInfo.InvariantCulture)}-{High.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Reads <c>P</c> or <c>P-Q</c> (0..65535, P ≤ Q).</summary>
    public static bool TryParse(string? text, out PortRange range)
    {
        range = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var lowText = dash < 0 ? text : text[..dash];
        var highText = dash < 0 ? text : text[(dash + 1)..];
        if (!ushort.TryParse(lowText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var low)
            || !ushort.TryParse(highText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var high)
            || low > high)
        {
            return false;
        }

        range = new PortRange(low, high);
        return true;
    }
}
