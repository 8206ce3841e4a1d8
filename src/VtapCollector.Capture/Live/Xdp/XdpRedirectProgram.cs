using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace VtapCollector.Capture.Live.Xdp;

/// <summary>
/// One eBPF instruction as the kernel reads it (linux/bpf_common.h, linux/bpf.h
/// <c>struct bpf_insn</c>, 8 bytes): <c>{ __u8 code; __u8 dst_reg:4, src_reg:4; __s16 off; __s32 imm; }</c>.
/// Jump offsets count instructions after the next one.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public readonly struct EbpfInstruction : IEquatable<EbpfInstruction>
{
    [FieldOffset(0)]
    private readonly byte _code;

    [FieldOffset(1)]
    private readonly byte _registers;

    [FieldOffset(2)]
    private readonly short _offset;

    [FieldOffset(4)]
    private readonly int _immediate;

    /// <summary>Creates an instruction from its fields.</summary>
    public EbpfInstruction(byte code, int destination, int source, short offset, int immediate)
    {
        _code = code;
        _registers = (byte)((destination & 0xf) | ((source & 0xf) << 4));
        _offset = offset;
        _immediate = immediate;
    }

    /// <summary>Operation: class | size/operation | mode/source.</summary>
    public byte Code => _code;

    /// <summary>Destination register, 0 to 10.</summary>
    public int Destination => _registers & 0xf;

    /// <summary>Source register, or for a 64-bit immediate load the pseudo source (1: a map descriptor).</summary>
    public int Source => _registers >> 4;

    /// <summary>Memory offset or jump distance.</summary>
    public short Offset => _offset;

    /// <summary>Immediate operand.</summary>
    public int Immediate => _immediate;

    public static bool operator ==(EbpfInstruction left, EbpfInstruction right) => left.Equals(right);

    public static bool operator !=(EbpfInstruction left, EbpfInstruction right) => !left.Equals(right);

    /// <inheritdoc/>
    public bool Equals(EbpfInstruction other) => _code == other._code && _registers == other._registers && _offset == other._offset && _immediate == other._immediate;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is EbpfInstruction other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_code, _registers, _offset, _immediate);

    /// <inheritdoc/>
    public override string ToString() => $"{{ 0x{_code:x2}, r{Destination}, r{Source}, {_offset}, {_immediate} }}";
}

