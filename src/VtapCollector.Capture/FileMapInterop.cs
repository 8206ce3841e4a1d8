using System.Runtime.InteropServices;

namespace VtapCollector.Capture;

/// <summary>
/// mmap(2) and munmap(2) for reading capture files through windows of
/// the page cache. Constants are the Linux generic ABI values (x86-64 and arm64 agree on all of
/// them); <c>"libc"</c> is resolved by the runtime to the C library's soname.
/// </summary>
internal static unsafe partial class FileMapInterop
{
    /// <summary>mmap(2) PROT_READ.</summary>
    public const int ProtRead = 0x1;

    /// <summary>mmap(2) MAP_PRIVATE: a read-only private mapping of the file's page cache.</summary>
    public const int MapPrivate = 0x02;

    /// <summary>
    /// mmap(2) MAP_POPULATE (Linux 2.5.46): fill in every page-table entry of the mapping at once, in
    /// one pass inside the kernel, instead of taking a page fault on the first touch of each page.
    /// </summary>
    public const int MapPopulate = 0x8000;

    /// <summary>mmap(2)'s MAP_FAILED.</summary>
    public static readonly nint MapFailed = -1;

    /// <summary>mmap(2); returns MAP_FAILED on error.</summary>
    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial void* Mmap(void* address, nuint length, int protection, int flags, int descriptor, long offset);

    /// <summary>munmap(2).</summary>
    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(void* address, nuint length);

    /// <summary>sysconf(_SC_PAGESIZE) without a call: <see cref="Environment.SystemPageSize"/>.</summary>
    public static long PageSize => Environment.SystemPageSize;
}
