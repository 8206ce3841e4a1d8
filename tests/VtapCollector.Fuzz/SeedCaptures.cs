using System.Buffers.Binary;
using VtapCollector.Decoding;

namespace VtapCollector.Fuzz;

/// <summary>
/// Writes frames cut from the real captures back out in the layouts the repository has no sample
/// of: big-endian and nanosecond pcap (draft-ietf-opsawg-pcap section 4), and pcapng
/// (draft-ietf-opsawg-pcapng section 4) with every packet block type the reader takes.
/// </summary>
internal static class SeedCaptures
{
    public static byte[] Pcap(IReadOnlyList<(LinkType LinkType, long Timestamp, byte[] Data)> frames, bool bigEndian, bool nanoseconds)
    {
        var output = new List<byte>();
        Put32(output, nanoseconds ? 0xA1B23C4Du : 0xA1B2C3D4u, bigEndian);
        Put16(output, 2, bigEndian);
        Put16(output, 4, bigEndian);
        Put32(output, 0, bigEndian);
        Put32(output, 0, bigEndian);
        Put32(output, 262_144, bigEndian);
        Put32(output, (uint)frames[0].LinkType, bigEndian);
        foreach (var (_, timestamp, data) in frames)
        {
            Put32(output, (uint)(timestamp / 1_000_000_000), bigEndian);
            Put32(output, (uint)(timestamp % 1_000_000_000 / (nanoseconds ? 1 : 1_000)), bigEndian);
            Put32(output, (uint)data.Length, bigEndian);
            Put32(output, (uint)data.Length, bigEndian);
            output.AddRange(data);
        }

        return [.. output];
    }

    /// <summary>A section header, an interface with nanosecond resolution, then the frames as enhanced, simple and obsolete packet blocks in turn.</summary>
    public static byte[] Pcapng(IReadOnlyList<(LinkType LinkType, long Timestamp, byte[] Data)> frames, bool bigEndian)
    {
        var output = new List<byte>();
        var body = new List<byte>();
        Put32(body, 0x1A2B3C4D, bigEndian);
        Put16(body, 1, bigEndian);
        Put16(body, 0, bigEndian);
        Put32(body, uint.MaxValue, bigEndian);
        Put32(body, uint.MaxValue, bigEndian);
        Block(output, 0x0A0D0D0A, body, bigEndian);

        body.Clear();
        Put16(body, (ushort)frames[0].LinkType, bigEndian);
        Put16(body, 0, bigEndian);
        Put32(body, 0, bigEndian);
        Put16(body, 9, bigEndian);
        Put16(body, 1, bigEndian);
        body.AddRange([9, 0, 0, 0]);
        Put16(body, 0, bigEndian);
        Put16(body, 0, bigEndian);
        Block(output, 1, body, bigEndian);

        for (var i = 0; i < frames.Count; i++)
        {
            var (_, timestamp, data) = frames[i];
            body.Clear();
            var type = (i % 3) switch { 0 => 6u, 1 => 3u, _ => 2u };
            if (type == 3)
            {
                Put32(body, (uint)data.Length, bigEndian);
            }
            else
            {
                if (type == 6)
                {
                    Put32(body, 0, bigEndian);
                }
                else
                {
                    Put16(body, 0, bigEndian);
                    Put16(body, 0, bigEndian);
                }

                Put32(body, (uint)((ulong)timestamp >> 32), bigEndian);
                Put32(body, (uint)timestamp, bigEndian);
                Put32(body, (uint)data.Length, bigEndian);
                Put32(body, (uint)data.Length, bigEndian);
            }

            body.AddRange(data);
            Block(output, type, body, bigEndian);
        }

        return [.. output];
    }

    private static void Block(List<byte> output, uint type, List<byte> body, bool bigEndian)
    {
        while (body.Count % 4 != 0)
        {
            body.Add(0);
        }

        var length = (uint)(12 + body.Count);
        Put32(output, type, bigEndian);
        Put32(output, length, bigEndian);
        output.AddRange(body);
        Put32(output, length, bigEndian);
    }

    private static void Put16(List<byte> output, ushort value, bool bigEndian)
    {
        Span<byte> bytes = stackalloc byte[2];
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        }

        output.AddRange(bytes);
    }

    private static void Put32(List<byte> output, uint value, bool bigEndian)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        }

        output.AddRange(bytes);
    }
}
