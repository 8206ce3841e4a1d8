using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace VtapCollector.Engine;

/// <summary>
/// A bounded single-producer, single-consumer ring of structs: the only hand-off between threads on
/// the packet path. No locks and no allocation after construction; the producer and the consumer
/// each own one index and publish it with a release write, so an item is fully written before the
/// other side can see it. The two indexes sit on separate cache lines. Items without references
/// (the decoded packets) live in pinned memory whose first slot starts a cache line, so a 128-byte
/// packet spans two lines rather than three: every line is a transfer from the producer's core to
/// the consumer's.
/// </summary>
internal sealed unsafe class SpscQueue<T>
    where T : struct
{
    private const int CacheLine = 64;

    private readonly T[] _items;
    private readonly byte[]? _storage; // keeps the pinned block alive while _aligned points into it
    private readonly byte* _aligned;
    private readonly int _capacity;
    private readonly long _mask;
    private QueueIndexes _indexes;

    public SpscQueue(int capacity)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The capacity must be a power of two of at least 2.");
        }

        _capacity = capacity;
        _mask = capacity - 1;
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            // The collector marks through an array with references, reading pages the producer
            // has not written yet: see MemoryPages.
            _items = new T[capacity];
            Flows.MemoryPages.AdviseHuge(_items);
            Flows.MemoryPages.TouchEach(_items);
        }
        else
        {
            // Pinned for the queue's life, so the aligned address stays valid; zeroed like an array.
            _items = [];
            _storage = GC.AllocateArray<byte>(checked((capacity * Unsafe.SizeOf<T>()) + CacheLine), pinned: true);
            Flows.MemoryPages.AdviseHuge(_storage);
            var start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage));
            _aligned = (byte*)((start + CacheLine - 1) & ~(nint)(CacheLine - 1));
        }
    }

    public int Capacity => _capacity;

    /// <summary>Items waiting (a snapshot: exact only on the consumer's thread).</summary>
    public int Count => (int)(Volatile.Read(ref _indexes.Tail) - Volatile.Read(ref _indexes.Head));

    /// <summary>Producer only: items written with <see cref="Stage"/> and not yet made visible by <see cref="PublishStaged"/>.</summary>
    public int Staged => (int)(_indexes.Written - _indexes.Tail);

    /// <summary>Producer only: a slot to fill, or false when full. Call <see cref="Publish"/> or <see cref="Stage"/> after filling it.</summary>
    public bool TryClaim(out int slot)
    {
        var tail = _indexes.Written;
        if (tail - _indexes.CachedHead >= _capacity)
        {
            _indexes.CachedHead = Volatile.Read(ref _indexes.Head);
            if (tail - _indexes.CachedHead >= _capacity)
            {
                slot = -1;
                return false;
            }
        }

        slot = (int)(tail & _mask);
        return true;
    }

    /// <summary>The storage of a claimed or readable slot.</summary>
    public ref T this[int slot]
    {
        get
        {
            // A constant per instantiation: the JIT keeps one branch.
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                return ref _items[slot];
            }

            return ref Unsafe.AsRef<T>(_aligned + ((nint)(uint)slot * Unsafe.SizeOf<T>()));
        }
    }

    /// <summary>
    /// Consumer: asks for the slot <paramref name="distance"/> after <paramref name="slot"/> to be brought
    /// into this core's cache before it is read. The producer's core wrote it (with streaming stores, to
    /// memory), so without the hint every slot read would wait for memory in turn.
    /// </summary>
    public void PrefetchSlot(int slot, int distance)
    {
        if (Sse.IsSupported)
        {
            // A hint only: a prefetch never faults, so an array (items with references) moving under it does no harm.
            var address = (byte*)Unsafe.AsPointer(ref this[(int)((slot + distance) & _mask)]);
            for (var line = 0; line < Unsafe.SizeOf<T>(); line += CacheLine)
            {
                Sse.Prefetch0(address + line);
            }
        }
    }

    /// <summary>Producer only: makes the claimed slot (and any staged before it) visible to the consumer.</summary>
    public void Publish()
    {
        _indexes.Written++;
        PublishWritten();
    }

    /// <summary>
    /// Producer only: writes <paramref name="item"/> into a claimed slot with streaming stores, which
    /// take no ownership of the slot's lines: the consumer's core read them last, and taking them
    /// back one by one stalled the producer's next stores. The consumer reads them from memory.
    /// <paramref name="item"/> must not move while it is read: a local, or pinned memory. Falls back to
    /// a plain copy where the item is not whole, aligned cache lines.
    /// </summary>
    public void WriteStreaming(int slot, ref readonly T item)
    {
        ref var target = ref this[slot];
        if (!RuntimeHelpers.IsReferenceOrContainsReferences<T>() && Unsafe.SizeOf<T>() % CacheLine == 0)
        {
            StreamingStores.Copy((byte*)Unsafe.AsPointer(ref target), (byte*)Unsafe.AsPointer(ref Unsafe.AsRef(in item)), Unsafe.SizeOf<T>());
            return;
        }

        target = item;
    }

    private void PublishWritten()
    {
        if (!RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            // Streaming stores are not ordered with other stores: they must land before the tail says so.
            StreamingStores.Fence();
        }

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
            PublishWritten();
        }
    }

    /// <summary>Producer only: enqueues a copy of <paramref name="item"/>, or returns false when full.</summary>
    public bool TryEnqueue(in T item)
    {
        if (!TryClaim(out var slot))
        {
            return false;
        }

        this[slot] = item;
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
/// The indexes of a <see cref="SpscQueue{T}"/>, each group 128 bytes from the next (two cache lines,
/// for the adjacent-line prefetcher): the consumer's head, the published tail the consumer polls,
/// and the producer's own counters, which change with every item. Were those on the tail's line,
/// every item would take the line back from a consumer polling it, a transfer between cores per
/// packet (measured: the reading thread of a replay took 2.5 to 4 times as long). Not nested in the
/// generic queue: generic types cannot have an explicit layout.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 512)]
internal struct QueueIndexes
{
    /// <summary>Next item to read: written by the consumer.</summary>
    [FieldOffset(128)]
    public long Head;

    /// <summary>Next slot to write: written by the producer.</summary>
    [FieldOffset(256)]
    public long Tail;

    /// <summary>The producer's last view of <see cref="Head"/>, so it rereads the consumer's line only when the ring looks full.</summary>
    [FieldOffset(384)]
    public long CachedHead;

    /// <summary>Next slot the producer fills: ahead of <see cref="Tail"/> by the staged items. Producer only.</summary>
    [FieldOffset(392)]
    public long Written;
}
