using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using VtapCollector.Export.Ipfix;
using VtapCollector.Flows;

namespace VtapCollector.Tests.Ipfix;

/// <summary>
/// IPFIX over TCP (RFC 7011 section 10.4) to a listener of the test: neither nfcapd nor nfacctd
/// listens on TCP, so the byte stream is cut into messages and handed to tshark as the oracle.
/// </summary>
public class IpfixTcpTests
{
    [Fact]
    public void Tcp_CollectorGoesAwayAndComesBack_GetsTheRestWithTheGapCounted()
    {
        var records = IpfixTestSupport.Replay();
        var port = IpfixTestSupport.FreePort(SocketType.Stream);
        var options = new IpfixSinkOptions
        {
            Collectors = [$"tcp://127.0.0.1:{port}"],
            MaxMessageBytes = 600,
            TcpBufferMessages = 3,
            ReconnectInterval = TimeSpan.FromMilliseconds(100),
            ShutdownDrain = TimeSpan.FromSeconds(5),
        };
        var first = new List<byte>();
        var second = new List<byte>();
        List<FlowRecord> batchA = records, batchB = [.. records, .. records, .. records], batchC = records;
        using var sink = new IpfixSink(options);
        var transport = (TcpIpfixTransport)sink.Exporters[0].Transport;

        using (var listener = Listen(port))
        {
            Until(() => { sink.Flush(); return listener.Pending(); }, "the sink connected");
            using var session = listener.AcceptSocket();

            // The connection completes on a thread-pool thread: until the sink sees it, messages wait in its small buffer.
            Until(() => { sink.Flush(); return transport.IsConnected; }, "the sink saw the connection");
            IpfixTestSupport.Write(sink, batchA);
            Until(() => { sink.Flush(); return transport.BufferedMessages == 0; }, "the first session took the first batch");
            Drain(session, first, transport.Counters.BytesSent);
        }

        Until(() => { sink.Flush(); return !transport.IsConnected; }, "the sink saw the collector go");
        Assert.Equal(0, transport.Counters.DroppedBufferFull);
        IpfixTestSupport.Write(sink, batchB);
        var dropped = transport.Counters.DroppedBufferFull;
        Assert.True(dropped > 0, "three buffered messages cannot hold three copies of the sample");

        // Nothing is sent while the collector is away: what the second session must carry starts here.
        var before = transport.Counters.BytesSent;
        using (var listener = Listen(port))
        {
            Until(() => { sink.Flush(); return listener.Pending(); }, "the sink reconnected");
            using var session = listener.AcceptSocket();
            Until(() => { sink.Flush(); return transport.BufferedMessages == 0; }, "the second session took what was buffered");
            IpfixTestSupport.Write(sink, batchC);
            Until(() => { sink.Flush(); return transport.BufferedMessages == 0; }, "the second session took the last batch");
            Drain(session, second, transport.Counters.BytesSent - before);
        }

        Assert.Equal(1, transport.Counters.Reconnects);
        var firstMessages = IpfixTestSupport.SplitMessages(first.ToArray());
        var secondMessages = IpfixTestSupport.SplitMessages(second.ToArray());

        // Each session starts with the templates, numbered as the data that follows.
        Assert.Equal(Sequence(firstMessages[1]), Sequence(firstMessages[0]));
        Assert.Equal(Sequence(secondMessages[1]), Sequence(secondMessages[0]));

        // The sequence numbers go on across sessions; the jump before the last batch is the records dropped.
        using var directory = new TempFolder();
        var pcap = Path.Combine(directory.Path, "tcp.pcap");
        IpfixTestSupport.WritePcap(pcap, [.. firstMessages, .. secondMessages], 4739);
        var flows = IpfixTsharkTests.Decode(pcap, 4739);
        var keptOfB = flows.Count - batchA.Count - batchC.Count;
        Assert.Equal(batchB.Count, keptOfB + dropped);
        IpfixTsharkTests.AssertSame([.. batchA, .. batchB.Take(keptOfB), .. batchC], flows, biflow: true);
        var lastOfB = secondMessages.Last(m => Sequence(m) < batchA.Count + keptOfB);
        var firstOfC = secondMessages[secondMessages.IndexOf(lastOfB) + 1];
        Assert.Equal((uint)(batchA.Count + batchB.Count), Sequence(firstOfC));
        Assert.DoesNotContain(IpfixTsharkTests.Expert(pcap, 4739), line => line.Contains("Error", StringComparison.OrdinalIgnoreCase) || line.Contains("Malformed", StringComparison.OrdinalIgnoreCase));
    }

    private static uint Sequence(byte[] message) => BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(8));

    private static TcpListener Listen(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        return listener;
    }

    /// <summary>Reads from the session until <paramref name="expected"/> bytes arrived (10 s at most).</summary>
    private static void Drain(Socket session, List<byte> into, long expected)
    {
        session.ReceiveTimeout = 10_000;
        var buffer = new byte[65536];
        while (into.Count < expected)
        {
            var read = session.Receive(buffer);
            Assert.True(read > 0, $"the session closed after {into.Count} of {expected} bytes");
            into.AddRange(buffer.AsSpan(0, read));
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms for at most 10 s.</summary>
    private static void Until(Func<bool> condition, string what)
    {
        var deadline = Environment.TickCount64 + 10_000;
        while (!condition())
        {
            Assert.True(Environment.TickCount64 < deadline, $"not within 10 s: {what}");
            Thread.Sleep(20);
        }
    }
}