/// <summary>
/// Builds the XDP program of the AF_XDP source as eBPF bytecode: UDP datagrams to one of the tunnel
/// destination ports, over IPv4 or IPv6, untagged or under one or two 802.1Q / 802.1ad tags, are redirected
/// to the AF_XDP socket of the receive queue they arrived on (an XSKMAP indexed by queue); every
/// other frame, and a tunnel frame whose queue has no socket, goes on to the kernel's stack
/// (XDP_PASS), so the host's own traffic is untouched.
/// </summary>
/// <remarks>
/// <para>
/// The program, in the kernel verifier's notation (r1: struct xdp_md *ctx; loads of network-order
/// fields are compared with byte-swapped constants, since the machine is little-endian):
/// </para>
/// <code>
///       r6 = r1
///       r2 = *(u32 *)(r1 + 0)             ; ctx->data
///       r3 = *(u32 *)(r1 + 4)             ; ctx->data_end
///       r7 = r2 ; r7 += 14                ; past the Ethernet header
///       if r7 > r3 goto pass              ; every read is preceded by such a bounds check
///       r4 = *(u16 *)(r2 + 12)            ; EtherType
///       if r4 == 0x8100 goto tagged ; if r4 == 0x88a8 goto tagged ; goto l3
/// tagged:
///       r5 = r7 ; r5 += 4 ; if r5 > r3 goto pass
///       r4 = *(u16 *)(r7 + 2) ; r7 += 4   ; the EtherType after the tag
///       if r4 == 0x8100 goto inner ; if r4 != 0x88a8 goto l3
/// inner:                                  ; a second tag (802.1ad service tag, then customer tag)
///       r5 = r7 ; r5 += 4 ; if r5 > r3 goto pass
///       r4 = *(u16 *)(r7 + 2) ; r7 += 4
/// l3:   if r4 == 0x0800 goto v4 ; if r4 == 0x86dd goto v6 ; goto pass
/// v4:   r5 = r7 ; r5 += 20 ; if r5 > r3 goto pass
///       r4 = *(u8 *)(r7 + 9) ; if r4 != 17 goto pass          ; UDP only
///       r4 = *(u16 *)(r7 + 6) ; r4 &amp;= 0x1fff ; if r4 != 0 goto pass   ; a later fragment has no UDP header
///       r4 = *(u8 *)(r7 + 0) ; r4 &amp;= 15 ; r7 += 20                ; IHL, options included:
///       if r4 == 5 goto udp ; r7 += 4 ; if r4 == 6 goto udp ; ... ; if r4 == 15 goto udp
///       goto pass                                               ; IHL below 5
/// v6:   r5 = r7 ; r5 += 40 ; if r5 > r3 goto pass
///       r4 = *(u8 *)(r7 + 6) ; if r4 != 17 goto pass          ; UDP right after the fixed header
///       r7 += 40
/// udp:  r5 = r7 ; r5 += 8 ; if r5 > r3 goto pass
///       r4 = *(u16 *)(r7 + 2)             ; destination port
///       if r4 == p1 goto redirect ; ... ; goto pass
/// redirect:
///       r2 = *(u32 *)(r6 + 16)            ; ctx->rx_queue_index
///       r1 = map                          ; the XSKMAP
///       r3 = 2                            ; XDP_PASS when the queue has no socket (Linux 5.3)
///       call bpf_redirect_map ; exit
/// pass: r0 = 2 ; exit                     ; XDP_PASS
/// </code>
/// <para>
/// These are the same frames the AF_PACKET source's classic filter (<see cref="TunnelPortFilter"/>)
/// accepts, but XDP runs before the kernel takes a VLAN tag out, so the tags are seen in the frame
/// itself (unless the NIC strips the outer one in hardware), up to two of them. Generating the bytecode here, rather than
/// compiling C with clang, keeps the ports as constants of the program (no map to fill, nothing to
/// get out of step) and needs no compiler, object file or libbpf at build or run time.
/// </para>
/// </remarks>
public static class XdpRedirectProgram
{
    /// <summary>Most ports one program tests.</summary>
    public const int MaxPorts = 64;

    /// <summary>XDP_PASS: hand the frame to the kernel's stack.</summary>
    public const int XdpPass = 2;

    /// <summary>XDP_REDIRECT: the frame went to the map's target.</summary>
    public const int XdpRedirect = 4;

    /// <summary>BPF_PSEUDO_MAP_FD: a 64-bit immediate load whose immediate is a map descriptor.</summary>
    private const int PseudoMapDescriptor = 1;

    /// <summary>IP protocol number of GRE.</summary>
    private const int ProtocolGre = 47;

    /// <summary>BPF_FUNC_redirect_map.</summary>
    private const int HelperRedirectMap = 51;

    private const byte LoadWord = 0x61;        // BPF_LDX | BPF_MEM | BPF_W
    private const byte LoadHalf = 0x69;        // BPF_LDX | BPF_MEM | BPF_H
    private const byte LoadByte = 0x71;        // BPF_LDX | BPF_MEM | BPF_B
    private const byte LoadImmediate64 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
    private const byte MoveRegister = 0xbf;    // BPF_ALU64 | BPF_MOV | BPF_X
    private const byte MoveImmediate = 0xb7;   // BPF_ALU64 | BPF_MOV | BPF_K
    private const byte AddImmediate = 0x07;    // BPF_ALU64 | BPF_ADD | BPF_K
    private const byte AndImmediate = 0x57;    // BPF_ALU64 | BPF_AND | BPF_K
    private const byte JumpAlways = 0x05;      // BPF_JMP | BPF_JA
    private const byte JumpIfEqual = 0x15;     // BPF_JMP | BPF_JEQ | BPF_K
    private const byte JumpIfNotEqual = 0x55;  // BPF_JMP | BPF_JNE | BPF_K
    private const byte JumpIfGreater = 0x2d;   // BPF_JMP | BPF_JGT | BPF_X (unsigned)
    private const byte Call = 0x85;            // BPF_JMP | BPF_CALL
    private const byte Exit = 0x95;            // BPF_JMP | BPF_EXIT

