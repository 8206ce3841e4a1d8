using System.Net;

namespace VtapCollector.Capture.Tests.Udp;

/// <summary>The batched sender against the receiver, on 127.0.0.1.</summary>
public class UdpDatagramSenderTests
{
    [Fact]
    public void Batches_sent_with_sendmmsg_arrive_whole_and_in_order()
    {
        const int count = 500;
        using var receiver = UdpTest.Receiver();
        using var sender = new UdpDatagramSender(receiver.LocalEndPoint, batchSize: 16);
        var sent = new List<byte[]>();
        for (var i = 0; i < count; i++)
        {
            var payload = UdpTest.Payload(i, 20 + (i * 37 % 3000));
            sent.Add(payload);
            if (!sender.TryAdd(payload))
            {
                sender.Flush();
                Assert.True(sender.TryAdd(payload));
            }
        }

        sender.Flush();
        var received = UdpTest.Drain(receiver, count);

        Assert.Equal(count, sender.Datagrams);
        Assert.Equal(sent.Sum(payload => (long)payload.Length), sender.Bytes);
        Assert.True(sender.SendCalls <= (count / 16) + 2, $"{sender.SendCalls} sendmmsg calls for {count} datagrams in batches of 16");
        Assert.Equal(0, sender.Pending);
        Assert.Equal(sent.Count, received.Count);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(sent[i], received[i].Payload);
        }
    }

    [Fact]
    public void A_full_batch_refuses_more_until_flushed_and_oversize_payloads_are_argument_errors()
    {
        using var receiver = UdpTest.Receiver();
        using var sender = new UdpDatagramSender(receiver.LocalEndPoint, batchSize: 2);
        var payload = UdpTest.Payload(0, 10);

        Assert.True(sender.TryAdd(payload));
        Assert.True(sender.TryAdd(payload));
        Assert.False(sender.TryAdd(payload));
        Assert.Equal(2, sender.Pending);
        sender.Flush();
        Assert.Equal(0, sender.Pending);
        Assert.True(sender.TryAdd(payload));
        sender.Flush();
        Assert.Equal(3, UdpTest.Drain(receiver, 3).Count);

        Assert.Equal(UdpDatagramSender.MaxIpv4Payload, sender.MaxPayloadBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => sender.TryAdd(new byte[UdpDatagramSender.MaxIpv4Payload + 1]));
    }

    [Fact]
    public void The_largest_IPv4_datagram_is_sent_and_received_whole()
    {
        using var receiver = UdpTest.Receiver(maxDatagramBytes: 65535);
        using var sender = new UdpDatagramSender(new IPEndPoint(IPAddress.Loopback, receiver.LocalEndPoint.Port));
        var payload = UdpTest.Payload(5, UdpDatagramSender.MaxIpv4Payload);

        Assert.True(sender.TryAdd(payload));
        sender.Flush();
        var received = UdpTest.Drain(receiver, 1);

        Assert.Single(received);
        Assert.False(received[0].Meta.Truncated);
        Assert.Equal(payload, received[0].Payload);
    }
}
