using System.Security.Cryptography;

namespace VtapCollector.Flows.Tests;

public class Sha1SingleBlockTests
{
    [Theory]
    [InlineData("", "da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    [InlineData("abc", "a9993e364706816aba3e25717850c26c9cd0d89d")]
    public void Hash_FipsExamples_MatchPublishedDigests(string message, string expectedHex)
    {
        Span<byte> hash = stackalloc byte[Sha1SingleBlock.HashLength];
        Sha1SingleBlock.Hash(System.Text.Encoding.ASCII.GetBytes(message), hash);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(hash));
    }

    [Fact]
    public void Hash_RandomMessagesUpTo55Bytes_MatchThePlatformSha1()
    {
        var random = new Random(7);
        Span<byte> ours = stackalloc byte[Sha1SingleBlock.HashLength];
        for (var length = 0; length <= Sha1SingleBlock.MaxMessageLength; length++)
        {
            for (var trial = 0; trial < 50; trial++)
            {
                var message = new byte[length];
                random.NextBytes(message);
                Sha1SingleBlock.Hash(message, ours);
#pragma warning disable CA5350 // the platform's SHA-1 is the oracle here
                Assert.Equal(SHA1.HashData(message), ours.ToArray());
#pragma warning restore CA5350
            }
        }
    }

    [Fact]
    public void Hash_MessageLongerThanOneBlock_IsRejected() =>
        Assert.Throws<ArgumentException>(() => Sha1SingleBlock.Hash(new byte[56], new byte[20]));
}
