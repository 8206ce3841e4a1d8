using VtapCollector.Decoding;

namespace VtapCollector.Replay;

/// <summary>Packets per <see cref="DecodeStatus"/>: one array slot per reason, bumped on the packet path.</summary>
internal sealed class DecodeCounters
{
    private readonly long[] _counts = new long[(int)DecodeStatus.Count];

    public long this[DecodeStatus status] => _counts[(int)status];

    public void Add(DecodeStatus status) => _counts[(int)status]++;

    /// <summary>Statuses other than Ok that occurred, with their counts.</summary>
    public IEnumerable<(DecodeStatus Status, long Count)> Problems()
    {
        for (var i = 1; i < _counts.Length; i++)
        {
            if (_counts[i] != 0)
            {
                yield return ((DecodeStatus)i, _counts[i]);
            }
        }
    }
}
