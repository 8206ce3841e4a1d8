using System.Runtime.InteropServices;

namespace VtapCollector.Capture.Live;

/// <summary>
/// One classic BPF instruction, laid out as the kernel's <c>struct sock_filter</c>
/// (linux/filter.h, 8 bytes): <c>{ __u16 code; __u8 jt; __u8 jf; __u32 k; }</c>. Jump offsets count
/// instructions after the next one.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public readonly struct BpfInstruction : IEquatable<BpfInstruction>
{
    [FieldOffset(0)]
    private readonly ushort _code;

    [FieldOffset(2)]
    private readonly byte _jumpTrue;

    [FieldOffset(3)]
    private readonly byte _jumpFalse;

    [FieldOffset(4)]
    private readonly uint _k;

    /// <summary>Creates an instruction from its four fields.</summary>
    public BpfInstruction(ushort code, byte jumpTrue, byte jumpFalse, uint k)
    {
        _code = code;
        _jumpTrue = jumpTrue;
        _jumpFalse = jumpFalse;
        _k = k;
    }

    /// <summary>Operation: class | size | mode, or class | operation | source (BPF_LD | BPF_H | BPF_ABS, ...).</summary>
    public ushort Code => _code;

    /// <summary>For a conditional jump: instructions to skip when the condition holds.</summary>
    public byte JumpTrue => _jumpTrue;

    /// <summary>For a conditional jump: instructions to skip when it does not.</summary>
    public byte JumpFalse => _jumpFalse;

    /// <summary>The constant operand: an offset, a value to compare, a jump distance or a return value.</summary>
    public uint K => _k;

    public static bool operator ==(BpfInstruction left, BpfInstruction right) => left.Equals(right);

    public static bool operator !=(BpfInstruction left, BpfInstruction right) => !left.Equals(right);

    /// <inheritdoc/>
    public bool Equals(BpfInstruction other) => _code == other._code && _jumpTrue == other._jumpTrue && _jumpFalse == other._jumpFalse && _k == other._k;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BpfInstruction other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_code, _jumpTrue, _jumpFalse, _k);

    /// <summary>The instruction as <c>tcpdump -dd</c> prints it: <c>{ 0x28, 0, 0, 0x0000000c }</c>.</summary>
    public override string ToString() => $"{{ 0x{_code:x2}, {_jumpTrue}, {_jumpFalse}, 0x{_k:x8} }}";
}

/// <summary>
/// Builds the classic BPF program <see cref="AfPacketSource"/> attaches to its socket
/// (SO_ATTACH_FILTER): it accepts UDP datagrams to one of the tunnel destination ports, and when
/// asked GRE packets (IP protocol 47: ERSPAN, bridged Ethernet), over IPv4 or IPv6, untagged or
/// under one 802.1Q / 802.1ad tag, and rejects everything else in the kernel, before a frame is
/// copied into the ring.
/// </summary>
/// <remarks>
/// <para>
/// The program for ports p1..pn, in <c>tcpdump -d</c> notation (o is 0 for an untagged frame, 4 for
/// a tagged one; the IPv4 and IPv6 sections are emitted once for each o):
/// </para>
/// <code>
///       ldh  [12]                      ; EtherType
///       jeq  #0x0800, v4_0             ; IPv4
///       jeq  #0x86dd, v6_0             ; IPv6
///       jeq  #0x8100, tagged           ; 802.1Q
///       jeq  #0x88a8, tagged, reject   ; 802.1ad
/// tagged:
///       ldh  [16]                      ; EtherType after the tag
///       jeq  #0x0800, v4_4
///       jeq  #0x86dd, v6_4, reject
/// v4_o: ldb  [o+23]                    ; IPv4 protocol
///       jeq  #47, accept               ; GRE, only when GRE is asked for (any fragment: the
///                                      ; decoder counts a later one)
///       jeq  #17, next, reject         ; UDP
///       ldh  [o+20]                    ; flags and fragment offset
///       jset #0x1fff, reject           ; a later fragment has no UDP header to test
///       ldxb 4*([o+14]&amp;0xf)           ; X = IPv4 header length (IHL * 4, options included)
///       ldh  [x+o+16]                  ; UDP destination port: Ethernet 14 + IHL + 2
///       ja   ports
/// v6_o: ldb  [o+20]                    ; IPv6 next header
///       jeq  #47, accept               ; GRE right after the fixed header, only when asked for
///       jeq  #17, next, reject         ; UDP right after the fixed header only: a datagram behind
///                                      ; extension headers is rejected (mirrors do not add them)
///       ldh  [o+56]                    ; UDP destination port: 14 + 40 + 2
///       ja   ports
/// ports:
///       jeq  #p1, accept               ; one comparison per port
///       ...
///       jeq  #pn, accept, reject
/// accept: ret #-1                      ; keep the whole frame
/// reject: ret #0                       ; drop it
/// </code>
/// <para>
/// On receive the kernel takes the outermost VLAN tag out of the frame (and reports it in the
/// ring's tp_vlan_tci) before packet sockets see it, so a frame with one tag matches the untagged
/// branch and the tagged branch catches a second (inner) tag or a tag the kernel left in place.
/// Conditional jumps reach at most 255 instructions ahead, which bounds the port list (see
/// <see cref="MaxPorts"/>); <c>ja</c> has a 32-bit reach.
/// </para>
/// </remarks>
public static class TunnelPortFilter
{
    /// <summary>Most ports one program tests: keeps every conditional jump within its 8-bit reach.</summary>
    public const int MaxPorts = 64;

