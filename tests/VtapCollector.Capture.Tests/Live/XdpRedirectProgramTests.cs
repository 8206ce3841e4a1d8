using VtapCollector.Capture.Live.Xdp;

namespace VtapCollector.Capture.Tests.Live;

/// <summary>
/// The XDP program's verdicts as the kernel computes them (BPF_PROG_TEST_RUN on the loaded
/// program: nothing is sent, a redirect is only reported): 4 (XDP_REDIRECT) for a tunnel frame,
/// 2 (XDP_PASS) for everything else. The sources are opened on a veth pair so that queue 0 has a
/// socket in the map; runs as root.
/// </summary>
public sealed class XdpRedirectProgramTests
{
    private const int Redirect = XdpRedirectProgram.XdpRedirect;
    private const int Pass = XdpRedirectProgram.XdpPass;

    private static IReadOnlyList<XdpSource> Open(VethPair pair, IList<ushort>? ports = null, bool gre = false) =>
        pair.InCapture(() => XdpSource.Open(new XdpSourceOptions
        {
            Interface = pair.CaptureInterface,
            Ports = ports ?? [4789, 8472, 6081],
            RingSize = 64,
            RedirectGre = gre,
            AttachMode = XdpAttachMode.Native,
        }));

    [Fact]
    public void The_filter_matrix_frames_are_redirected_exactly_when_the_AF_PACKET_filter_accepts_them()
    {
        using var pair = VethPair.Create();
        var sockets = Open(pair);
        try
        {
            foreach (var frame in InjectedFrames.FilterMatrix())
            {
                Assert.True((frame.Accepted ? Redirect : Pass) == sockets[0].Attachment.TestRun(frame.Bytes), frame.Name);
            }
        }
        finally
        {
            Dispose(sockets);
        }
    }

    [Fact]
    public void IPv4_header_lengths_from_5_to_15_words_find_the_port_and_one_below_5_is_passed()
    {
        using var pair = VethPair.Create();
        var sockets = Open(pair);
        try
        {
            for (var words = 5; words <= 15; words++)
            {
                var frame = InjectedFrames.Frame([], 0x0800, InjectedFrames.V4(17, 0, new byte[(words - 5) * 4], InjectedFrames.UdpSegment(40001, 4789, 64, 1)));
                Assert.True(sockets[0].Attachment.TestRun(frame) == Redirect, $"IHL {words}");
            }

            // IHL 4 claims a header shorter than IPv4's fixed 20 bytes: malformed, left to the stack.
            var malformed = InjectedFrames.Frame([], 0x0800, InjectedFrames.V4(17, 0, [], InjectedFrames.UdpSegment(40001, 4789, 64, 1)));
            malformed[14] = 0x44;
            Assert.Equal(Pass, sockets[0].Attachment.TestRun(malformed));
        }
        finally
        {
            Dispose(sockets);
        }
    }

    [Fact]
    public void Every_prefix_of_a_tunnel_frame_that_ends_before_its_UDP_header_is_passed()
    {
        using var pair = VethPair.Create();
        var sockets = Open(pair);
        try
        {
            var v4 = InjectedFrames.Frame([(0x8100, 100)], 0x0800, InjectedFrames.V4(17, 0, [1, 1, 1, 1], InjectedFrames.UdpSegment(40001, 4789, 32, 1)));
            var v6 = InjectedFrames.Frame([(0x88a8, 200), (0x8100, 300)], 0x86dd, InjectedFrames.V6(17, InjectedFrames.UdpSegment(40001, 6081, 32, 2)));
            foreach (var (frame, udpEnd) in new[] { (v4, 14 + 4 + 24 + 8), (v6, 14 + 8 + 40 + 8) })
            {
                // The kernel's test run takes at least an Ethernet header.
                for (var length = 14; length <= frame.Length; length++)
                {
                    Assert.True((length >= udpEnd ? Redirect : Pass) == sockets[0].Attachment.TestRun(frame.AsSpan(0, length)), $"{length} of {frame.Length} bytes");
                }
            }
        }
        finally
        {
            Dispose(sockets);
        }
    }

    [Fact]
    public void Configured_ports_replace_the_default_ones()
    {
        using var pair = VethPair.Create();
        var sockets = Open(pair, ports: [5000, 5001]);
        try
        {
            Assert.Equal(Redirect, sockets[0].Attachment.TestRun(InjectedFrames.Frame([], 0x0800, InjectedFrames.V4(17, 0, [], InjectedFrames.UdpSegment(40001, 5001, 64, 1)))));
            Assert.Equal(Redirect, sockets[0].Attachment.TestRun(InjectedFrames.Frame([], 0x86dd, InjectedFrames.V6(17, InjectedFrames.UdpSegment(40001, 5000, 64, 1)))));
            Assert.Equal(Pass, sockets[0].Attachment.TestRun(InjectedFrames.Frame([], 0x0800, InjectedFrames.V4(17, 0, [], InjectedFrames.UdpSegment(40001, 4789, 64, 1)))));
        }
        finally
        {
            Dispose(sockets);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GRE_is_redirected_only_when_asked_for_as_the_AF_PACKET_filter_takes_it(bool gre)
    {
        using var pair = VethPair.Create();
        var sockets = Open(pair, gre: gre);
        try
        {
            foreach (var frame in InjectedFrames.GreMatrix(gre))
            {
                Assert.True((frame.Accepted ? Redirect : Pass) == sockets[0].Attachment.TestRun(frame.Bytes), frame.Name);
            }
        }
        finally
        {
            Dispose(sockets);
        }
    }

    private static void Dispose(IReadOnlyList<XdpSource> sockets)
    {
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }
}
