using VtapCollector.Capture;

namespace VtapCollector.Benchmarks;

/// <summary>What <see cref="TouchingHandler"/> adds up, so the reads cannot be optimised away.</summary>
internal sealed class PacketTotals
{
    public ulong Checksum;
}

/// <summary>
/// A reader benchmark's handler: reads the bytes a tunnel decoder reads (the first 128 of the
/// frame) and nothing else, so a reader is timed with the memory traffic a replay gives it.
/// </summary>
internal readonly struct TouchingHandler(PacketTotals totals) : IPacketHandler
{
    public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data)
    {
        var checksum = (ulong)packet.TimestampNanos;
        if (data.Length >= 128)
        {
            checksum ^= BitConverter.ToUInt64(data) ^ BitConverter.ToUInt64(data[64..]) ^ BitConverter.ToUInt64(data[120..]);
        }

        totals.Checksum += checksum;
    }
}
