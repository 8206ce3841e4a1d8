using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VtapCollector.Flows;

/// <summary>
/// Prepares the pages of a large array the packet path uses.
/// <see cref="TouchEach"/>: gives every 4 KiB page a page of its own before the packet path uses it.
/// A first read of a page the process never wrote (a look-up before the insert, or the garbage
/// collector marking through an array of records) maps the kernel's shared zero page; the first write
/// after that faults again and flushes every other core's TLB for the page, an interrupt to each
/// core. Writing each page once, at construction, costs one plain fault per page instead.
/// <see cref="AdviseHuge"/>: asks Linux for transparent huge pages (madvise(2) MADV_HUGEPAGE) over
/// the array, so a table looked up at random costs a TLB entry per 2 MiB instead of per 4 KiB.
/// </summary>
public static partial class MemoryPages
{
    private const int PageBytes = 4096;
    private const long HugePageBytes = 2L << 20;
    private const int MadviseHugePage = 14;

    /// <summary>Writes the default value to one element of every page of <paramref name="array"/>.</summary>
    public static void TouchEach<T>(T[] array)
        where T : struct
    {
        var step = Math.Max(1, PageBytes / Unsafe.SizeOf<T>());
        for (var i = 0; i < array.Length; i += step)
        {
            array[i] = default;
        }
    }

    /// <summary>
    /// Advises huge pages over the whole 2 MiB pages inside <paramref name="array"/> (nothing on other
    /// systems, or when the kernel refuses: it is advice). The array must be one the collector does
    /// not move: a large-object-heap or pinned array.
    /// </summary>
    public static unsafe void AdviseHuge<T>(T[] array)
        where T : struct
    {
        if (!OperatingSystem.IsLinux() || array.Length == 0)
        {
            return;
        }

        var start = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        var end = start + ((long)array.Length * Unsafe.SizeOf<T>());
        var first = (start + HugePageBytes - 1) & ~(HugePageBytes - 1);
        var last = end & ~(HugePageBytes - 1);
        if (last > first)
        {
            _ = Madvise((nint)first, (nuint)(last - first), MadviseHugePage);
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
