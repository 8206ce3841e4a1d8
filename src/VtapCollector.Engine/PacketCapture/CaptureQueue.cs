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
/// </summary>
internal sealed class CaptureQueue
{
    private readonly long[] _sequence;
    private readonly CapturedFrame[] _frames;
    private readonly byte[] _data;
    private readonly int _slotBytes;
    private readonly int _mask;
    private long _tail;
    private long _head;

    /// <summary>A queue of at least <paramref name="slots"/> slots (rounded up to a power of two) of <paramref name="slotBytes"/> bytes.</summary>
    public CaptureQueue(int slots, int slotBytes)
    {
        var capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, slots));
        _mask = capacity - 1;
        _slotBytes = slotBytes;
        _sequence = new long[capacity];
        _frames = new CapturedFrame[capacity];
        _data = GC.AllocateUninitializedArray<byte>(checked(capacity * slotBytes));
        for (var i = 0; i < capacity; i++)
        {
            _sequence[i] = i;
        }
    }

    public int Capacity => _mask + 1;

    /// <summary>Bytes of memory the slots hold.</summary>
    public long SlotMemory => _data.LongLength;

    /// <summary>
    /// Copies <paramref name="prefix"/> then <paramref name="data"/> (cut together to the slot size)
    /// into a free slot; false when the queue is full.
    /// </summary>
    public bool TryEnqueue(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data, in CapturedFrame frame)
    {
        var position = Volatile.Read(ref _tail);
        int index;
        while (true)
        {
            index = (int)(position & _mask);
            var difference = Volatile.Read(ref _sequence[index]) - position;
            if (difference == 0)
            {
                var seen = Interlocked.CompareExchange(ref _tail, position + 1, position);
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
                position = Volatile.Read(ref _tail);
            }
        }

        var slot = _data.AsSpan(index * _slotBytes, _slotBytes);
        var first = Math.Min(prefix.Length, slot.Length);
        prefix[..first].CopyTo(slot);
        var second = Math.Min(data.Length, slot.Length - first);
        data[..second].CopyTo(slot[first..]);
        ref var stored = ref _frames[index];
        stored = frame;
        stored.Length = first + second;
        Volatile.Write(ref _sequence[index], position + 1);
        return true;
    }

    /// <summary>The oldest published packet, left in place until <see cref="Release"/>; only the writer calls it.</summary>
    public bool TryPeek(out CapturedFrame frame, out ReadOnlySpan<byte> data)
    {
        var index = (int)(_head & _mask);
        if (Volatile.Read(ref _sequence[index]) != _head + 1)
        {
            frame = default;
            data = default;
            return false;
        }

        frame = _frames[index];
        data = _data.AsSpan(index * _slotBytes, frame.Length);
        return true;
    }

    /// <summary>Frees the slot <see cref="TryPeek"/> returned.</summary>
    public void Release()
    {
        var index = (int)(_head & _mask);
        Volatile.Write(ref _sequence[index], _head + _mask + 1);
        _head++;
    }
}
