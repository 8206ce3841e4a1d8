using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using VtapCollector.Decoding;

namespace VtapCollector.Flows;

/// <summary>
/// Bidirectional flow table of one worker: no locks, no allocation per packet, packet time only.
/// </summary>
/// <remarks>
/// Layout: a dense array of <see cref="FlowEntry"/> (one per tracked flow, up to the capacity) and an
/// open-addressing index of 64-bit slots (a power of two, at least twice the capacity, linear
/// probing, backward-shift deletion). A slot holds the key's 32-bit hash next to the entry number,
/// so a probe touches an entry only when the hashes match.
/// Expiry: <see cref="Expire"/> sweeps the dense array; the caller decides how often (the replay
/// does it once per second of packet time), so records are at most that late.
/// Eviction when full: the least recently seen of <see cref="EvictionSample"/> entries taken from a
/// rotating cursor (an approximate LRU, as Redis does), ended with reason <c>evicted</c>.
/// Fragments: <see cref="FragmentPorts"/> gives later fragments their first fragment's ports, so they
/// count in the right flow, or they are reported as <see cref="DecodeStatus.FragmentWithoutFirst"/>.
/// </remarks>
public sealed class FlowTable
{
    /// <summary>Entries compared when choosing a flow to evict.</summary>
    public const int EvictionSample = 8;

    private readonly FlowEntry[] _entries;
    private readonly ulong[] _slots;
    private readonly int[] _free;
    private readonly FragmentPorts _fragments;
    private readonly IFlowRecordWriter _writer;
    private readonly ulong _slotMask;
    private readonly long _activeTimeout;
    private readonly long _idleTimeout;
    private readonly long _tcpIdleTimeout;
    private readonly long _closingTimeout;
    private int _freeCount;
    private int _highWater;
    private int _evictionCursor;