    private const ushort LoadHalfAbsolute = 0x28;   // BPF_LD | BPF_H | BPF_ABS
    private const ushort LoadByteAbsolute = 0x30;   // BPF_LD | BPF_B | BPF_ABS
    private const ushort LoadHalfIndirect = 0x48;   // BPF_LD | BPF_H | BPF_IND
    private const ushort LoadIpHeaderLength = 0xb1; // BPF_LDX | BPF_B | BPF_MSH
    private const ushort JumpForward = 0x05;        // BPF_JMP | BPF_JA
    private const ushort JumpIfEqual = 0x15;        // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort JumpIfAnySet = 0x45;       // BPF_JMP | BPF_JSET | BPF_K
    private const ushort Return = 0x06;             // BPF_RET | BPF_K

    private const uint EtherTypeIpv4 = 0x0800;
    private const uint EtherTypeIpv6 = 0x86dd;
    private const uint EtherTypeVlan = 0x8100;
    private const uint EtherTypeQinQ = 0x88a8;
    private const uint ProtocolUdp = 17;
    private const uint ProtocolGre = 47;
    private const uint FragmentOffsetMask = 0x1fff;

    /// <summary>
    /// Builds the program for <paramref name="ports"/> (1 to <see cref="MaxPorts"/> UDP destination
    /// ports, duplicates ignored), and for GRE too when <paramref name="gre"/> is true.
    /// </summary>
    public static BpfInstruction[] Build(IEnumerable<ushort> ports, bool gre = false)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var distinct = ports.Distinct().ToArray();
        if (distinct.Length is 0 or > MaxPorts)
        {
            throw new ArgumentException($"The filter needs between 1 and {MaxPorts} ports (got {distinct.Length}).", nameof(ports));
        }

        var program = new Assembler();
        program.Emit(LoadHalfAbsolute, 12);
        program.JumpIf(EtherTypeIpv4, Label.Ipv4Untagged, Label.Next);
        program.JumpIf(EtherTypeIpv6, Label.Ipv6Untagged, Label.Next);
        program.JumpIf(EtherTypeVlan, Label.Tagged, Label.Next);
        program.JumpIf(EtherTypeQinQ, Label.Tagged, Label.Reject);

        program.Mark(Label.Tagged);
        program.Emit(LoadHalfAbsolute, 16);
        program.JumpIf(EtherTypeIpv4, Label.Ipv4Tagged, Label.Next);
        program.JumpIf(EtherTypeIpv6, Label.Ipv6Tagged, Label.Reject);

