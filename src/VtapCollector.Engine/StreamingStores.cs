using System.Diagnostics;
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

    /// <summary>
    /// Copies <paramref name="length"/> bytes, a multiple of 32, to <paramref name="destination"/>, which
    /// is 32-byte aligned; from <paramref name="source"/>, which the GC must not move meanwhile (a stack
    /// copy, or pinned memory). Where the processor has no AVX it is a plain copy, which needs no fence.
    /// </summary>
    public static void Copy(byte* destination, byte* source, int length)
    {
        Debug.Assert(length % Chunk == 0 && (nuint)destination % Chunk == 0, "whole, aligned 32-byte chunks");
        if (!Avx.IsSupported)
        {
            new ReadOnlySpan<byte>(source, length).CopyTo(new Span<byte>(destination, length));
            return;
        }

        for (var offset = 0; offset < length; offset += Chunk)
        {
            Avx.StoreAlignedNonTemporal(destination + offset, Avx.LoadVector256(source + offset));
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
