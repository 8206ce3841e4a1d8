using static VtapCollector.Decoding.Tests.FrameBuilder;

namespace VtapCollector.Decoding.Tests;

/// <summary>
/// The signature two taps' copies of one packet share: every bit of the inner packet is flipped in
/// turn, and the signature must change exactly for the bits of the fields it covers, whatever the
/// outer headers, VNI and the fields a hop may rewrite (TTL, hop limit, checksum, TOS, traffic class).
/// </summary>
public class PacketSignatureTests
{
    private const int InnerOffset = 14 + 20 + 8 + 8 + 14; // outer Ethernet, IPv4, UDP, VXLAN, inner Ethernet

    private static readonly PacketDecoder Signing = new(new DecoderOptions { ComputeSignatures = true });

    private static readonly byte[] TcpPayload = "GET / HTTP/1.1\r\n"u8.ToArray();

    private static byte[] Ipv4Tcp() => Ipv4(IpProtocol.Tcp, Tcp(40000, 443, TcpFlagBits.Psh | TcpFlagBits.Ack, TcpPayload), "10.9.0.1", "10.9.0.2");

    private static byte[] Ipv6Udp() => Ipv6(IpProtocol.Udp, Udp(5353, 53, "query"u8.ToArray()), "2001:db8::1", "2001:db8::2");

    private static byte[] Tunnelled(byte[] innerIp, bool v6, uint vni = 100, string tap = "192.0.2.1") =>
        OverUdp4(4789, Vxlan(vni, Ethernet(v6 ? EtherTypes.Ipv6 : EtherTypes.Ipv4, innerIp)), tap);

    private static ulong SignatureOf(byte[] frame)
    {
        Assert.Equal(DecodeStatus.Ok, Signing.Decode(LinkType.Ethernet, frame, out var packet));
        return packet.Signature;
    }

    [Fact]
    public void Decode_SignaturesOff_LeavesSignatureZero()
    {
        Assert.Equal(DecodeStatus.Ok, new PacketDecoder().Decode(LinkType.Ethernet, Tunnelled(Ipv4Tcp(), v6: false), out var packet));
        Assert.Equal(0UL, packet.Signature);
    }

    [Fact]
    public void Decode_SamePacketFromTwoTapsUnderTwoVnis_HasOneSignature()
    {
        var a = SignatureOf(Tunnelled(Ipv4Tcp(), v6: false, vni: 100, tap: "192.0.2.1"));
        var b = SignatureOf(Tunnelled(Ipv4Tcp(), v6: false, vni: 200, tap: "192.0.2.7"));
        Assert.NotEqual(0UL, a);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Decode_Ipv4Tcp_SignatureCoversExactlyTheListedFields()
    {
        // IPv4: byte 1 (TOS), 8 (TTL), 10-11 (checksum) are left out; TCP: 18-19 (urgent pointer)
        // and the payload (the TCP checksum stands for it) are left out.
        var packet = Ipv4Tcp();
        AssertEveryBit(packet, v6: false, (offset, _) =>
            offset < 20 ? offset is not (1 or 8 or 10 or 11) : offset - 20 < 18);
    }

    [Fact]
    public void Decode_Ipv6Udp_SignatureCoversExactlyTheListedFields()
    {
        // IPv6: the traffic class (bits 4-11) and hop limit (byte 7) are left out; UDP's 8 bytes are
        // in; the payload is not (the UDP checksum stands for it).
        var packet = Ipv6Udp();
        AssertEveryBit(packet, v6: true, (offset, bit) => offset switch
        {
            0 => bit >= 4, // version (the low nibble is traffic class)
            1 => bit < 4, // flow label's first bits (the high nibble is traffic class)
            7 => false,
            < 40 => true,
            _ => offset - 40 < 8,
        });
    }

    [Fact]
    public void Decode_IcmpEcho_IdentifierAndSequenceAreCovered()
    {
        var echo = Ipv4(IpProtocol.Icmp, [8, 0, 0x12, 0x34, 0x00, 0x07, 0x00, 0x01, 0xAA, 0xBB], "10.9.0.1", "10.9.0.2");
        var next = (byte[])echo.Clone();
        next[20 + 7] = 0x02; // sequence 2
        Assert.NotEqual(SignatureOf(Tunnelled(echo, v6: false)), SignatureOf(Tunnelled(next, v6: false)));
    }

    /// <summary>
    /// Flips each bit of the inner IP packet; where the copy still decodes, its signature must differ
    /// from the original's exactly when <paramref name="covered"/> says the bit is covered.
    /// </summary>
    private static void AssertEveryBit(byte[] innerIp, bool v6, Func<int, int, bool> covered)
    {
        var original = SignatureOf(Tunnelled(innerIp, v6));
        var checkedBits = 0;
        for (var offset = 0; offset < innerIp.Length; offset++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var frame = Tunnelled(innerIp, v6);
                frame[InnerOffset + offset] ^= (byte)(1 << bit);
                if (Signing.Decode(LinkType.Ethernet, frame, out var packet) != DecodeStatus.Ok)
                {
                    continue;
                }

                checkedBits++;
                var changed = packet.Signature != original;
                Assert.True(changed == covered(offset, bit), $"byte {offset} bit {bit}: signature {(changed ? "changed" : "did not change")}");
            }
        }

        Assert.True(checkedBits > innerIp.Length * 6, $"only {checkedBits} flipped copies decoded");
    }
}
