using System.Runtime.Intrinsics.X86;

namespace VtapCollector.Engine;

/// <summary>
/// Copies into memory another core reads next, with streaming (non-temporal) stores: they take no
/// ownership of the destination's cache lines, so a ring whose lines the consumer's core read last
/// costs the producer no read-for-ownership per line; the consumer then reads from memory. Callers
/// fence (<see cref="Fence"/>) before they publish what they copied: streaming stores are not
/// ordered with other stores.
/// </summary>
internal static unsafe class StreamingStores
{
    private const int Chunk = 32;
    private const int PageSize = 4096;

    /// <summary>True where the copy streams; elsewhere it is a plain copy and needs no fence.</summary>
    public static bool Supported => Avx.IsSupported;

    /// <summary>
    /// Copies <paramref name="length"/> bytes to <paramref name="destination"/>, which is 32-byte aligned
    /// and has room for <paramref name="length"/> rounded up to 32. The last partial chunk reads past the
    /// source's end only within the source's last page (a read there cannot fault); otherwise it is
    /// copied with plain stores.
    /// </summary>
    public static void Copy(byte* destination, byte* source, int length)
    {
        if (!Avx.IsSupported)
        {
            new ReadOnlySpan<byte>(source, length).CopyTo(new Span<byte>(destination, length));
            return;
        }

        var whole = length & ~(Chunk - 1);
        for (var offset = 0; offset < whole; offset += Chunk)
        {
            Avx.StoreAlignedNonTemporal(destination + offset, Avx.LoadVector256(source + offset));
        }

        var rest = length - whole;
        if (rest == 0)
        {
            return;
        }

        var last = (nuint)(source + length - 1);
        var chunkEnd = (nuint)(source + whole + Chunk - 1);
        if (last / PageSize == chunkEnd / PageSize)
        {
            Avx.StoreAlignedNonTemporal(destination + whole, Avx.LoadVector256(source + whole));
        }
        else
        {
            new ReadOnlySpan<byte>(source + whole, rest).CopyTo(new Span<byte>(destination + whole, rest));
        }
    }

    /// <summary>Makes every streaming store before it visible before any store after it.</summary>
    public static void Fence()
    {
        if (Sse.IsSupported)
        {
            Sse.StoreFence();
        }
    }
}
