using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VtapCollector.Flows;

/// <summary>
/// SHA-1 (FIPS 180-4 section 6.1) of a message that fits one 512-bit block after padding (at most
/// 55 bytes), which every Community ID input does (40 bytes at most). The platform's SHA-1 goes
/// through OpenSSL with allocations and error-queue housekeeping per call; this is a fifth of
/// its cost and allocates nothing. It is an identifier hash here, not a security control.
/// </summary>
internal static class Sha1SingleBlock
{
    public const int MaxMessageLength = 55;
    public const int HashLength = 20;

    [SkipLocalsInit] // the block is cleared by hand, the ring written before it is read
    public static void Hash(ReadOnlySpan<byte> message, Span<byte> hash)
    {
        if (message.Length > MaxMessageLength)
        {
            throw new ArgumentException($"Messages longer than {MaxMessageLength} bytes need more than one block.", nameof(message));
        }

        // Padding (section 5.1.1): the message, a 1 bit, zeros, and the length in bits in 64 bits.
        Span<byte> block = stackalloc byte[64];
        block.Clear();
        message.CopyTo(block);
        block[message.Length] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(block[56..], (ulong)message.Length * 8);

        // The message schedule (section 6.1.2 step 1) kept as a ring of its last 16 words, each new
        // word computed in the round that uses it; the 80 rounds in four runs of 20, one per
        // function and constant (sections 4.1.1 and 4.2.1), five rounds a pass with the working
        // variables renamed instead of moved (step 3's e = d, d = c, ... become the next round's
        // arguments). Written so, a record's Community ID costs about half of what one loop over an
        // 80-word array did.
        Span<uint> w = stackalloc uint[16];
        for (var t = 0; t < 16; t++)
        {
            w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
        }

        // Initial hash value (section 5.3.1).
        const uint H0 = 0x67452301, H1 = 0xEFCDAB89, H2 = 0x98BADCFE, H3 = 0x10325476, H4 = 0xC3D2E1F0;
        uint a = H0, b = H1, c = H2, d = H3, e = H4;
        ref var ring = ref MemoryMarshal.GetReference(w);
        TwentyRounds<Choose>(ref a, ref b, ref c, ref d, ref e, ref ring, 0, 0x5A827999);
        TwentyRounds<Parity>(ref a, ref b, ref c, ref d, ref e, ref ring, 20, 0x6ED9EBA1);
        TwentyRounds<Majority>(ref a, ref b, ref c, ref d, ref e, ref ring, 40, 0x8F1BBCDC);
        TwentyRounds<Parity>(ref a, ref b, ref c, ref d, ref e, ref ring, 60, 0xCA62C1D6);

        BinaryPrimitives.WriteUInt32BigEndian(hash, H0 + a);
        BinaryPrimitives.WriteUInt32BigEndian(hash[4..], H1 + b);
        BinaryPrimitives.WriteUInt32BigEndian(hash[8..], H2 + c);
        BinaryPrimitives.WriteUInt32BigEndian(hash[12..], H3 + d);
        BinaryPrimitives.WriteUInt32BigEndian(hash[16..], H4 + e);
    }

    /// <summary>Word <paramref name="t"/> of the schedule (section 6.1.2 step 1), from the ring of the last 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Word(ref uint ring, int t)
    {
        if (t < 16)
        {
            return Unsafe.Add(ref ring, t);
        }

        var word = BitOperations.RotateLeft(
            Unsafe.Add(ref ring, (t - 3) & 15) ^ Unsafe.Add(ref ring, (t - 8) & 15) ^ Unsafe.Add(ref ring, (t - 14) & 15) ^ Unsafe.Add(ref ring, t & 15), 1);
        Unsafe.Add(ref ring, t & 15) = word;
        return word;
    }

    /// <summary>
    /// Rounds <paramref name="first"/> to <paramref name="first"/> + 19 (section 6.1.2 step 3), five a
    /// pass, with the function of those rounds (a struct, so each use is compiled with it inline).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TwentyRounds<TFunction>(ref uint a, ref uint b, ref uint c, ref uint d, ref uint e, ref uint ring, int first, uint k)
        where TFunction : struct, IRoundFunction
    {
        for (var t = first; t < first + 20; t += 5)
        {
            e += BitOperations.RotateLeft(a, 5) + TFunction.Of(b, c, d) + k + Word(ref ring, t);
            b = BitOperations.RotateLeft(b, 30);
            d += BitOperations.RotateLeft(e, 5) + TFunction.Of(a, b, c) + k + Word(ref ring, t + 1);
            a = BitOperations.RotateLeft(a, 30);
            c += BitOperations.RotateLeft(d, 5) + TFunction.Of(e, a, b) + k + Word(ref ring, t + 2);
            e = BitOperations.RotateLeft(e, 30);
            b += BitOperations.RotateLeft(c, 5) + TFunction.Of(d, e, a) + k + Word(ref ring, t + 3);
            d = BitOperations.RotateLeft(d, 30);
            a += BitOperations.RotateLeft(b, 5) + TFunction.Of(c, d, e) + k + Word(ref ring, t + 4);
            c = BitOperations.RotateLeft(c, 30);
        }
    }

    /// <summary>One of the functions of section 4.1.1.</summary>
    private interface IRoundFunction
    {
        static abstract uint Of(uint x, uint y, uint z);
    }

    /// <summary>Ch(x, y, z): rounds 0-19.</summary>
    private readonly struct Choose : IRoundFunction
    {
        public static uint Of(uint x, uint y, uint z) => (x & y) | (~x & z);
    }

    /// <summary>Parity(x, y, z): rounds 20-39 and 60-79.</summary>
    private readonly struct Parity : IRoundFunction
    {
        public static uint Of(uint x, uint y, uint z) => x ^ y ^ z;
    }

    /// <summary>Maj(x, y, z): rounds 40-59.</summary>
    private readonly struct Majority : IRoundFunction
    {
        public static uint Of(uint x, uint y, uint z) => (x & y) | (x & z) | (y & z);
    }
}
