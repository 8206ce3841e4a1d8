using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using VtapCollector.Decoding;

namespace VtapCollector.Engine.PacketCapture;

/// <summary>What the writer needs of one kept packet besides its bytes.</summary>
internal struct CapturedFrame
{
    public long TimestampNanos;
    public int Length;
    public int OriginalLength;
    public LinkType LinkType;
    public TunnelKind Tunnel;
    public uint Vni;
    public IpAddress TunnelSource;
    public byte TunnelIpVersion;
}

/// <summary>
/// A bounded queue of kept packets from the receiving threads (any number) to the capture writer
/// (one): fixed slots of the snap length allocated once, so keeping a packet copies its bytes and
/// allocates nothing. A producer claims a slot with one compare-and-swap and publishes it with a
/// sequence number per slot (the bounded multi-producer ring of D. Vyukov's design); a full queue
/// refuses the packet and the session counts a drop: the receiving thread never waits for a disk.
/// With one producer (a replay) the claim is a plain store: a locked instruction on the reading
/// thread waits for the streaming stores of its hand-off to the workers to reach memory, which
/// `perf` put at two thirds of a kept packet's cost on that thread.
/// The receiving and writing threads run on different cores, so what each writes sits on its own
/// cache lines: the claim and read indexes on separate lines, each slot's sequence and description
/// on one line of its own, the bytes in slots that start a line; the next slot is prefetched.
/// </summary>
internal sealed unsafe class CaptureQueue
{
    private const int CacheLine = 64;

    /// <summary>Bytes of the next slot brought into the cache ahead: an average mirrored frame.</summary>
    private const int PrefetchedSlotBytes = 1024;

    private readonly byte[] _memory; // pinned: _headers and _slots point into it
    private readonly byte* _headers;
    private readonly byte* _slots;
    private readonly int _slotBytes;
    private readonly int _stride;
    private readonly int _mask;
    private readonly bool _singleProducer;
    private QueueIndexes _indexes;

    /// <summary>
    /// A queue of at least <paramref name="slots"/> slots (rounded up to a power of two) of
    /// <paramref name="slotBytes"/> bytes; <paramref name="singleProducer"/> when only one thread ever
    /// calls <see cref="TryEnqueue"/>.
    /// </summary>
    public CaptureQueue(int slots, int slotBytes, bool singleProducer = false)
    {
        _singleProducer = singleProducer;
        var capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, slots));
        _mask = capacity - 1;
        _slotBytes = slotBytes;
        _stride = (slotBytes + CacheLine - 1) & ~(CacheLine - 1);
        _memory = GC.AllocateUninitializedArray<byte>(checked((capacity * (CacheLine + _stride)) + CacheLine), pinned: true);

        // Kept packets land a slot (more than a page) apart: 2 MiB pages keep their TLB misses off
        // the receiving thread.
        Flows.MemoryPages.AdviseHuge(_memory);
        var start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_memory));
        _headers = (byte*)((start + CacheLine - 1) & ~(nint)(CacheLine - 1));
        _slots = _headers + ((long)capacity * CacheLine);
        for (var i = 0; i < capacity; i++)
        {
            Header(i) = new SlotHeader { Sequence = i };
        }
    }

    public int Capacity => _mask + 1;

    /// <summary>Bytes of memory the slots hold.</summary>
    public long SlotMemory => _memory.LongLength;

    /// <summary>
    /// Copies <paramref name="prefix"/> then <paramref name="data"/> (cut together to the slot size)
    /// into a free slot; false when the queue is full.
    /// </summary>
    public bool TryEnqueue(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data, in CapturedFrame frame)
    {
        var position = Volatile.Read(ref _indexes.Tail);
        int index;
        while (true)
        {
            index = (int)(position & _mask);
            var difference = Volatile.Read(ref Header(index).Sequence) - position;
            if (difference == 0)
            {
                if (_singleProducer)
                {
                    _indexes.Tail = position + 1;
                    break;
                }

                var seen = Interlocked.CompareExchange(ref _indexes.Tail, position + 1, position);
                if (seen == position)
                {
                    break;
                }

                position = seen;
            }
            else if (difference < 0)
            {
                return false;
            }
            else
            {
                position = Volatile.Read(ref _indexes.Tail);
            }
        }

        var slot = Slot(index);
        var first = Math.Min(prefix.Length, _slotBytes);
        var second = Math.Min(data.Length, _slotBytes - first);
        prefix[..first].CopyTo(new Span<byte>(slot, first));
        data[..second].CopyTo(new Span<byte>(slot + first, second));
        ref var header = ref Header(index);
        header.Frame = frame;
        header.Frame.Length = first + second;
        Volatile.Write(ref header.Sequence, position + 1);
        PrefetchNext(index);
        return true;
    }

    /// <summary>The next kept packet, if one is ready (the writer thread only); <see cref="Release"/> it after use.</summary>
    public bool TryPeek(out CapturedFrame frame, out ReadOnlySpan<byte> data)
    {
        var head = _indexes.Head;
        var index = (int)(head & _mask);
        ref var header = ref Header(index);
        if (Volatile.Read(ref header.Sequence) != head + 1)
        {
            frame = default;
            data = default;
            return false;
        }

        frame = header.Frame;
        data = new ReadOnlySpan<byte>(Slot(index), frame.Length);

        // The next packet's lines come from the receiving thread's core: start fetching them while
        // this one is written.
        PrefetchNext(index);
        return true;
    }

    /// <summary>Frees the packet <see cref="TryPeek"/> returned (the writer thread only).</summary>
    public void Release()
    {
        var head = _indexes.Head;
        Volatile.Write(ref Header((int)(head & _mask)).Sequence, head + _mask + 1);
        _indexes.Head = head + 1;
    }

    /// <summary>
    /// Starts bringing the next slot's header and first bytes into this core's cache. A receiving
    /// thread calls it after it fills a slot: kept packets are sparse (one in a hundred for a typical
    /// filter), so the lines arrive long before they are written, instead of each write waiting for
    /// a line the writer thread's core read last. The writer calls it after it takes a packet, so
    /// the next one's lines travel while this one is written out.
    /// </summary>
    private void PrefetchNext(int index)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        var next = (index + 1) & _mask;
        Sse.Prefetch0(_headers + ((long)next * CacheLine));
        var slot = Slot(next);
        var lines = Math.Min(_stride, PrefetchedSlotBytes);
        for (var line = 0; line < lines; line += CacheLine)
        {
            Sse.Prefetch0(slot + line);
        }
    }

    private ref SlotHeader Header(int index) => ref Unsafe.AsRef<SlotHeader>(_headers + ((long)index * CacheLine));

    private byte* Slot(int index) => _slots + ((long)index * _stride);

    /// <summary>A slot's sequence number and description, alone on one cache line.</summary>
    [StructLayout(LayoutKind.Sequential, Size = CacheLine)]
    private struct SlotHeader
    {
        public long Sequence;
        public CapturedFrame Frame;
    }
}
