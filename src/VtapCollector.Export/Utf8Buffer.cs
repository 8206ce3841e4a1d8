using System.Buffers.Text;
using System.Runtime.CompilerServices;

namespace VtapCollector.Export;

/// <summary>
/// A write cursor over a caller's byte span for hand-rolled UTF-8 output. Callers size the span
/// for the largest record, so no method checks for room beyond what the span's indexer does.
/// </summary>
internal ref struct Utf8Buffer
{
    private readonly Span<byte> _destination;

    public Utf8Buffer(Span<byte> destination)
    {
        _destination = destination;
        Length = 0;
    }

    public int Length { get; private set; }

    public readonly Span<byte> Free => _destination[Length..];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(scoped ReadOnlySpan<byte> text)
    {
        text.CopyTo(_destination[Length..]);
        Length += text.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(byte character) => _destination[Length++] = character;

    public void AppendNumber(ulong value)
    {
        Utf8Formatter.TryFormat(value, _destination[Length..], out var written);
        Length += written;
    }

    public void Advance(int count) => Length += count;
}
