using System.Globalization;

namespace VtapCollector.Tests.Oracle;

/// <summary>tshark's own conversation tables (<c>-z conv,tcp -z conv,udp</c>): a second, coarser oracle than <see cref="TsharkOracle"/>.</summary>
internal static class TsharkConversations
{
    /// <summary>One row: A, B, frames A to B ("-&gt;"), frames B to A ("&lt;-").</summary>
    internal sealed record Row(int Protocol, Endpoint A, Endpoint B, long FramesAToB, long FramesBToA);

    public static List<Row> Run(string capture, string scratchDirectory) =>
        Parse(TsharkOracle.Invoke(capture, scratchDirectory, ["-q", "-z", "conv,tcp", "-z", "conv,udp"]));

    public static List<Row> Parse(string output)
    {
        var rows = new List<Row>();
        var protocol = 0;
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("TCP Conversations", StringComparison.Ordinal))
            {
                protocol = 6;
                continue;
            }

            if (line.StartsWith("UDP Conversations", StringComparison.Ordinal))
            {
                protocol = 17;
                continue;
            }

            if (!line.Contains(" <-> ", StringComparison.Ordinal))
            {
                continue;
            }

            // a:port <-> b:port  framesBA bytes unit  framesAB bytes unit  framesTotal bytes unit  start duration
            var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (protocol == 0 || tokens.Length != 14 || tokens[1] != "<->")
            {
                throw new InvalidOperationException($"unexpected conversation table line: '{line}'");
            }

            var framesBToA = long.Parse(tokens[3], CultureInfo.InvariantCulture);
            var framesAToB = long.Parse(tokens[6], CultureInfo.InvariantCulture);
            var total = long.Parse(tokens[9], CultureInfo.InvariantCulture);
            if (framesAToB + framesBToA != total)
            {
                throw new InvalidOperationException($"conversation table line whose frames do not add up: '{line}'");
            }

            rows.Add(new Row(protocol, ParseEndpoint(tokens[0]), ParseEndpoint(tokens[2]), framesAToB, framesBToA));
        }

        return rows;
    }

    private static Endpoint ParseEndpoint(string text)
    {
        var colon = text.LastIndexOf(':');
        return new Endpoint(Endpoint.Canonical(text[..colon]), int.Parse(text.AsSpan(colon + 1), CultureInfo.InvariantCulture));
    }
}
