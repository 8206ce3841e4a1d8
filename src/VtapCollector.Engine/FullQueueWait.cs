using System.Runtime.CompilerServices;

namespace VtapCollector.Engine;

/// <summary>
/// How a producer waits for room in a full queue (a worker's, or a replay's capture queue): yields a
/// few times, then naps a millisecond at a time. Spinning on a full queue took CPU from the thread
/// that had to empty it: a 5-million-packet replay with one worker used 3 CPU s and 1.9 s when the
/// reading thread only yielded, 1 CPU s and 1.1 s with naps.
/// </summary>
internal static class FullQueueWait
{
    private const int Yields = 16;

    /// <summary>
    /// One wait; <paramref name="waits"/> counts them (start at 0). Never inlined: Thread.Yield's native
    /// call, inlined into the ingress's dispatch, made that method set up a native-call frame in its
    /// prologue, on every packet.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Once(ref int waits)
    {
        if (++waits < Yields)
        {
            Thread.Yield();
        }
        else
        {
            Thread.Sleep(1);
        }
    }
}
