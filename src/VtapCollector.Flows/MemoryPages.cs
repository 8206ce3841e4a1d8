using System.Runtime.CompilerServices;

namespace VtapCollector.Flows;

/// <summary>
/// Gives every 4 KiB page of a large array a page of its own before the packet path uses it. A first
/// read of a page the process never wrote (a look-up before the insert, or the garbage collector
/// marking through an array of records) maps the kernel's shared zero page; the first write after
/// that faults again and flushes every other core's TLB for the page, an interrupt to each core.
/// Writing each page once, at construction, costs one plain fault per page instead.
/// </summary>
public static class MemoryPages
{
    private const int PageBytes = 4096;

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
}