    public FlowTable(FlowTableOptions options, IFlowRecordWriter writer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(writer);
        var error = options.Validate();
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(options));
        }

        Capacity = options.Capacity;
        _entries = new FlowEntry[Capacity];
        _free = new int[Capacity];
        var slotCount = BitOperations.RoundUpToPowerOf2((uint)Capacity * 2);
        _slots = new ulong[slotCount];
        _slotMask = slotCount - 1;

        // Looked up at random: huge pages where the kernel gives them; and looked up before it is
        // written: see MemoryPages (the 200 000-flow replay's worker spent its first 40 ms in the
        // second faults while the reading thread waited for room).
        MemoryPages.AdviseHuge(_entries);
        MemoryPages.AdviseHuge(_slots);
        MemoryPages.TouchEach(_slots);
        _fragments = new FragmentPorts(options.FragmentCacheSize);
        _writer = writer;
        _activeTimeout = options.ActiveTimeout.Ticks * 100;
        _idleTimeout = options.IdleTimeout.Ticks * 100;
        _tcpIdleTimeout = options.TcpIdleTimeout.Ticks * 100;
        _closingTimeout = options.TcpClosingTimeout.Ticks * 100;
    }

    /// <summary>Most flows tracked at once.</summary>
    public int Capacity { get; }

    /// <summary>Flows tracked now.</summary>
    public int Count { get; private set; }

    /// <summary>Highest <see cref="Count"/> reached.</summary>
    public int PeakCount { get; private set; }

    /// <summary>Flows created since the table was made.</summary>
    public long FlowsCreated { get; private set; }

    /// <summary>Flows ended early because the table was full.</summary>
    public long Evictions { get; private set; }

    public long UpdateRecords { get; private set; }

    public long EndRecords { get; private set; }

    /// <summary>Memory the table holds per flow of capacity: one entry, its free-list slot and its share of index slots.</summary>
    public long BytesPerFlow => MemoryBytes / Capacity;

    /// <summary>Memory the table holds in all, allocated once at construction: the bound on flow state.</summary>
    public long MemoryBytes =>
        ((long)Unsafe.SizeOf<FlowEntry>() * _entries.Length) + ((long)sizeof(int) * _free.Length)
        + ((long)sizeof(ulong) * _slots.Length) + _fragments.MemoryBytes;

    /// <summary>Accounts one decoded packet to its flow, creating the flow when it is new.</summary>
    public DecodeStatus Update(in DecodedPacket packet, long timestampNanos)
    {
        if (!TryMakeKey(packet, out var key, out var senderIsA))
        {
            return DecodeStatus.FragmentWithoutFirst;
        }

        Account(key, (uint)key.Hash(), senderIsA, packet, timestampNanos);
        return DecodeStatus.Ok;
    }

    /// <summary>
    /// Accounts a batch of packets, as <see cref="Update"/> does one by one, but first computes every
    /// key and prefetches the index slots and entries the batch will touch, so the cache misses of a
    /// large table overlap instead of queueing one after another.
    /// </summary>
    [SkipLocalsInit] // the key scratch is written before it is read; zeroing it per batch showed in profiles
    public void UpdateBatch(ReadOnlySpan<DecodedPacket> packets, ReadOnlySpan<long> timestampsNanos, Span<DecodeStatus> statuses)
    {
        const int MaxBatch = 64;
        if (packets.Length > MaxBatch || timestampsNanos.Length < packets.Length || statuses.Length < packets.Length)
        {
            throw new ArgumentException($"A batch holds at most {MaxBatch} packets, with a timestamp and a status slot for each.", nameof(packets));
        }

        Span<FlowKey> keys = stackalloc FlowKey[MaxBatch];
        Span<uint> hashes = stackalloc uint[MaxBatch];
        Span<bool> sendersAreA = stackalloc bool[MaxBatch];
        for (var i = 0; i < packets.Length; i++)
        {
            if (!TryMakeKey(packets[i], out keys[i], out sendersAreA[i]))
            {
                statuses[i] = DecodeStatus.FragmentWithoutFirst;
                continue;
            }

            statuses[i] = DecodeStatus.Ok;
            hashes[i] = (uint)keys[i].Hash();
            Prefetch(ref _slots[hashes[i] & _slotMask]);
        }

        for (var i = 0; i < packets.Length; i++)
        {
            // An empty slot (0) would match a key whose hash is 0 and name entry -1.
            var slot = _slots[hashes[i] & _slotMask];
            if (statuses[i] == DecodeStatus.Ok && slot != 0 && (uint)(slot >> 32) == hashes[i])
            {
                ref var entry = ref _entries[(int)(uint)slot - 1];
                Prefetch(ref Unsafe.As<FlowEntry, byte>(ref entry));
                Prefetch(ref Unsafe.Add(ref Unsafe.As<FlowEntry, byte>(ref entry), 64));
                Prefetch(ref Unsafe.Add(ref Unsafe.As<FlowEntry, byte>(ref entry), Unsafe.SizeOf<FlowEntry>() - 1));
            }
        }

        for (var i = 0; i < packets.Length; i++)
        {
            if (statuses[i] == DecodeStatus.Ok)
            {
                Account(keys[i], hashes[i], sendersAreA[i], packets[i], timestampsNanos[i]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch<T>(ref T location)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref location));
        }
    }

    /// <summary>The packet's flow key; false for a later fragment whose first fragment was not seen.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryMakeKey(in DecodedPacket packet, out FlowKey key, out bool senderIsA)
    {
        var sourcePort = packet.SourcePort;
        var destinationPort = packet.DestinationPort;
        if ((packet.Flags & PacketFlags.Fragment) != 0 && !_fragments.TryResolve(packet, ref sourcePort, ref destinationPort))
        {
            key = default;
            senderIsA = false;
            return false;
        }

        if (packet.IsIcmp)
        {
            IcmpTypes.TryMapPorts(packet.Protocol, (byte)sourcePort, (byte)destinationPort, out sourcePort, out destinationPort);
        }

        key = FlowKey.Create(packet.Vni, packet.IpVersion, packet.Protocol, packet.Source, sourcePort, packet.Destination, destinationPort, out senderIsA);
        return true;
    }

    private void Account(in FlowKey key, uint hash, bool senderIsA, in DecodedPacket packet, long timestampNanos)
    {
        var protocol = key.Protocol;
        var index = Find(key, hash);
        if ((packet.Flags & PacketFlags.DuplicateCopy) != 0)
        {
            // Another tap's view of a packet already counted: the flow learns the tap and the copy, no
            // counter, flag or state moves (a removed copy of a SYN must not restart a closing flow).
            // The copy always follows the counted packet into the same worker, so its flow exists
            // unless it has just ended; then there is nothing left to tell.
            if (index >= 0)
            {
                ref var seen = ref _entries[index];
                if (senderIsA == seen.InitiatorIsA)
                {
                    seen.CopiesOrig++;
                }
                else
                {
                    seen.CopiesResp++;
                }

                NoteObservationPoint(ref seen, packet.TunnelSource);
            }

            return;
        }

        var tcpFlags = packet.TcpFlags;
        var pureSyn = protocol == IpProtocol.Tcp && (tcpFlags & (TcpFlagBits.Syn | TcpFlagBits.Ack)) == TcpFlagBits.Syn;
        if (index >= 0 && pureSyn && _entries[index].Closing)
        {
            // A new connection on a tuple whose previous one has closed: end that one first.
            End(index, EndReasonOfClosed(_entries[index].History));
            index = -1;
        }

        if (index < 0)
        {
            index = Create(key, hash, packet, timestampNanos, senderIsA);
        }

        ref var entry = ref _entries[index];
        var fromOriginator = senderIsA == entry.InitiatorIsA;
        if (fromOriginator)
        {
            entry.PacketsOrig++;
            entry.BytesOrig += packet.IpBytes;
            entry.FlagsOrig |= tcpFlags;
            entry.History |= TcpHistory.OrigSent;
        }
        else
        {
            entry.PacketsResp++;
            entry.BytesResp += packet.IpBytes;
            entry.FlagsResp |= tcpFlags;
            entry.History |= TcpHistory.RespSent;
        }

        if (protocol == IpProtocol.Tcp && tcpFlags != 0)
        {
            TrackTcp(ref entry, tcpFlags, fromOriginator, timestampNanos);
        }

        if (timestampNanos > entry.LastSeen)
        {
            entry.LastSeen = timestampNanos;
        }

        if (packet.Signature != 0)
        {
            NoteObservationPoint(ref entry, packet.TunnelSource);
        }
    }

    /// <summary>
    /// Remembers the taps (tunnel sources) a flow was seen from, with deduplication on (the packet
    /// has a signature): the first at creation, a second one, and whether there were more.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NoteObservationPoint(ref FlowEntry entry, IpAddress source)
    {
        if (entry.ObservationPoints >= 3 || source == entry.TunnelSource)
        {
            return;
        }

        if (entry.ObservationPoints < 2)
        {
            entry.SecondTunnelSource = source;
            entry.ObservationPoints = 2;
        }
        else if (source != entry.SecondTunnelSource)
        {
            entry.ObservationPoints = 3;
        }
    }

    /// <summary>
    /// Emits the records that are due at <paramref name="nowNanos"/>: ends idle and closed flows,
    /// and sends an update for flows active longer than the active timeout since their last record.
    /// </summary>
    public void Expire(long nowNanos)
    {
        for (var i = 0; i < _highWater; i++)
        {
            ref var entry = ref _entries[i];
            if (!entry.InUse)
            {
                continue;
            }

            if (entry.Closing && nowNanos - entry.ClosingSince >= _closingTimeout)
            {
                End(i, EndReasonOfClosed(entry.History));
            }
            else if (nowNanos - entry.LastSeen >= (entry.Key.Protocol == IpProtocol.Tcp ? _tcpIdleTimeout : _idleTimeout))
            {
                End(i, EndReason.IdleTimeout);
            }
            else if (nowNanos - entry.LastRecord >= _activeTimeout)
            {
                if (entry.PacketsOrig + entry.PacketsResp != 0)
                {
                    Emit(ref entry, FlowRecordType.Update, EndReason.None);
                }

                entry.LastRecord = nowNanos;
            }
        }
    }

    /// <summary>Ends every flow with <paramref name="reason"/> (end of input, shutdown) and empties the table.</summary>
    public void FlushAll(EndReason reason)
    {
        for (var i = 0; i < _highWater; i++)
        {
            if (_entries[i].InUse)
            {
                Emit(ref _entries[i], FlowRecordType.End, reason);
                _entries[i] = default;
            }
        }

        Array.Clear(_slots);
        _fragments.Clear();
        Count = 0;
        _freeCount = 0;
        _highWater = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(in FlowKey key, uint hash)
    {
        var slots = _slots;
        var position = hash & _slotMask;
        while (true)
        {
            var slot = slots[position];
            if (slot == 0)
            {
                return -1;
            }

            if ((uint)(slot >> 32) == hash)
            {
                var index = (int)(uint)slot - 1;
                if (_entries[index].Key.Equals(key))
                {
                    return index;
                }
            }

            position = (position + 1) & _slotMask;
        }
    }

    private int Create(in FlowKey key, uint hash, in DecodedPacket packet, long timestampNanos, bool senderIsA)
    {
        if (Count == Capacity)
        {
            Evict();
        }

        var index = _freeCount > 0 ? _free[--_freeCount] : _highWater++;
        var position = hash & _slotMask;
        while (_slots[position] != 0)
        {
            position = (position + 1) & _slotMask;
        }

        _slots[position] = ((ulong)hash << 32) | (uint)(index + 1);

        // Initiator: the sender of a pure SYN; the receiver of a SYN-ACK (the SYN was missed);
        // otherwise the sender of the first packet.
        var initiatorIsA = senderIsA;
        if (packet.Protocol == IpProtocol.Tcp && (packet.TcpFlags & (TcpFlagBits.Syn | TcpFlagBits.Ack)) == (TcpFlagBits.Syn | TcpFlagBits.Ack))
        {
            initiatorIsA = !senderIsA;
        }

        ref var entry = ref _entries[index];
        entry = new FlowEntry
        {
            Key = key,
            Hash = hash,
            FlowId = FlowKey.Mix(key.Hash() ^ (ulong)timestampNanos),
            FirstSeen = timestampNanos,
            LastSeen = timestampNanos,
            LastRecord = timestampNanos,
            TunnelSource = packet.TunnelSource,
            TunnelDestination = packet.TunnelDestination,
            Tunnel = packet.Tunnel,
            TunnelIpVersion = packet.TunnelIpVersion,
            Vlan = packet.Vlan,
            InitiatorIsA = initiatorIsA,
            InUse = true,
            ObservationPoints = packet.Signature != 0 ? (byte)1 : (byte)0,
        };
        Count++;
        FlowsCreated++;
        if (Count > PeakCount)
        {
            PeakCount = Count;
        }

        return index;
    }

    private void TrackTcp(ref FlowEntry entry, byte flags, bool fromOriginator, long timestampNanos)
    {
        var history = entry.History;
        if ((flags & TcpFlagBits.Syn) != 0)
        {
            if ((flags & TcpFlagBits.Ack) == 0)
            {
                if (fromOriginator)
                {
                    history |= TcpHistory.OrigSyn;
                }
            }
            else if (!fromOriginator)
            {
                history |= TcpHistory.RespSynAck;
            }
        }

        if ((flags & TcpFlagBits.Fin) != 0)
        {
            history |= fromOriginator ? TcpHistory.OrigFin : TcpHistory.RespFin;
        }

        if ((flags & TcpFlagBits.Rst) != 0)
        {
            history |= fromOriginator ? TcpHistory.OrigRst : TcpHistory.RespRst;
        }

        entry.History = history;
        if (!entry.Closing
            && ((history & (TcpHistory.OrigRst | TcpHistory.RespRst)) != 0
                || (history & (TcpHistory.OrigFin | TcpHistory.RespFin)) == (TcpHistory.OrigFin | TcpHistory.RespFin)))
        {
            entry.Closing = true;
            entry.ClosingSince = timestampNanos;
        }
    }

    private static EndReason EndReasonOfClosed(TcpHistory history) =>
        (history & (TcpHistory.OrigRst | TcpHistory.RespRst)) != 0 ? EndReason.Rst : EndReason.Fin;

    private void Evict()
    {
        var victim = -1;
        var oldest = long.MaxValue;
        for (var sampled = 0; sampled < EvictionSample;)
        {
            _evictionCursor = _evictionCursor + 1 >= _highWater ? 0 : _evictionCursor + 1;
            ref var entry = ref _entries[_evictionCursor];
            if (!entry.InUse)
            {
                continue;
            }

            sampled++;
            if (entry.LastSeen < oldest)
            {
                oldest = entry.LastSeen;
                victim = _evictionCursor;
            }
        }

        Evictions++;
        End(victim, EndReason.Evicted);
    }

    private void End(int index, EndReason reason)
    {
        ref var entry = ref _entries[index];
        Emit(ref entry, FlowRecordType.End, reason);
        RemoveSlot(entry.Hash, index);
        entry = default;
        _free[_freeCount++] = index;
        Count--;
    }

    /// <summary>Deletes an index slot and shifts later members of its probe run back (no tombstones).</summary>
    private void RemoveSlot(uint hash, int index)
    {
        var slots = _slots;
        var mask = _slotMask;
        var hole = hash & mask;
        var expected = (uint)(index + 1);
        while ((uint)slots[hole] != expected)
        {
            hole = (hole + 1) & mask;
        }

        var next = hole;
        while (true)
        {
            next = (next + 1) & mask;
            var slot = slots[next];
            if (slot == 0)
            {
                break;
            }

            var home = (uint)(slot >> 32) & mask;

            // Move the slot into the hole unless its home lies cyclically in (hole, next].
            var stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!stays)
            {
                slots[hole] = slot;
                hole = next;
            }
        }

        slots[hole] = 0;
    }

    private void Emit(ref FlowEntry entry, FlowRecordType type, EndReason reason)
    {
        var key = entry.Key;
        var originatorIsA = entry.InitiatorIsA;
        var record = new FlowRecord
        {
            Type = type,
            EndReason = reason,
            FlowId = entry.FlowId,
            Sequence = entry.Sequence,
            Vni = key.Vni,
            Tunnel = entry.Tunnel,
            TunnelIpVersion = entry.TunnelIpVersion,
            TunnelSource = entry.TunnelSource,
            TunnelDestination = entry.TunnelDestination,
            Vlan = entry.Vlan,
            IpVersion = key.IpVersion,
            Protocol = key.Protocol,
            Source = originatorIsA ? key.AddressA : key.AddressB,
            SourcePort = originatorIsA ? key.PortA : key.PortB,
            Destination = originatorIsA ? key.AddressB : key.AddressA,
            DestinationPort = originatorIsA ? key.PortB : key.PortA,
            FirstSeenNanos = entry.FirstSeen,
            LastSeenNanos = entry.LastSeen,
            PacketsSrcToDst = entry.PacketsOrig,
            BytesSrcToDst = entry.BytesOrig,
            PacketsDstToSrc = entry.PacketsResp,
            BytesDstToSrc = entry.BytesResp,
            TcpFlagsSrcToDst = entry.FlagsOrig,
            TcpFlagsDstToSrc = entry.FlagsResp,
            ConnState = key.Protocol == IpProtocol.Tcp ? ConnStateRules.ForTcp(entry.History) : ConnStateRules.ForOther(entry.History),
            ObservationPoints = entry.ObservationPoints,
            SecondTunnelSource = entry.SecondTunnelSource,
            CopiesRemovedSrcToDst = entry.CopiesOrig,
            CopiesRemovedDstToSrc = entry.CopiesResp,
        };
        entry.Sequence++;
        entry.PacketsOrig = 0;
        entry.BytesOrig = 0;
        entry.PacketsResp = 0;
        entry.BytesResp = 0;
        entry.CopiesOrig = 0;
        entry.CopiesResp = 0;
        if (type == FlowRecordType.End)
        {
            EndRecords++;
        }
        else
        {
            UpdateRecords++;
        }

        _writer.Write(record);
    }

    /// <summary>
    /// One tracked flow. Sequential layout with what every packet touches first (key, counters,
    /// flags, last-seen time), so a packet's update reads two cache lines; what only records and
    /// expiry read comes after.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct FlowEntry
    {
        public FlowKey Key;
        public ulong BytesOrig;
        public ulong BytesResp;
        public long LastSeen;
        public uint PacketsOrig;
        public uint PacketsResp;
        public TcpHistory History;
        public byte FlagsOrig;
        public byte FlagsResp;
        public bool InitiatorIsA;
        public bool InUse;
        public bool Closing;
        public TunnelKind Tunnel;
        public uint Hash;
        public uint Sequence;
        public ulong FlowId;
        public long FirstSeen;
        public long LastRecord;
        public long ClosingSince;
        public IpAddress TunnelSource;
        public IpAddress TunnelDestination;
        public ushort Vlan;
        public byte TunnelIpVersion;

        /// <summary>Taps the flow was seen from, with deduplication on: 0 (off), 1, 2, or 3 for three or more.</summary>
        public byte ObservationPoints;
        public uint CopiesOrig;
        public uint CopiesResp;
        public IpAddress SecondTunnelSource;
    }
}
