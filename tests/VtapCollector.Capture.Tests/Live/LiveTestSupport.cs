using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace VtapCollector.Capture.Tests.Live;

/// <summary>The libc calls the live tests need: entering a network namespace, dropping a capability, injecting raw frames.</summary>
internal static unsafe partial class TestNative
{
    /// <summary>sched.h CLONE_NEWNET: setns(2) joins a network namespace.</summary>
    public const int CloneNewNet = 0x40000000;

    /// <summary>capability.h CAP_NET_RAW.</summary>
    public const int CapNetRaw = 13;

    /// <summary>capability.h CAP_NET_ADMIN.</summary>
    public const int CapNetAdmin = 12;

    /// <summary>capability.h CAP_BPF (Linux 5.8).</summary>
    public const int CapBpf = 39;

    /// <summary>capability.h _LINUX_CAPABILITY_VERSION_3 (two 32-bit words per set).</summary>
    public const uint CapabilityVersion3 = 0x20080522;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int descriptor);

    /// <summary>setns(2): moves the calling thread (only) into the namespace <paramref name="descriptor"/> refers to.</summary>
    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNamespace(int descriptor, int type);

    /// <summary>capget(2): header { u32 version; int pid; }, data: 2 x { u32 effective, permitted, inheritable }.</summary>
    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    public static partial int CapabilityGet(uint* header, uint* data);

    /// <summary>capset(2): changes the calling thread's capability sets only.</summary>
    [LibraryImport("libc", EntryPoint = "capset", SetLastError = true)]
    public static partial int CapabilitySet(uint* header, uint* data);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(int socket, byte* buffer, nuint length, int flags, byte* address, uint addressLength);

    /// <summary>kill(2).</summary>
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int process, int signal);

    [LibraryImport("libc", EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint InterfaceIndex(string name);

    /// <summary>Keeps only <paramref name="capabilities"/> in the calling thread's effective set (every other thread keeps its own).</summary>
    public static void KeepOnlyOnThisThread(params int[] capabilities)
    {
        var header = stackalloc uint[2] { CapabilityVersion3, 0 };
        var data = stackalloc uint[6];
        if (CapabilityGet(header, data) != 0)
        {
            throw new InvalidOperationException($"capget failed: errno {Marshal.GetLastPInvokeError()}.");
        }

        data[0] = 0;
        data[3] = 0;
        foreach (var capability in capabilities)
        {
            data[capability < 32 ? 0 : 3] |= 1u << (capability % 32);
        }

        if (CapabilitySet(header, data) != 0)
        {
            throw new InvalidOperationException($"capset failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>Drops CAP_NET_RAW from the calling thread's effective set (the thread's other capabilities and every other thread keep theirs).</summary>
    public static void DropNetRawFromThisThread()
    {
        var header = stackalloc uint[2] { CapabilityVersion3, 0 };
        var data = stackalloc uint[6];
        if (CapabilityGet(header, data) != 0)
        {
            throw new InvalidOperationException($"capget failed: errno {Marshal.GetLastPInvokeError()}.");
        }

        data[0] &= ~(1u << CapNetRaw);
        if (CapabilitySet(header, data) != 0)
        {
            throw new InvalidOperationException($"capset failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }
}

/// <summary>Runs code inside a network namespace on a thread of its own.</summary>
internal static class Netns
{
    /// <summary>
    /// Runs <paramref name="action"/> on a new thread that first joins namespace
    /// <paramref name="name"/> (/var/run/netns/name) with setns(2), which moves only that thread.
    /// Sockets it opens stay in the namespace whichever thread uses them later. Exceptions come
    /// back to the caller; the thread ends with the action, and its namespace with it.
    /// </summary>
    public static T Run<T>(string? name, Func<T> action, bool dropNetRaw = false)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (name is not null)
                {
                    Enter(name);
                }

                if (dropNetRaw)
                {
                    TestNative.DropNetRawFromThisThread();
                }

                result = action();
            }
            catch (Exception error)
            {
                failure = error;
            }
        })
        {
            IsBackground = true,
            Name = $"netns {name}",
        };
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"The action in namespace {name} did not finish within 30 s.");
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }

        return result;
    }

    public static void Run(string name, Action action) => Run(name, () =>
    {
        action();
        return 0;
    });

    private static void Enter(string name)
    {
        var descriptor = TestNative.Open($"/var/run/netns/{name}", 0x80000 /* O_RDONLY | O_CLOEXEC */);
        if (descriptor < 0)
        {
            throw new InvalidOperationException($"Cannot open /var/run/netns/{name}: errno {Marshal.GetLastPInvokeError()}.");
        }

        try
        {
            if (TestNative.SetNamespace(descriptor, TestNative.CloneNewNet) != 0)
            {
                throw new InvalidOperationException($"setns into {name} failed: errno {Marshal.GetLastPInvokeError()} (the live capture tests need root).");
            }
        }
        finally
        {
            TestNative.Close(descriptor);
        }
    }
}

/// <summary>Runs iproute2's <c>ip</c>.</summary>
internal static class IpCommand
{
    public static string Run(string arguments, string? input = null)
    {
        var start = new ProcessStartInfo("ip", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception error)
        {
            throw new InvalidOperationException("The live capture tests need the ip command (Debian package iproute2) to create network namespaces and veth pairs.", error);
        }

        using (process)
        {
            if (input is not null)
            {
                process.StandardInput.Write(input);
                process.StandardInput.Close();
            }

            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(15_000))
            {
                process.Kill();
                throw new TimeoutException($"ip {arguments} did not finish within 15 s.");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"ip {arguments} failed ({process.ExitCode}): {errors.Result.Trim()} {input}");
            }

            return output.Result;
        }
    }
}

