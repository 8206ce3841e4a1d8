using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VtapCollector.Flows.Tests;

/// <summary>MemoryPages against what the kernel reports in /proc/self/smaps.</summary>
public class MemoryPagesTests
{
    [Fact]
    public void AdviseHuge_PinnedArray_KernelMarksItsWholeHugePagesHugepage()
    {
        var array = GC.AllocateArray<byte>(8 << 20, pinned: true);
        MemoryPages.AdviseHuge(array);

        // A 2 MiB-aligned address inside the array lies in a mapping with VmFlags "hg" (VM_HUGEPAGE).
        var start = AddressOf(array);
        var inside = (start + (2L << 20)) & ~((2L << 20) - 1);
        Assert.Contains("hg", VmFlagsAt(inside));
        GC.KeepAlive(array);
    }

    [Fact]
    public void AdviseHuge_ArraySmallerThanAHugePage_LeavesItAlone()
    {
        var array = new byte[4096];
        array[17] = 42;
        MemoryPages.AdviseHuge(array);
        MemoryPages.AdviseHuge(Array.Empty<byte>());
        Assert.Equal(42, array[17]);
    }

    [Fact]
    public void TouchEach_WritesOnlyDefaultsOncePerPage()
    {
        var array = new long[3 * 4096];
        MemoryPages.TouchEach(array);
        Assert.All(array, value => Assert.Equal(0, value));
    }

    private static unsafe long AddressOf(byte[] array) => (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));

    private static string VmFlagsAt(long address)
    {
        var inMapping = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var from)
                && long.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var to))
            {
                inMapping = address >= from && address < to;
            }
            else if (inMapping && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line;
            }
        }

        return $"no mapping holds 0x{address:x}";
    }
}
