namespace VtapCollector.Engine.Ingress;

/// <summary>
/// Gives each distinct key (a VNI, a mirror source address) a small counter index, up to a bound:
/// the first <see cref="Limit"/> keys seen get their own Prometheus label value, later ones share the
/// overflow index <see cref="Limit"/> (<c>"other"</c>), so a scan of random VNIs cannot blow up the
/// series count. Lookups are lock-free reads of an open-addressing table; a key seen for the first
/// time takes a lock once. Indexes never change once given, so counters keep counting into them.
/// </summary>
internal sealed class LabelIndex<TKey>
    where TKey : struct, IEquatable<TKey>
{
    private readonly Slot[] _slots;
    private readonly TKey[] _keys;
    private readonly int _mask;
    private readonly Lock _insertLock = new();
    private int _count;

    public LabelIndex(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Limit = limit;
        _keys = new TKey[limit];
        var size = (int)Math.Max(4, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, limit) * 2));
        _slots = new Slot[size];
        _mask = size - 1;
    }

    /// <summary>Keys given their own index; the overflow index equals this.</summary>
    public int Limit { get; }

    /// <summary>Keys indexed so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The key of index <paramref name="index"/> (below <see cref="Count"/>).</summary>
    public TKey KeyAt(int index) => _keys[index];

    /// <summary>
    /// The counter index of <paramref name="key"/> (given one now if there is room), or <see cref="Limit"/>
    /// for the overflow. The first probe is inlined where it is asked per packet; the table is at most
    /// half full, so it is nearly always the answer.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int IndexOf(TKey key, int hash)
    {
        ref var slot = ref _slots[hash & _mask];
        var index = Volatile.Read(ref slot.IndexPlusOne);
        return index != 0 && slot.Hash == hash && _keys[index - 1].Equals(key) ? index - 1 : Probe(key, hash);
    }

    private int Probe(TKey key, int hash)
    {
        var position = hash & _mask;
        while (true)
        {
            ref var slot = ref _slots[position];
            var index = Volatile.Read(ref slot.IndexPlusOne);
            if (index == 0)
            {
                // Once full, unknown keys go to the overflow without touching the lock.
                return Volatile.Read(ref _count) == Limit ? Limit : Insert(key, hash);
            }

            if (slot.Hash == hash && _keys[index - 1].Equals(key))
            {
                return index - 1;
            }

            position = (position + 1) & _mask;
        }
    }

    private int Insert(TKey key, int hash)
    {
        lock (_insertLock)
        {
            // Another thread may have added it, or the table may have filled, since our read.
            var position = hash & _mask;
            while (_slots[position].IndexPlusOne != 0)
            {
                ref var slot = ref _slots[position];
                if (slot.Hash == hash && _keys[slot.IndexPlusOne - 1].Equals(key))
                {
                    return slot.IndexPlusOne - 1;
                }

                position = (position + 1) & _mask;
            }

            if (_count == Limit)
            {
                return Limit;
            }

            var index = _count;
            _keys[index] = key;
            _slots[position].Hash = hash;

            // Publishing the index last makes the key and hash visible before readers can match it.
            Volatile.Write(ref _slots[position].IndexPlusOne, index + 1);
            Volatile.Write(ref _count, index + 1);
            return index;
        }
    }

    private struct Slot
    {
        public int Hash;
        public int IndexPlusOne;
    }
}