/// <summary>Builders for tunnel payloads and whole frames, and the receive loops.</summary>
internal static class LiveTest
{
    /// <summary>A tunnel source's receive call, as a delegate over the recording handler.</summary>
    public delegate int Receive(ref RecordingHandler handler, int timeoutMilliseconds);

    public static void RequireRoot()
    {
        if (TestNative.GetEffectiveUserId() != 0)
        {
            throw new InvalidOperationException(
                "The live capture tests need root (CAP_SYS_ADMIN for network namespaces, CAP_NET_ADMIN for veth pairs, CAP_NET_RAW for capture); run them as root, as CI does.");
        }
    }

    /// <summary>Unix time now, nanoseconds.</summary>
    public static long NowNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>
    /// A VXLAN payload (RFC 7348: flags 0x08, VNI) carrying an inner Ethernet/IPv4/UDP frame, or
    /// with <paramref name="geneve"/> a Geneve one (RFC 8926: version 0, no options, protocol
    /// 0x6558 Transparent Ethernet Bridging, VNI). VNI = 0x10000 + index; the inner UDP source port
    /// is 20000 + index; the inner payload is <paramref name="innerPayload"/> bytes of pattern.
    /// </summary>
    public static byte[] TunnelPayload(int index, int innerPayload, bool geneve = false)
    {
        var payload = new byte[8 + 14 + 20 + 8 + innerPayload];
        var vni = (uint)(0x10000 + index);
        if (geneve)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(2), 0x6558);
        }
        else
        {
            payload[0] = 0x08;
        }

        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), vni << 8);
        var inner = payload.AsSpan(8);
        BuildIpv4Udp(inner, [0x02, 0xaa, 0, 0, 0, 1], [0x02, 0xbb, 0, 0, 0, 2], [192, 168, 1, 1], [192, 168, 1, 2], (ushort)(20000 + index), 80, innerPayload, (byte)index);
        return payload;
    }

    /// <summary>Writes Ethernet + IPv4 (no options) + UDP + a pattern payload into <paramref name="frame"/>.</summary>
    public static void BuildIpv4Udp(Span<byte> frame, byte[] destinationMac, byte[] sourceMac, byte[] source, byte[] destination, ushort sourcePort, ushort destinationPort, int payloadLength, byte seed)
    {
        destinationMac.CopyTo(frame);
        sourceMac.CopyTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0800);
        var ip = frame[14..];
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payloadLength));
        ip[8] = 64;
        ip[9] = 17;
        source.CopyTo(ip[12..]);
        destination.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Ipv4Checksum(ip[..20]));
        var udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payloadLength));
        for (var i = 0; i < payloadLength; i++)
        {
            udp[8 + i] = (byte)(seed + (i * 7));
        }
    }

    public static ushort Ipv4Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>
    /// Receives until <paramref name="expected"/> packets arrived or <paramref name="limit"/>
    /// passed, then on until a <paramref name="quietMilliseconds"/> wait brings nothing (so a
    /// duplicate would show); bounded in calls and time.
    /// </summary>
    public static List<RecordedPacket> Drain(Receive receive, int expected, TimeSpan? limit = null, int quietMilliseconds = 250)
    {
        var log = new PacketLog();
        var handler = new RecordingHandler(log);
        var clock = Stopwatch.StartNew();
        var budget = limit ?? TimeSpan.FromSeconds(5);
        for (var calls = 0; log.Packets.Count < expected && clock.Elapsed < budget && calls < 100_000; calls++)
        {
            receive(ref handler, 50);
        }

        for (var calls = 0; clock.Elapsed < budget + TimeSpan.FromSeconds(2) && calls < 1_000; calls++)
        {
            if (receive(ref handler, quietMilliseconds) == 0)
            {
                break;
            }
        }

        return log.Packets;
    }

    /// <summary>The UDP destination port of an untagged IPv4 or IPv6 frame.</summary>
    public static int UdpDestinationPort(byte[] frame) =>
        BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == 0x0800 ? 14 + 20 + 2 : 14 + 40 + 2));

    /// <summary>Checks that a captured frame is exactly the datagram as the sender's kernel framed it: MACs, EtherType, addresses, ports, payload.</summary>
    public static void AssertFrameCarries(Datagram datagram, RecordedPacket packet)
    {
        var frame = packet.Data;
        Assert.Equal(datagram.FrameLength, frame.Length);
        Assert.Equal(datagram.FrameLength, packet.OriginalLength);
        Assert.Equal(Decoding.LinkType.Ethernet, packet.LinkType);
        Assert.Equal(VethPair.CaptureMac, frame[..6]);
        Assert.Equal(VethPair.SenderMac, frame[6..12]);
        var network = frame.AsSpan(14);
        int udp;
        if (datagram.IsIpv4)
        {
            Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
            Assert.Equal(17, network[9]);
            Assert.Equal(VethPair.SenderIpv4, new IPAddress(network.Slice(12, 4)));
            Assert.Equal(datagram.Destination.Address, new IPAddress(network.Slice(16, 4)));
            udp = 14 + 20;
        }
        else
        {
            Assert.Equal(0x86dd, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
            Assert.Equal(17, network[6]);
            Assert.Equal(VethPair.SenderIpv6, new IPAddress(network.Slice(8, 16)));
            Assert.Equal(datagram.Destination.Address, new IPAddress(network.Slice(24, 16)));
            udp = 14 + 40;
        }

        Assert.Equal(datagram.SourcePort, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(udp)));
        Assert.Equal(datagram.Destination.Port, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(udp + 2)));
        Assert.Equal(datagram.Payload, frame[(udp + 8)..]);
    }
}
