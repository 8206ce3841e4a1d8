using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VtapCollector.Flows;

/// <summary>
/// Double-tap deduplication for one worker: remembers the signatures of recent packets and which
/// taps (tunnel sources) sent a copy of each, and says whether a copy is one more view of a packet
/// already counted. Fixed size, allocated once, no allocation or lock per packet; packet time only.
/// </summary>
/// <remarks>
/// Layout: <see cref="Ways"/>-way set-associative buckets (a power of two of them) of 32-byte
/// entries: the signature, the time of the first copy, and two taps with the copies each sent.
/// A bucket is two cache lines; a lookup reads one bucket. A new signature takes a free way or
/// the way whose first copy is oldest; replacing one still inside the window is counted
/// (<see cref="Overwritten"/>): a later copy of that packet would be counted a second time.
/// The rule, per signature and window (an entry matches a copy whose time is within the window of
/// its first copy, before or after): a packet counts when the tap that sent it has now sent more
/// copies than any other tap, so a packet that both NICs saw counts once, and a packet that was on
/// the wire twice (a real duplicate or a retransmission inside the window) counts twice whichever
/// tap saw the second one. A third and later tap's copies are always removed. A copy outside every
/// remembered window of its signature starts a new entry, in another way, so the same bytes sent
/// again later (an IPv6 TCP retransmission, a repeated MLD report) are a new packet while copies of
/// the earlier one still find theirs: a worker drains each receiver's queue in turn, so one tap's
/// copies can be handled a few milliseconds of packet time before the other's. When such a copy is
/// from another tap than the remembered ones, it is counted in <see cref="LateCopies"/>: a sign
/// that the window is shorter than the taps' skew.
/// </remarks>
public sealed class DuplicateFilter
{
    /// <summary>Entries per bucket.</summary>
    public const int Ways = 4;

    private readonly Entry[] _entries;
    private readonly ulong _bucketMask;
    private readonly long _windowNanos;

    /// <param name="entries">Signatures held at once: a power of two, at least <see cref="Ways"/>.</param>
    /// <param name="windowNanos">How long after a packet's first copy another tap's copy is a duplicate.</param>
    public DuplicateFilter(int entries, long windowNanos)
    {
        if (entries < Ways || (entries & (entries - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(entries), entries, $"The duplicate filter holds a power of two of entries, at least {Ways}.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowNanos);
        _entries = new Entry[entries];
        _bucketMask = (ulong)(entries / Ways) - 1;
        _windowNanos = windowNanos;
    }

    /// <summary>
    /// The key a packet is remembered by: its signature (<c>PacketSignature</c>) combined with the
    /// VNI its flow is under, so only copies within one VNI (or one VNI group) meet; never 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Key(ulong signature, uint vni)
    {
        var key = signature ^ ((vni + 1UL) * 0x9E37_79B9_7F4A_7C15UL);
        return key == 0 ? 1 : key;
    }

    /// <summary>Bytes held, allocated once: the bound on the deduplication state of one worker.</summary>
    public long MemoryBytes => (long)Unsafe.SizeOf<Entry>() * _entries.Length;

    /// <summary>Bytes of one entry.</summary>
    public static int EntryBytes => Unsafe.SizeOf<Entry>();

    /// <summary>Copies from another tap that came after the window (counted as packets of their own).</summary>
    public long LateCopies { get; private set; }

    /// <summary>Signatures replaced while still inside the window (the table was too small for the rate).</summary>
    public long Overwritten { get; private set; }

    /// <summary>
    /// True when the copy with <paramref name="signature"/> from the tap <paramref name="sourceTag"/>
    /// (any value that is equal for the same tap) is a duplicate of a packet already counted.
    /// </summary>
    public bool IsDuplicate(ulong signature, uint sourceTag, long timestampNanos)
    {
        // 0 marks a tap slot as empty.
        sourceTag = sourceTag == 0 ? 1 : sourceTag;
        var first = (int)(signature & _bucketMask) * Ways;
        ref var bucket = ref MemoryMarshal.GetArrayDataReference(_entries);
        var victim = first;
        var victimTime = long.MaxValue;
        var seenBefore = false;
        var fromKnownTap = false;
        for (var way = first; way < first + Ways; way++)
        {
            ref var entry = ref Unsafe.Add(ref bucket, way);
            if (entry.Signature == signature)
            {
                if (Within(timestampNanos - entry.FirstSeen))
                {
                    return Match(ref entry, sourceTag);
                }

                seenBefore = true;
                fromKnownTap |= sourceTag == entry.SourceA || sourceTag == entry.SourceB;
            }

            var time = entry.Signature == 0 ? long.MinValue : entry.FirstSeen;
            if (time < victimTime)
            {
                victimTime = time;
                victim = way;
            }
        }

        // Another tap's copy of a packet remembered from longer ago than the window: the taps are
        // further apart than the window (or the same bytes were sent again, as a retransmission).
        if (seenBefore && !fromKnownTap)
        {
            LateCopies++;
        }

        ref var slot = ref Unsafe.Add(ref bucket, victim);
        if (slot.Signature != 0 && Within(timestampNanos - slot.FirstSeen))
        {
            Overwritten++;
        }

        slot = new Entry { Signature = signature, FirstSeen = timestampNanos, SourceA = sourceTag, CopiesA = 1 };
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Within(long age) => age <= _windowNanos && age >= -_windowNanos;

    private static bool Match(ref Entry entry, uint sourceTag)
    {
        if (sourceTag == entry.SourceA)
        {
            entry.CopiesA = Increment(entry.CopiesA);
            return entry.CopiesA <= entry.CopiesB;
        }

        if (entry.SourceB == 0)
        {
            entry.SourceB = sourceTag;
            entry.CopiesB = 1;
            return entry.CopiesB <= entry.CopiesA;
        }

        if (sourceTag == entry.SourceB)
        {
            entry.CopiesB = Increment(entry.CopiesB);
            return entry.CopiesB <= entry.CopiesA;
        }

        // A third tap of the same packet: it adds a view, never a packet.
        return true;
    }

    private static ushort Increment(ushort copies) => copies == ushort.MaxValue ? copies : (ushort)(copies + 1);

    /// <summary>One remembered packet: 32 bytes, two to a cache line.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Entry
    {
        public ulong Signature;
        public long FirstSeen;
        public uint SourceA;
        public uint SourceB;
        public ushort CopiesA;
        public ushort CopiesB;
        private readonly uint _padding;
    }
}
