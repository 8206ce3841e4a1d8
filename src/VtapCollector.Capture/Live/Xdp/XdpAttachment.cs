using System.Runtime.InteropServices;
using System.Text;
using VtapCollector.Capture.Udp;

namespace VtapCollector.Capture.Live.Xdp;

/// <summary>How the XDP program is attached to the interface.</summary>
public enum XdpAttachMode
{
    /// <summary>Native (driver) XDP when the driver has it, else generic XDP, with the choice logged.</summary>
    Auto = 0,

    /// <summary>Native XDP only: the driver runs the program before any socket buffer exists (fastest); an interface whose driver lacks it is an error.</summary>
    Native = 1,

    /// <summary>Generic XDP: the kernel runs the program after the driver built the socket buffer; works on any interface, copy mode only.</summary>
    Generic = 2,
}

/// <summary>
/// The kernel side of the AF_XDP source on one interface: an XSKMAP with one slot per receive
/// queue, the redirect program of <see cref="XdpRedirectProgram"/> loaded with the bpf(2) system
/// call, and the XDP link that attaches it. Created before the sockets, attached after they are in
/// the map (<see cref="Attach"/>), so no tunnel frame is redirected to an empty slot in between
/// (and one that would be is passed to the stack, not dropped).
/// </summary>
/// <remarks>
/// <para>
/// The program is attached through a bpf link (BPF_LINK_CREATE, Linux 5.9), not the older netlink
/// call: the link belongs to its descriptor, so when this process exits, crashes or is killed the
/// kernel detaches the program itself. Nothing is pinned in a BPF file system; a restart finds the
/// interface as it was before the first start and attaches afresh. Closing <see cref="Dispose"/>
/// detaches it at once.
/// </para>
/// <para>
/// An interface has one XDP program (in each mode). One already attached by another tool (or by
/// <c>ip link set ... xdp</c>) is never replaced: the link fails with EBUSY and the source stops with
/// a sentence naming what to do. Chaining several programs is what libxdp's dispatcher does; it
/// needs libxdp at run time and a mounted BPF file system to keep its state, and a crashed
/// process's programs stay pinned there, which is why this source owns its single program instead.
/// </para>
/// </remarks>
public sealed unsafe class XdpAttachment : IDisposable
{
    /// <summary>The program's name in the kernel (bpftool prog, ip link).</summary>
    public const string ProgramName = "xdp_vtap";

    private const string License = "MIT";
    private const int LogBytes = 64 * 1024;

    private int _map = -1;
    private int _program = -1;
    private int _link = -1;
    private int _references = 1;

