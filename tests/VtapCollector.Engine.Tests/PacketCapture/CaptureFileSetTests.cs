using VtapCollector.Capture;
using VtapCollector.Engine.PacketCapture;

namespace VtapCollector.Engine.Tests.PacketCapture;

/// <summary>Rotation by size and by age, retention by total size and by age, and files that stay readable.</summary>
public class CaptureFileSetTests
{
    private static readonly byte[] Payload = Enumerable.Range(0, 200).Select(i => (byte)i).ToArray();

    [Fact]
    public void Write_PastTheFileSize_RotatesIntoReadableFilesHoldingEveryPacket()
    {
        using var folder = new TempFolder();
        var spec = new CaptureSpec { Name = "rot", FileBytes = 4096, RetainBytes = 1 << 20 };
        using (var files = new CaptureFileSet(spec, folder.Path))
        {
            for (var i = 0; i < 100; i++)
            {
                files.Write(CaptureFiles.Frame(1_000 + i), Payload, "vni=100"u8, nowTicks: 0);
            }
        }

        var list = CaptureFileSet.ListFiles(folder.Path, "rot");
        Assert.True(list.Count > 4, $"{list.Count} files");
        long packets = 0;
        var times = new List<long>();
        foreach (var file in list)
        {
            var (count, error, frames) = CaptureFiles.Read(Path.Combine(folder.Path, file.Name));
            Assert.Equal(CaptureError.None, error);
            Assert.InRange(file.Bytes, 1, 4096 + 512);
            packets += count;
            times.AddRange(frames.Select(f => f.Time));
        }

        Assert.Equal(100, packets);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 1_000L + i), times);
    }

    [Fact]
    public void Write_AfterTheFileAge_StartsANewFile()
    {
        using var folder = new TempFolder();
        var spec = new CaptureSpec { Name = "age", FileAge = TimeSpan.FromSeconds(60) };
        using (var files = new CaptureFileSet(spec, folder.Path))
        {
            files.Write(CaptureFiles.Frame(1), Payload, default, nowTicks: 1_000);
            files.Write(CaptureFiles.Frame(2), Payload, default, nowTicks: 30_000);
            files.Write(CaptureFiles.Frame(3), Payload, default, nowTicks: 61_000);
        }

        var list = CaptureFileSet.ListFiles(folder.Path, "age");
        Assert.Equal(2, list.Count);
        Assert.Equal(2, CaptureFiles.Read(Path.Combine(folder.Path, list[0].Name)).Packets);
        Assert.Equal(1, CaptureFiles.Read(Path.Combine(folder.Path, list[1].Name)).Packets);
    }

    [Fact]
    public void Rotate_BeyondTheRetentionSize_DeletesTheOldestFiles()
    {
        using var folder = new TempFolder();
        var spec = new CaptureSpec { Name = "keep", FileBytes = 4096, RetainBytes = 3 * 4096 };
        using (var files = new CaptureFileSet(spec, folder.Path))
        {
            for (var i = 0; i < 400; i++)
            {
                files.Write(CaptureFiles.Frame(i), Payload, default, nowTicks: 0);
            }

            files.Retain(DateTimeOffset.UtcNow);
        }

        var list = CaptureFileSet.ListFiles(folder.Path, "keep");
        var total = list.Sum(f => f.Bytes);
        Assert.InRange(total, 1, (3 * 4096) + 4096 + 512);

        // The newest packets are the ones kept: the last file ends with packet 399.
        var last = CaptureFiles.Read(Path.Combine(folder.Path, list[^1].Name));
        Assert.Equal(399, last.Frames[^1].Time);
        Assert.DoesNotContain(list, f => f.Name.StartsWith("keep-000001-", StringComparison.Ordinal));
    }

    [Fact]
    public void Retain_FileOlderThanTheRetentionAge_IsDeleted()
    {
        using var folder = new TempFolder();
        var spec = new CaptureSpec { Name = "old", FileBytes = 4096, RetainAge = TimeSpan.FromHours(1) };
        using (var files = new CaptureFileSet(spec, folder.Path))
        {
            for (var i = 0; i < 60; i++)
            {
                files.Write(CaptureFiles.Frame(i), Payload, default, nowTicks: 0);
            }

            var before = CaptureFileSet.ListFiles(folder.Path, "old");
            Assert.True(before.Count >= 3);
            File.SetLastWriteTimeUtc(Path.Combine(folder.Path, before[0].Name), DateTime.UtcNow.AddHours(-2));

            files.Retain(DateTimeOffset.UtcNow);

            var after = CaptureFileSet.ListFiles(folder.Path, "old");
            Assert.Equal(before.Skip(1).Select(f => f.Name), after.Select(f => f.Name));
        }
    }

    [Fact]
    public void Commit_OnAFullDisk_ThrowsDiskFullAndCutsTheFileBack()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "full.pcapng");
        File.CreateSymbolicLink(path, "/dev/full");
        var spec = new CaptureSpec { Name = "full", SingleFile = path };
        using var files = new CaptureFileSet(spec, folder.Path);
        files.Write(CaptureFiles.Frame(1), Payload, default, nowTicks: 0);

        var error = Assert.ThrowsAny<IOException>(files.Commit);

        Assert.Equal(28, error.HResult & 0xFFFF); // ENOSPC
        Assert.Equal(0, files.StagedPackets);
    }
}
