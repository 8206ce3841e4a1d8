namespace VtapCollector.Engine.Ingress;

/// <summary>
/// Maps each VNI of a <see cref="DedupOptions.VniGroups"/> group to the group's first VNI, before
/// the flow key and the worker are chosen, so the copies that two taps send under two VNIs meet in
/// one flow of one worker. A small open-addressing table built once; lookups are reads only.
/// </summary>
internal sealed class VniGroups
{
    private readonly ulong[] _slots;
    private readonly int _mask;

    private VniGroups(ulong[] slots)
    {
        _slots = slots;
        _mask = slots.Length - 1;
    }

    /// <summary>The map of <paramref name="groups"/>, or null when there is none (nothing to do per packet).</summary>
    public static VniGroups? Create(IReadOnlyList<IReadOnlyList<uint>> groups)
    {
        var members = groups.Sum(group => group.Count);
        if (members == 0)
        {
            return null;
        }

        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)members * 4);
        var slots = new ulong[size];
        foreach (var group in groups)
        {
            foreach (var vni in group)
            {
                // A slot holds VNI + 1 (so 0 is empty) in the high half and the canonical VNI in the low one.
                var position = Hash(vni) & (size - 1);
                while (slots[position] != 0)
                {
                    position = (position + 1) & (size - 1);
                }

                slots[position] = ((ulong)(vni + 1) << 32) | group[0];
            }
        }

        return new VniGroups(slots);
    }

    /// <summary>The group's first VNI for a grouped VNI; any other VNI unchanged.</summary>
    public uint Canonical(uint vni)
    {
        var position = Hash(vni) & _mask;
        while (true)
        {
            var slot = _slots[position];
            if (slot == 0)
            {
                return vni;
            }

            if ((uint)(slot >> 32) == vni + 1)
            {
                return (uint)slot;
            }

            position = (position + 1) & _mask;
        }
    }

    private static int Hash(uint vni) => (int)((vni * 0x9E37_79B9U) >> 8);
}