    /// <summary>
    /// Creates the map (slots for <paramref name="queues"/> receive queues) and loads the program for
    /// <paramref name="ports"/>. Run it in the interface's network namespace. Throws
    /// <see cref="LiveCaptureException"/> with one sentence when the kernel refuses.
    /// </summary>
    public XdpAttachment(string interfaceName, int interfaceIndex, int queues, IEnumerable<ushort> ports, bool redirectGre = false)
    {
        Interface = interfaceName;
        InterfaceIndex = interfaceIndex;
        try
        {
            _map = CreateMap(queues);
            Instructions = XdpRedirectProgram.Build(ports, _map, redirectGre);
            _program = LoadProgram(Instructions);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The interface.</summary>
    public string Interface { get; }

    /// <summary>Its index.</summary>
    public int InterfaceIndex { get; }

    /// <summary>The program as loaded.</summary>
    public IReadOnlyList<EbpfInstruction> Instructions { get; } = [];

    /// <summary>The mode attached in (after <see cref="Attach"/>).</summary>
    public XdpAttachMode AttachedMode { get; private set; }

    /// <summary>
    /// Runs the loaded program once on <paramref name="frame"/> (BPF_PROG_TEST_RUN, nothing is
    /// attached or sent: a redirect is only reported) and returns its verdict: 2 (XDP_PASS) or 4
    /// (XDP_REDIRECT, when the frame's queue, 0 here, has a socket). A check of the program as the
    /// kernel runs it, for tests and diagnostics.
    /// </summary>
    public int TestRun(ReadOnlySpan<byte> frame)
    {
        var output = new byte[frame.Length + 256];
        fixed (byte* input = frame)
        fixed (byte* result = output)
        {
            var attribute = default(BpfAttribute);
            attribute.Write32(0, (uint)_program);
            attribute.Write32(8, (uint)frame.Length);
            attribute.Write32(12, (uint)output.Length);
            attribute.Write64(16, (ulong)input);
            attribute.Write64(24, (ulong)result);
            attribute.Write32(32, 1);
            if (XdpInterop.Bpf(XdpInterop.BpfProgramTestRun, &attribute) < 0)
            {
                throw Failure("test-run the XDP program", Marshal.GetLastPInvokeError());
            }

            return (int)attribute.Read32(4);
        }
    }

    /// <summary>Puts an AF_XDP socket in the slot of receive queue <paramref name="queue"/>.</summary>
    public void AddSocket(int queue, int socketDescriptor)
    {
        var key = (uint)queue;
        var value = (uint)socketDescriptor;
        var attribute = default(BpfAttribute);
        attribute.Write32(0, (uint)_map);
        attribute.Write64(8, (ulong)&key);
        attribute.Write64(16, (ulong)&value);
        if (XdpInterop.Bpf(XdpInterop.BpfMapUpdateElement, &attribute) < 0)
        {
            throw Failure($"put the socket of queue {queue} into the XSKMAP", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Attaches the program to the interface in <paramref name="mode"/> (Auto: native, else generic).</summary>
    public void Attach(XdpAttachMode mode)
    {
        if (mode is XdpAttachMode.Native or XdpAttachMode.Auto)
        {
            var errno = TryLink(XdpInterop.XdpFlagsDriverMode);
            if (errno == 0)
            {
                AttachedMode = XdpAttachMode.Native;
                return;
            }

            // EOPNOTSUPP: the driver has no ndo_bpf; EINVAL from some drivers for the same reason;
            // ERANGE: the MTU is larger than the driver's XDP takes in one buffer.
            if (mode == XdpAttachMode.Native || errno is not (XdpInterop.Eopnotsupp or LinuxSocketInterop.Einval or XdpInterop.Erange))
            {
                throw LinkFailure(errno, native: true);
            }
        }

        var generic = TryLink(XdpInterop.XdpFlagsSkbMode);
        if (generic != 0)
        {
            throw LinkFailure(generic, native: false);
        }

        AttachedMode = XdpAttachMode.Generic;
    }

    /// <summary>Takes one more reference (a socket that shares the attachment).</summary>
    internal void AddReference() => Interlocked.Increment(ref _references);

    /// <summary>Drops a reference; the last one detaches the program and frees the map.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Close();
        }
    }

    /// <summary>Drops the creator's reference: detaches when no socket holds one.</summary>
    public void Dispose() => Release();

    private void Close()
    {
        // Closing the link's descriptor detaches the program (the link's only owner is this process).
        foreach (var descriptor in new[] { _link, _program, _map })
        {
            if (descriptor >= 0)
            {
                _ = LinuxSocketInterop.Close(descriptor);
            }
        }

        _link = _program = _map = -1;
    }

    private int TryLink(uint flags)
    {
        var attribute = default(BpfAttribute);
        attribute.Write32(0, (uint)_program);
        attribute.Write32(4, (uint)InterfaceIndex);
        attribute.Write32(8, XdpInterop.AttachTypeXdp);
        attribute.Write32(12, flags);
        var link = XdpInterop.Bpf(XdpInterop.BpfLinkCreate, &attribute);
        if (link >= 0)
        {
            _link = link;
            return 0;
        }

        return Marshal.GetLastPInvokeError();
    }

    private int CreateMap(int queues)
    {
        var attribute = default(BpfAttribute);
        attribute.Write32(0, XdpInterop.MapTypeXskMap);
        attribute.Write32(4, sizeof(uint));
        attribute.Write32(8, sizeof(uint));
        attribute.Write32(12, (uint)queues);
        attribute.WriteName(28, "xsk_vtap");
        var map = XdpInterop.Bpf(XdpInterop.BpfMapCreate, &attribute);
        if (map >= 0)
        {
            return map;
        }

        var errno = Marshal.GetLastPInvokeError();
        throw errno switch
        {
            LinuxSocketInterop.Eperm or LinuxSocketInterop.Eacces => MissingCapabilities(errno),
            XdpInterop.Enosys => new LiveCaptureException($"Cannot use AF_XDP on interface '{Interface}': this kernel has no bpf() system call (CONFIG_BPF_SYSCALL).") { ErrorNumber = errno },
            LinuxSocketInterop.Einval => new LiveCaptureException($"Cannot use AF_XDP on interface '{Interface}': this kernel has no AF_XDP socket maps (CONFIG_XDP_SOCKETS, Linux 4.18 or later).") { ErrorNumber = errno },
            _ => Failure("create the XSKMAP", errno),
        };
    }

    private int LoadProgram(IReadOnlyList<EbpfInstruction> instructions)
    {
        var program = Load(instructions, null);
        if (program >= 0)
        {
            return program;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == LinuxSocketInterop.Eperm)
        {
            throw MissingCapabilities(errno);
        }

        // Loaded again with the verifier's log, whose last line says why: a kernel that refuses
        // the program is a bug to report with that line.
        var log = new byte[LogBytes];
        var again = Load(instructions, log);
        if (again >= 0)
        {
            return again;
        }

        var text = Encoding.ASCII.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim();
        // The verifier ends with its statistics ("processed N insns ..."); the reason is the line before.
        var reason = text.Split('\n').LastOrDefault(line => line.Length > 0 && !line.StartsWith("processed ", StringComparison.Ordinal) && !line.StartsWith("verification time", StringComparison.Ordinal));
        var last = reason is null ? "" : " (verifier: " + reason.Trim() + ")";
        throw new LiveCaptureException($"The kernel refused the XDP program for interface '{Interface}': {LinuxSocketInterop.Describe(errno)} (errno {errno}){last}.") { ErrorNumber = errno };
    }

    /// <summary>BPF_PROG_LOAD; returns the descriptor or -1 (errno set). With <paramref name="log"/>, the verifier writes its log there.</summary>
    private static int Load(IReadOnlyList<EbpfInstruction> instructions, byte[]? log)
    {
        var code = instructions.ToArray();
        var license = Encoding.ASCII.GetBytes(License + "\0");
        fixed (EbpfInstruction* insns = code)
        fixed (byte* licenseText = license)
        fixed (byte* logText = log)
        {
            var attribute = default(BpfAttribute);
            attribute.Write32(0, XdpInterop.ProgramTypeXdp);
            attribute.Write32(4, (uint)code.Length);
            attribute.Write64(8, (ulong)insns);
            attribute.Write64(16, (ulong)licenseText);
            if (log is not null)
            {
                attribute.Write32(24, 1);
                attribute.Write32(28, (uint)log.Length);
                attribute.Write64(32, (ulong)logText);
            }

            attribute.WriteName(48, ProgramName);
            attribute.Write32(68, XdpInterop.AttachTypeXdp);
            return XdpInterop.Bpf(XdpInterop.BpfProgramLoad, &attribute);
        }
    }

    private LiveCaptureException LinkFailure(int errno, bool native) => errno switch
    {
        XdpInterop.Ebusy or XdpInterop.Eexist => new LiveCaptureException(
            $"Interface '{Interface}' already has an XDP program attached (by another tool or collector): detach it (ip link set dev {Interface} xdp off) or capture with Sources:AfPacket instead.")
        { ErrorNumber = errno },
        LinuxSocketInterop.Eperm or LinuxSocketInterop.Eacces => new LiveCaptureException(
            $"Attaching the XDP program to interface '{Interface}' needs the CAP_NET_ADMIN capability: run as root or grant it (systemd: the af-xdp.conf drop-in).")
        { ErrorNumber = errno },
        XdpInterop.Erange => new LiveCaptureException(
            $"Interface '{Interface}' has an MTU too large for its driver's native XDP (a frame must fit one page, about 3500 bytes): lower the MTU or set Sources:Xdp:AttachMode to Auto or Generic.")
        { ErrorNumber = errno },
        XdpInterop.Eopnotsupp or LinuxSocketInterop.Einval when native => new LiveCaptureException(
            $"Interface '{Interface}' has no native XDP support in its driver: set Sources:Xdp:AttachMode to Generic (slower) or Auto.")
        { ErrorNumber = errno },
        LinuxSocketInterop.Einval => new LiveCaptureException(
            $"Cannot attach an XDP program to interface '{Interface}': this kernel has no XDP links (Linux 5.9 or later is needed).")
        { ErrorNumber = errno },
        _ => Failure(native ? "attach the XDP program in native mode" : "attach the XDP program in generic mode", errno),
    };

    private LiveCaptureException MissingCapabilities(int errno) =>
        new($"The AF_XDP source on interface '{Interface}' needs the CAP_BPF and CAP_NET_ADMIN capabilities to load its XDP program: run as root or grant them (systemd: the af-xdp.conf drop-in).")
        {
            ErrorNumber = errno,
        };

    private LiveCaptureException Failure(string action, int errno) =>
        new($"Cannot {action} for interface '{Interface}': {LinuxSocketInterop.Describe(errno)} (errno {errno}).") { ErrorNumber = errno };
}
