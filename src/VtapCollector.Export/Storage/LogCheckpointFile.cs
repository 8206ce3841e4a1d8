using System.Buffers.Binary;

namespace VtapCollector.Export.Storage;

/// <summary>
/// A <see cref="SegmentLog"/>'s checkpoint file: the position up to which every record was consumed, as
/// 8 bytes of segment id, 8 bytes of offset (little-endian) and the CRC-32C of those 16 bytes.
/// </summary>
internal static class LogCheckpointFile
{
    /// <summary>The file's name in the log's directory.</summary>
    public const string Name = "checkpoint";

    private const int Length = 20;

    /// <summary>The saved position; the log's start (default) if there is none or it is damaged (<c>Damaged</c> then says so).</summary>
    public static (LogPosition Checkpoint, bool Damaged) Load(string directory)
    {
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(directory, Name));
            if (bytes.Length == Length
                && Crc32C.Compute(bytes.AsSpan(0, 16)) == BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)))
            {
                return (new LogPosition(BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8))), false);
            }

            return (default, true);
        }
        catch (FileNotFoundException)
        {
            // A new log.
            return (default, false);
        }
    }

    /// <summary>Saves <paramref name="checkpoint"/>: written aside and renamed over, so the file is always the old or the new one, never torn.</summary>
    public static void Save(string directory, LogPosition checkpoint)
    {
        var bytes = new byte[Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, checkpoint.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), checkpoint.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), Crc32C.Compute(bytes.AsSpan(0, 16)));
        var path = Path.Combine(directory, Name);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }
}
