using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace VtapCollector.Capture.Tests.Live;

/// <summary>
/// Two network namespaces joined by a veth pair: a sender side and a capture side, with IPv4
/// (10.77.0.1, 10.77.0.2 /24) and IPv6 (fd00:77::1, ::2 /64) addresses and permanent neighbour
/// entries (no ARP or neighbour discovery delays the first datagram). Names carry a random suffix,
/// so tests run side by side; Dispose deletes both namespaces, which destroys the pair.
/// </summary>
internal sealed class VethPair : IDisposable
{
    public static readonly IPAddress SenderIpv4 = IPAddress.Parse("10.77.0.1");
    public static readonly IPAddress CaptureIpv4 = IPAddress.Parse("10.77.0.2");
    public static readonly IPAddress SenderIpv6 = IPAddress.Parse("fd00:77::1");
    public static readonly IPAddress CaptureIpv6 = IPAddress.Parse("fd00:77::2");
    public static readonly byte[] SenderMac = [0x02, 0x76, 0, 0, 0, 0x01];
    public static readonly byte[] CaptureMac = [0x02, 0x76, 0, 0, 0, 0x02];

    private VethPair(string suffix)
    {
        SenderNamespace = $"vtap-live-{suffix}-s";
        CaptureNamespace = $"vtap-live-{suffix}-c";
        SenderInterface = $"vt{suffix}s";
        CaptureInterface = $"vt{suffix}c";
    }

    public string SenderNamespace { get; }

    public string CaptureNamespace { get; }

    public string SenderInterface { get; }

    public string CaptureInterface { get; }

