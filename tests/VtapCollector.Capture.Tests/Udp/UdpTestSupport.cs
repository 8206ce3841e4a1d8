using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VtapCollector.Decoding;

namespace VtapCollector.Capture.Tests.Udp;

/// <summary>One received datagram: its metadata and a copy of its payload.</summary>
internal sealed record ReceivedCopy(ReceivedDatagram Meta, byte[] Payload);

/// <summary>Copies every datagram into a list (the list lives in a class; the handler struct only refers to it).</summary>
internal readonly struct CollectingHandler(List<ReceivedCopy> received) : IDatagramHandler
{
    public void OnDatagram(in ReceivedDatagram meta, ReadOnlySpan<byte> payload) => received.Add(new ReceivedCopy(meta, payload.ToArray()));
}

/// <summary>Counts datagrams and sums bytes in its own fields: passed by ref, so nothing is allocated.</summary>
internal struct CountingDatagramHandler : IDatagramHandler
{
    public long Count;
    public long Bytes;
    public long Checksum;
    public IpAddress LastDestination;
    public byte LastDestinationIpVersion;

    public void OnDatagram(in ReceivedDatagram meta, ReadOnlySpan<byte> payload)
    {
        Count++;
        Bytes += payload.Length;
        Checksum += meta.TimestampNanos ^ meta.SourcePort ^ (payload.Length > 0 ? payload[0] : 0);
        LastDestination = meta.Destination;
        LastDestinationIpVersion = meta.DestinationIpVersion;
    }
}

internal static class UdpTest
{
    public static readonly IPEndPoint LoopbackAnyPort = new(IPAddress.Loopback, 0);

    /// <summary>A receiver on 127.0.0.1 with a port the kernel picks.</summary>
    public static UdpTunnelReceiver Receiver(int batchSize = 64, int maxDatagramBytes = 9216, int receiveBuffer = UdpTunnelReceiverOptions.DefaultReceiveBufferBytes, int port = 0, bool reusePort = true) =>
        new(new UdpTunnelReceiverOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, port),
            BatchSize = batchSize,
            MaxDatagramBytes = maxDatagramBytes,
            ReceiveBufferBytes = receiveBuffer,
            ReusePort = reusePort,
        });

    /// <summary>A receiver on <paramref name="address"/> (a wildcard, or one address of this machine) with a port the kernel picks.</summary>
    public static UdpTunnelReceiver Receiver(IPAddress address) =>
        new(new UdpTunnelReceiverOptions { EndPoint = new IPEndPoint(address, 0) });

    /// <summary>A plain .NET UDP socket bound to 127.0.0.1 on a port the kernel picks.</summary>
    public static Socket Sender() => Sender(IPAddress.Loopback);

    /// <summary>A plain .NET UDP socket bound to <paramref name="address"/> (127.0.0.1 or ::1) on a port the kernel picks.</summary>
    public static Socket Sender(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        return socket;
    }

    /// <summary>A distinct payload per index: its index in the first 4 bytes, then a pattern, length varying with the index.</summary>
    public static byte[] Payload(int index, int length)
    {
        var payload = new byte[length];
        for (var i = 0; i < length; i++)
        {
            payload[i] = (byte)((i * 31) + index);
        }

        if (length >= 4)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(payload, index);
        }

        return payload;
    }

    /// <summary>
    /// Receives until <paramref name="expected"/> datagrams arrived or <paramref name="limit"/> passed
    /// (bounded in calls too); returns what arrived.
    /// </summary>
    public static List<ReceivedCopy> Drain(UdpTunnelReceiver receiver, int expected, TimeSpan? limit = null, List<int>? batchSizes = null)
    {
        var received = new List<ReceivedCopy>();
        var handler = new CollectingHandler(received);
        var deadline = Stopwatch.StartNew();
        var budget = limit ?? TimeSpan.FromSeconds(10);
        for (var calls = 0; received.Count < expected && deadline.Elapsed < budget && calls < 100_000; calls++)
        {
            var count = receiver.ReceiveBatch(ref handler, 100);
            if (count > 0)
            {
                batchSizes?.Add(count);
            }
        }

        return received;
    }

    /// <summary>Receives until a wait of <paramref name="quietMilliseconds"/> brings nothing (bounded).</summary>
    public static List<ReceivedCopy> DrainUntilQuiet(UdpTunnelReceiver receiver, int quietMilliseconds = 200)
    {
        var received = new List<ReceivedCopy>();
        var handler = new CollectingHandler(received);
        var deadline = Stopwatch.StartNew();
        for (var calls = 0; deadline.Elapsed < TimeSpan.FromSeconds(20) && calls < 100_000; calls++)
        {
            if (receiver.ReceiveBatch(ref handler, quietMilliseconds) == 0)
            {
                break;
            }
        }

        return received;
    }
}