    private const int R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7;

    /// <summary>
    /// Builds the program for <paramref name="ports"/> (1 to <see cref="MaxPorts"/> UDP destination
    /// ports, duplicates ignored) redirecting into the XSKMAP whose descriptor is
    /// <paramref name="mapDescriptor"/>.
    /// </summary>
    public static EbpfInstruction[] Build(IEnumerable<ushort> ports, int mapDescriptor) => Build(ports, mapDescriptor, redirectGre: false);

    /// <summary>
    /// As <see cref="Build(IEnumerable{ushort}, int)"/>; with <paramref name="redirectGre"/> GRE
    /// packets (IP protocol 47, RFC 2784: ERSPAN and other GRE mirrors) are redirected too, for a
    /// decoder that reads them.
    /// </summary>
    public static EbpfInstruction[] Build(IEnumerable<ushort> ports, int mapDescriptor, bool redirectGre)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var distinct = ports.Distinct().ToArray();
        if (distinct.Length is 0 or > MaxPorts || distinct.Contains((ushort)0))
        {
            throw new ArgumentException($"The XDP program needs between 1 and {MaxPorts} ports, none of them 0 (got {distinct.Length}).", nameof(ports));
        }

        var p = new Assembler();
        p.Op(MoveRegister, R6, R1, 0, 0);
        p.Op(LoadWord, R2, R1, 0, 0);
        p.Op(LoadWord, R3, R1, 4, 0);
        p.Op(MoveRegister, R7, R2, 0, 0);
        p.Op(AddImmediate, R7, 0, 0, 14);
        p.Jump(JumpIfGreater, R7, R3, 0, Label.Pass);
        p.Op(LoadHalf, R4, R2, 12, 0);
        p.Jump(JumpIfEqual, R4, 0, NetworkOrder(0x8100), Label.Tagged);
        p.Jump(JumpIfEqual, R4, 0, NetworkOrder(0x88a8), Label.Tagged);
        p.Jump(JumpAlways, 0, 0, 0, Label.Layer3);

        p.Mark(Label.Tagged);
        BoundsCheck(p, 4);
        p.Op(LoadHalf, R4, R7, 2, 0);
        p.Op(AddImmediate, R7, 0, 0, 4);
        p.Jump(JumpIfEqual, R4, 0, NetworkOrder(0x8100), Label.InnerTag);
        p.Jump(JumpIfNotEqual, R4, 0, NetworkOrder(0x88a8), Label.Layer3);

        // IEEE 802.1ad: a service tag followed by a customer tag (Q-in-Q).
        p.Mark(Label.InnerTag);
        BoundsCheck(p, 4);
        p.Op(LoadHalf, R4, R7, 2, 0);
        p.Op(AddImmediate, R7, 0, 0, 4);

        p.Mark(Label.Layer3);
        p.Jump(JumpIfEqual, R4, 0, NetworkOrder(0x0800), Label.Ipv4);
        p.Jump(JumpIfEqual, R4, 0, NetworkOrder(0x86dd), Label.Ipv6);
        p.Jump(JumpAlways, 0, 0, 0, Label.Pass);

        // RFC 791 section 3.1: protocol at 9, flags and fragment offset at 6, IHL in the low nibble of byte 0.
        p.Mark(Label.Ipv4);
        BoundsCheck(p, 20);
        p.Op(LoadByte, R4, R7, 9, 0);
        if (redirectGre)
        {
            p.Jump(JumpIfEqual, R4, 0, ProtocolGre, Label.Redirect);
        }

        p.Jump(JumpIfNotEqual, R4, 0, 17, Label.Pass);
        p.Op(LoadHalf, R4, R7, 6, 0);
        p.Op(AndImmediate, R4, 0, 0, NetworkOrder(0x1fff));
        p.Jump(JumpIfNotEqual, R4, 0, 0, Label.Pass);
        p.Op(LoadByte, R4, R7, 0, 0);
        p.Op(AndImmediate, R4, 0, 0, 0x0f);