    /// <summary>Creates the namespaces and the pair (<paramref name="queues"/> receive and transmit queues on each end); fails with a clear message when not root.</summary>
    public static VethPair Create(int queues = 1)
    {
        LiveTest.RequireRoot();
        var pair = new VethPair(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        try
        {
            pair.Build(queues);
            return pair;
        }
        catch
        {
            pair.Dispose();
            throw;
        }
    }

    /// <summary>Deletes both namespaces (each attempted even if the other fails), which removes the veth pair.</summary>
    public void Dispose()
    {
        var failures = new List<Exception>();
        foreach (var name in new[] { SenderNamespace, CaptureNamespace })
        {
            try
            {
                if (File.Exists($"/var/run/netns/{name}"))
                {
                    IpCommand.Run($"netns delete {name}");
                }
            }
            catch (Exception error) when (error is InvalidOperationException or TimeoutException)
            {
                failures.Add(error);
            }
        }

        if (failures.Count > 0)
        {
            throw new AggregateException("Deleting the test namespaces failed.", failures);
        }
    }

    private static string Mac(byte[] mac) => string.Join(':', mac.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    private void Build(int queues)
    {
        IpCommand.Run($"netns add {SenderNamespace}");
        IpCommand.Run($"netns add {CaptureNamespace}");
        var queueCounts = queues == 1 ? "" : $" numtxqueues {queues} numrxqueues {queues}";
        IpCommand.Run(
            $"link add {SenderInterface} netns {SenderNamespace} address {Mac(SenderMac)}{queueCounts} type veth peer name {CaptureInterface} netns {CaptureNamespace} address {Mac(CaptureMac)}{queueCounts}");
        Configure(SenderNamespace, SenderInterface, SenderIpv4, SenderIpv6, CaptureIpv4, CaptureIpv6, CaptureMac);
        Configure(CaptureNamespace, CaptureInterface, CaptureIpv4, CaptureIpv6, SenderIpv4, SenderIpv6, SenderMac);
        WaitUntilUp(SenderNamespace, SenderInterface);
        WaitUntilUp(CaptureNamespace, CaptureInterface);
    }

    /// <summary>
    /// Waits for the kernel's link watcher to mark the interface operationally up: until it has,
    /// the device's queueing discipline is a no-op that drops what is sent (seen under load: a
    /// test's datagrams all vanished).
    /// </summary>
    private static void WaitUntilUp(string ns, string device)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!IpCommand.Run($"-n {ns} -o link show dev {device}").Contains("state UP", StringComparison.Ordinal))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"{device} in {ns} did not come up within 10 s.");
            }

            Thread.Sleep(20);
        }
    }

    private static void Configure(string ns, string device, IPAddress ipv4, IPAddress ipv6, IPAddress peerIpv4, IPAddress peerIpv6, byte[] peerMac) =>
        IpCommand.Run($"-n {ns} -batch -", $"""
            link set lo up
            addr add {ipv4}/24 dev {device}
            addr add {ipv6}/64 dev {device} nodad
            link set {device} up
            neigh replace {peerIpv4} lladdr {Mac(peerMac)} dev {device} nud permanent
            neigh replace {peerIpv6} lladdr {Mac(peerMac)} dev {device} nud permanent

            """);

    /// <summary>Sends each datagram from a UDP socket opened in the sender namespace, in order.</summary>
    public void SendUdp(IEnumerable<Datagram> datagrams) => Netns.Run(SenderNamespace, () =>
    {
        var sockets = new Dictionary<(AddressFamily, int), Socket>();
        try
        {
            foreach (var datagram in datagrams)
            {
                var family = datagram.Destination.AddressFamily;
                if (!sockets.TryGetValue((family, datagram.SourcePort), out var socket))
                {
                    socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
                    socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? SenderIpv4 : SenderIpv6, datagram.SourcePort));
                    sockets.Add((family, datagram.SourcePort), socket);
                }

                socket.SendTo(datagram.Payload, datagram.Destination);
            }
        }
        finally
        {
            foreach (var socket in sockets.Values)
            {
                socket.Dispose();
            }
        }
    });

    /// <summary>Transmits whole Ethernet frames on the sender's interface through an AF_PACKET socket: exactly these bytes reach the capture side.</summary>
    public unsafe void Inject(IEnumerable<byte[]> frames) => Netns.Run(SenderNamespace, () =>
    {
        var index = TestNative.InterfaceIndex(SenderInterface);
        var socket = TestNative.Socket(17 /* AF_PACKET */, 3 /* SOCK_RAW */, 0);
        if (index == 0 || socket < 0)
        {
            throw new InvalidOperationException($"Cannot open a raw socket on {SenderInterface}: errno {Marshal.GetLastPInvokeError()}.");
        }

        try
        {
            // struct sockaddr_ll: family, protocol (network order), ifindex; the rest zero.
            var address = stackalloc byte[20];
            new Span<byte>(address, 20).Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(address, 2), 17);
            BinaryPrimitives.WriteInt32LittleEndian(new Span<byte>(address + 4, 4), (int)index);
            foreach (var frame in frames)
            {
                new Span<byte>(address + 2, 2)[0] = frame[12];
                new Span<byte>(address + 2, 2)[1] = frame[13];
                fixed (byte* bytes = frame)
                {
                    if (TestNative.SendTo(socket, bytes, (nuint)frame.Length, 0, address, 20) != frame.Length)
                    {
                        throw new InvalidOperationException($"Injecting a frame on {SenderInterface} failed: errno {Marshal.GetLastPInvokeError()}.");
                    }
                }
            }
        }
        finally
        {
            TestNative.Close(socket);
        }
    });

    /// <summary>Opens something (a capture source) in the capture namespace.</summary>
    public T InCapture<T>(Func<T> open) => Netns.Run(CaptureNamespace, open);
}

/// <summary>A UDP datagram for the sender to send.</summary>
internal sealed record Datagram(int Index, IPEndPoint Destination, byte[] Payload, int SourcePort = 40000)
{
    public bool IsIpv4 => Destination.AddressFamily == AddressFamily.InterNetwork;

    /// <summary>The frame the capture side sees: Ethernet, IPv4 (20 bytes) or IPv6 (40), UDP (8), payload.</summary>
    public int FrameLength => 14 + (IsIpv4 ? 20 : 40) + 8 + Payload.Length;
}
