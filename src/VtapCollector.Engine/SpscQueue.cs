using System.Runtime.InteropServices;

namespace VtapCollector.Engine;

/// <summary>
/// A bounded single-producer, single-consumer ring of structs: the only hand-off between threads on
/// the packet path. No locks and no allocation after construction; the producer and the consumer
/// each own one index and publish it with a release write, so an item is fully written before the
/// other side can see it. The two indexes sit on separate cache lines.
/// </summary>
internal sealed class SpscQueue<T>
    where T : struct
{
    private readonly T[] _items;
    private readonly long _mask;
    private QueueIndexes _indexes;

    public SpscQueue(int capacity)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The capacity must be a power of two of at least 2.");
        }

        _items = new T[capacity];
        _mask = capacity - 1;
    }

    public int Capacity => _items.Length;

    /// <summary>Items waiting (a snapshot: exact only on the consumer's thread).</summary>
    public int Count => (int)(Volatile.Read(ref _indexes.Tail) - Volatile.Read(ref _indexes.Head));

    /// <summary>Producer only: items written with <see cref="Stage"/> and not yet made visible by <see cref="PublishStaged"/>.</summary>
    public int Staged => (int)(_indexes.Written - _indexes.Tail);

    /// <summary>Producer only: a slot to fill, or false when full. Call <see cref="Publish"/> or <see cref="Stage"/> after filling it.</summary>
    public bool TryClaim(out int slot)
    {
        var tail = _indexes.Written;
        if (tail - _indexes.CachedHead >= _items.Length)
        {
            _indexes.CachedHead = Volatile.Read(ref _indexes.Head);
            if (tail - _indexes.CachedHead >= _items.Length)
            {
                slot = -1;
                return false;
            }
        }

        slot = (int)(tail & _mask);
        return true;
    }

    /// <summary>The storage of a claimed or readable slot.</summary>
    public ref T this[int slot] => ref _items[slot];

    /// <summary>Producer only: makes the claimed slot (and any staged before it) visible to the consumer.</summary>
    public void Publish()
    {
        _indexes.Written++;
        Volatile.Write(ref _indexes.Tail, _indexes.Written);
    }

    /// <summary>
    /// Producer only: keeps the claimed slot back from the consumer until <see cref="PublishStaged"/>.
    /// Publishing a batch at a time writes the tail's cache line once per batch and lets the consumer
    /// read slots the producer has finished with, instead of the two threads trading the same lines
    /// item by item while the queue is nearly empty.
    /// </summary>
    public void Stage() => _indexes.Written++;

    /// <summary>Producer only: makes every staged item visible to the consumer.</summary>
    public void PublishStaged()
    {
        if (_indexes.Written != _indexes.Tail)
        {
            Volatile.Write(ref _indexes.Tail, _indexes.Written);
        }
    }

    /// <summary>Producer only: enqueues a copy of <paramref name="item"/>, or returns false when full.</summary>
    public bool TryEnqueue(in T item)
    {
        if (!TryClaim(out var slot))
        {
            return false;
        }

        _items[slot] = item;
        Publish();
        return true;
    }

    /// <summary>Consumer only: how many items can be read now, starting at <paramref name="firstSlot"/> (wrapping at the capacity).</summary>
    public int Available(out int firstSlot)
    {
        var head = _indexes.Head;
        firstSlot = (int)(head & _mask);
        return (int)(Volatile.Read(ref _indexes.Tail) - head);
    }

    /// <summary>Consumer only: the slot <paramref name="offset"/> items after <paramref name="firstSlot"/>.</summary>
    public int Next(int firstSlot, int offset) => (int)((firstSlot + offset) & _mask);

    /// <summary>Consumer only: frees <paramref name="count"/> read items for the producer.</summary>
    public void Release(int count) => Volatile.Write(ref _indexes.Head, _indexes.Head + count);
}

/// <summary>
/// The indexes of a <see cref="SpscQueue{T}"/>, head and tail 128 bytes apart (two cache lines, for
/// the adjacent-line prefetcher). Not nested in the generic queue: generic types cannot have an
/// explicit layout.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 384)]
internal struct QueueIndexes
{
    /// <summary>Next item to read: written by the consumer.</summary>
    [FieldOffset(128)]
    public long Head;

    /// <summary>Next slot to write: written by the producer.</summary>
    [FieldOffset(256)]
    public long Tail;

    /// <summary>The producer's last view of <see cref="Head"/>, so it rereads the consumer's line only when the ring looks full.</summary>
    [FieldOffset(264)]
    public long CachedHead;

    /// <summary>Next slot the producer fills: ahead of <see cref="Tail"/> by the staged items. Producer only.</summary>
    [FieldOffset(272)]
    public long Written;
}
