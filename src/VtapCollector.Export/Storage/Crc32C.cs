using System.Buffers.Binary;
using System.Numerics;

namespace VtapCollector.Export.Storage;

/// <summary>
/// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected; the checksum of iSCSI, ext4 and Kafka's
/// record batches). <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the SSE4.2 or Arm CRC
/// instruction where there is one and a table otherwise; System.IO.Hashing is not needed.
/// </summary>
public static class Crc32C
{
    /// <summary>The checksum of <paramref name="data"/> (initial value and final XOR 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(uint.MaxValue, data);

    /// <summary>Continues a running CRC (not inverted) over <paramref name="data"/>.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (var value in data)
        {
            crc = BitOperations.Crc32C(crc, value);
        }

        return crc;
    }
}
