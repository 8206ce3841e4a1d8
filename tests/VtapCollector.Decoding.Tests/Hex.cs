using System.Globalization;

namespace VtapCollector.Decoding.Tests;

/// <summary>Turns annotated hex text ("45 00 00 5e", spaces allowed) into bytes.</summary>
internal static class Hex
{
    public static byte[] Parse(string hex)
    {
        var digits = new System.Text.StringBuilder(hex.Length);
        foreach (var c in hex)
        {
            if (!char.IsWhiteSpace(c))
            {
                digits.Append(c);
            }
        }

        return Convert.FromHexString(digits.ToString());
    }

    public static string Format(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLower(CultureInfo.InvariantCulture);
}