        // The header length (5 to 15 words) is added as a constant chosen by comparison, not as a
        // register: adding a variable to a packet pointer needs CAP_PERFMON (the verifier's
        // Spectre sanitation), constants do not. An IHL below 5 is malformed: passed on.
        p.Op(AddImmediate, R7, 0, 0, 20);
        for (var words = 5; words <= 15; words++)
        {
            p.Jump(JumpIfEqual, R4, 0, words, Label.Udp);
            if (words < 15)
            {
                p.Op(AddImmediate, R7, 0, 0, 4);
            }
        }

        p.Jump(JumpAlways, 0, 0, 0, Label.Pass);

        // RFC 8200 section 3: next header at 6, 40-byte fixed header; mirrors add no extension headers.
        p.Mark(Label.Ipv6);
        BoundsCheck(p, 40);
        p.Op(LoadByte, R4, R7, 6, 0);
        if (redirectGre)
        {
            p.Jump(JumpIfEqual, R4, 0, ProtocolGre, Label.Redirect);
        }

        p.Jump(JumpIfNotEqual, R4, 0, 17, Label.Pass);
        p.Op(AddImmediate, R7, 0, 0, 40);

        // RFC 768: the destination port is the second 16-bit field.
        p.Mark(Label.Udp);
        BoundsCheck(p, 8);
        p.Op(LoadHalf, R4, R7, 2, 0);
        foreach (var port in distinct)
        {
            p.Jump(JumpIfEqual, R4, 0, NetworkOrder(port), Label.Redirect);
        }

        p.Jump(JumpAlways, 0, 0, 0, Label.Pass);

        p.Mark(Label.Redirect);
        p.Op(LoadWord, R2, R6, 16, 0);
        p.Op(LoadImmediate64, R1, PseudoMapDescriptor, 0, mapDescriptor);
        p.Op(0, 0, 0, 0, 0);
        p.Op(MoveImmediate, R3, 0, 0, XdpPass);
        p.Op(Call, 0, 0, 0, HelperRedirectMap);
        p.Op(Exit, 0, 0, 0, 0);

        p.Mark(Label.Pass);
        p.Op(MoveImmediate, R0, 0, 0, XdpPass);
        p.Op(Exit, 0, 0, 0, 0);
        return p.Resolve();
    }

    /// <summary>r5 = r7 + length; if r5 > data_end goto pass: the verifier's proof that the next <paramref name="length"/> bytes at r7 are in the frame.</summary>
    private static void BoundsCheck(Assembler p, int length)
    {
        p.Op(MoveRegister, R5, R7, 0, 0);
        p.Op(AddImmediate, R5, 0, 0, length);
        p.Jump(JumpIfGreater, R5, R3, 0, Label.Pass);
    }

    /// <summary>The value a 16-bit load of <paramref name="value"/> in network order yields on a little-endian machine.</summary>
    private static int NetworkOrder(ushort value) =>
        BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value;

    private enum Label
    {
        Tagged,
        InnerTag,
        Layer3,
        Ipv4,
        Ipv6,
        Udp,
        Redirect,
        Pass,
    }

    /// <summary>Collects instructions with symbolic jump targets and resolves them to offsets.</summary>
    private sealed class Assembler
    {
        private readonly List<(byte Code, int Destination, int Source, short Offset, int Immediate, Label? Target)> _code = [];
        private readonly Dictionary<Label, int> _labels = [];

        public void Op(byte code, int destination, int source, short offset, int immediate) =>
            _code.Add((code, destination, source, offset, immediate, null));

        public void Jump(byte code, int destination, int source, int immediate, Label target) =>
            _code.Add((code, destination, source, 0, immediate, target));

        public void Mark(Label label) => _labels.Add(label, _code.Count);

        public EbpfInstruction[] Resolve()
        {
            var program = new EbpfInstruction[_code.Count];
            for (var i = 0; i < _code.Count; i++)
            {
                var (code, destination, source, offset, immediate, target) = _code[i];
                if (target is { } label)
                {
                    offset = checked((short)(_labels[label] - (i + 1)));
                }

                program[i] = new EbpfInstruction(code, destination, source, offset, immediate);
            }

            return program;
        }
    }
}
