using System.Buffers.Binary;
using System.Numerics;

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

        Span<uint> w = stackalloc uint[80];
        for (var t = 0; t < 16; t++)
        {
            w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
        }

        for (var t = 16; t < 80; t++)
        {
            w[t] = BitOperations.RotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        }

        // Initial hash value (section 5.3.1).
        uint h0 = 0x67452301, h1 = 0xEFCDAB89, h2 = 0x98BADCFE, h3 = 0x10325476, h4 = 0xC3D2E1F0;
        uint a = h0, b = h1, c = h2, d = h3, e = h4;
        for (var t = 0; t < 80; t++)
        {
            // Functions and constants of section 4.1.1 and 4.2.1.
            uint f, k;
            if (t < 20)
            {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            }
            else if (t < 40)
            {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            }
            else if (t < 60)
            {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            }
            else
            {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }

            var temp = BitOperations.RotateLeft(a, 5) + f + e + k + w[t];
            e = d;
            d = c;
            c = BitOperations.RotateLeft(b, 30);
            b = a;
            a = temp;
        }

        BinaryPrimitives.WriteUInt32BigEndian(hash, h0 + a);
        BinaryPrimitives.WriteUInt32BigEndian(hash[4..], h1 + b);
        BinaryPrimitives.WriteUInt32BigEndian(hash[8..], h2 + c);
        BinaryPrimitives.WriteUInt32BigEndian(hash[12..], h3 + d);
        BinaryPrimitives.WriteUInt32BigEndian(hash[16..], h4 + e);
    }
}