        EmitIpv4(program, Label.Ipv4Untagged, 0, gre);
        EmitIpv6(program, Label.Ipv6Untagged, 0, gre, jumpToPorts: true);
        EmitIpv4(program, Label.Ipv4Tagged, 4, gre);
        EmitIpv6(program, Label.Ipv6Tagged, 4, gre, jumpToPorts: false);

        program.Mark(Label.Ports);
        for (var i = 0; i < distinct.Length; i++)
        {
            program.JumpIf(distinct[i], Label.Accept, i == distinct.Length - 1 ? Label.Reject : Label.Next);
        }

        program.Mark(Label.Accept);
        program.Emit(Return, uint.MaxValue);
        program.Mark(Label.Reject);
        program.Emit(Return, 0);
        return program.Resolve();
    }

    private static void EmitIpv4(Assembler program, Label label, uint offset, bool gre)
    {
        program.Mark(label);
        program.Emit(LoadByteAbsolute, offset + 23);
        if (gre)
        {
            program.JumpIf(ProtocolGre, Label.Accept, Label.Next);
        }

        program.JumpIf(ProtocolUdp, Label.Next, Label.Reject);
        program.Emit(LoadHalfAbsolute, offset + 20);
        program.Jump(JumpIfAnySet, FragmentOffsetMask, Label.Reject, Label.Next);
        program.Emit(LoadIpHeaderLength, offset + 14);
        program.Emit(LoadHalfIndirect, offset + 16);
        program.JumpAlways(Label.Ports);
    }

    private static void EmitIpv6(Assembler program, Label label, uint offset, bool gre, bool jumpToPorts)
    {
        program.Mark(label);
        program.Emit(LoadByteAbsolute, offset + 20);
        if (gre)
        {
            program.JumpIf(ProtocolGre, Label.Accept, Label.Next);
        }

        program.JumpIf(ProtocolUdp, Label.Next, Label.Reject);
        program.Emit(LoadHalfAbsolute, offset + 56);
        if (jumpToPorts)
        {
            program.JumpAlways(Label.Ports);
        }
    }

    private enum Label
    {
        Next,
        Tagged,
        Ipv4Untagged,
        Ipv6Untagged,
        Ipv4Tagged,
        Ipv6Tagged,
        Ports,
        Accept,
        Reject,
    }

    /// <summary>Collects instructions with symbolic jump targets and resolves them to forward offsets.</summary>
    private sealed class Assembler
    {
        private readonly List<(ushort Code, Label True, Label False, uint K)> _code = [];
        private readonly Dictionary<Label, int> _labels = [];

        public void Emit(ushort code, uint k) => _code.Add((code, Label.Next, Label.Next, k));

        public void JumpIf(uint value, Label whenTrue, Label whenFalse) => Jump(JumpIfEqual, value, whenTrue, whenFalse);

        public void Jump(ushort code, uint value, Label whenTrue, Label whenFalse) => _code.Add((code, whenTrue, whenFalse, value));

        public void JumpAlways(Label target) => _code.Add((JumpForward, target, Label.Next, 0));

        public void Mark(Label label) => _labels.Add(label, _code.Count);

        public BpfInstruction[] Resolve()
        {
            var program = new BpfInstruction[_code.Count];
            for (var i = 0; i < _code.Count; i++)
            {
                var (code, whenTrue, whenFalse, k) = _code[i];
                program[i] = code == JumpForward
                    ? new BpfInstruction(code, 0, 0, (uint)Distance(i, whenTrue))
                    : new BpfInstruction(code, Short(i, whenTrue), Short(i, whenFalse), k);
            }

            return program;
        }

        private int Distance(int from, Label target)
        {
            // Classic BPF only jumps forward, counting from the next instruction.
            var distance = target == Label.Next ? 0 : _labels[target] - (from + 1);
            return distance >= 0 ? distance : throw new InvalidOperationException($"The filter jumps backwards from instruction {from}.");
        }

        private byte Short(int from, Label target)
        {
            var distance = Distance(from, target);
            return distance <= byte.MaxValue ? (byte)distance : throw new InvalidOperationException($"The filter's jump from instruction {from} is out of reach.");
        }
    }
}
