using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace VtapCollector.Export.Ipfix;

/// <summary>
/// IPFIX over TCP (RFC 7011 section 10.4) without ever stalling the exporter thread: finished messages
/// wait in a bounded ring of preallocated buffers, the socket is non-blocking, and a lost collector is
/// retried at most once per backoff interval (doubling up to <see cref="MaxBackoff"/>). Each new
/// connection is a new transport session, so it starts with the templates (section 10.4.2); the
/// sequence numbers go on across sessions, so a collector sees every record the ring had to drop as a gap.
/// </summary>
public sealed class TcpIpfixTransport : IIpfixTransport
{
    /// <summary>The longest wait between two connection attempts.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly IpfixCollectorAddress _collector;
    private readonly IpfixTemplateMessage _templates;
    private readonly long _minBackoffMs;
    private readonly TimeSpan _shutdownDrain;
    private readonly byte[][] _slots;
    private readonly int[] _lengths;
    private readonly int[] _records;
    private readonly byte[] _templateBuffer;
    private int _head;
    private int _count;
    private int _headOffset;
    private int _templateLength;
    private int _templateOffset;
    private Socket? _socket;
    private Socket? _connectingSocket;
    private Task? _connecting;
    private long _nextAttemptMs;
    private long _backoffMs;
    private uint _nextSequence;
    private bool _everConnected;
    private bool _disposed;

    /// <summary>Creates the transport; the first connection attempt is made by the first <see cref="Pump"/>.</summary>
    /// <param name="collector">The collector (a TCP address).</param>
    /// <param name="templates">The template message sent at the start of each connection.</param>
    /// <param name="maxMessageBytes">Size of a message buffer.</param>
    /// <param name="bufferMessages">Messages held while the collector is slow or away; beyond that new messages are dropped.</param>
    /// <param name="reconnectInterval">The least time between connection attempts.</param>
    /// <param name="shutdownDrain">How long <see cref="Dispose"/> keeps trying to deliver what is buffered.</param>
    public TcpIpfixTransport(IpfixCollectorAddress collector, IpfixTemplateMessage templates, int maxMessageBytes, int bufferMessages, TimeSpan reconnectInterval, TimeSpan shutdownDrain)
    {
        ArgumentNullException.ThrowIfNull(collector);
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferMessages, 1);
        _collector = collector;
        _templates = templates;
        _minBackoffMs = Math.Max(1, (long)reconnectInterval.TotalMilliseconds);
        _backoffMs = _minBackoffMs;
        _shutdownDrain = shutdownDrain;
        _slots = new byte[bufferMessages][];
        for (var i = 0; i < bufferMessages; i++)
        {
            _slots[i] = new byte[maxMessageBytes];
        }

        _lengths = new int[bufferMessages];
        _records = new int[bufferMessages];
        _templateBuffer = new byte[IpfixMessageWriter.HeaderLength + templates.TemplateSet.Length];
    }

    /// <inheritdoc/>
    public bool IsDatagram => false;

    /// <summary>True while connected and the buffer has room.</summary>
    public bool IsHealthy => _socket is not null && _count < _slots.Length;

    /// <summary>True while a connection is up.</summary>
    public bool IsConnected => _socket is not null;

    /// <summary>Messages waiting for the collector.</summary>
    public int BufferedMessages => _count;

    /// <inheritdoc/>
    public IpfixCollectorCounters Counters { get; } = new();

    /// <inheritdoc/>
    public void Send(ReadOnlySpan<byte> message, int records, bool templates)
    {
        _nextSequence = BinaryPrimitives.ReadUInt32BigEndian(message[8..]) + (uint)records;
        if (_count == _slots.Length)
        {
            Counters.DroppedBufferFull += records;
        }
        else
        {
            var slot = (_head + _count) % _slots.Length;
            message.CopyTo(_slots[slot]);
            _lengths[slot] = message.Length;
            _records[slot] = records;
            _count++;
        }

        Pump();
    }

    /// <inheritdoc/>
    public void Pump()
    {
        if (_socket is null && !TryConnect())
        {
            return;
        }

        // A collector that closed its end shows as readable with nothing to read; finding out now
        // keeps the next message from vanishing into a connection that is already gone.
        if (_socket!.Poll(0, SelectMode.SelectRead) && _socket.Available == 0)
        {
            Disconnect();
            return;
        }

        Drain();
    }

    /// <summary>Tries to deliver what is buffered for up to the shutdown drain time, then closes.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        var deadline = Environment.TickCount64 + (long)_shutdownDrain.TotalMilliseconds;
        while ((_count > 0 || _templateOffset < _templateLength) && Environment.TickCount64 < deadline)
        {
            Pump();
            if (_count > 0)
            {
                Thread.Sleep(10);
            }
        }

        for (var i = 0; i < _count; i++)
        {
            Counters.DroppedNotConnected += _records[(_head + i) % _slots.Length];
        }

        _count = 0;
        _disposed = true;
        _socket?.Dispose();
        _connectingSocket?.Dispose();
    }

    private bool TryConnect()
    {
        var now = Environment.TickCount64;
        if (_connecting is null)
        {
            if (now < _nextAttemptMs)
            {
                return false;
            }

            _nextAttemptMs = now + _backoffMs;
            _connectingSocket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _connecting = _collector.Address is { } address
                ? _connectingSocket.ConnectAsync(new IPEndPoint(address, _collector.Port))
                : _connectingSocket.ConnectAsync(_collector.Host, _collector.Port);
            if (!_connecting.IsCompleted)
            {
                return false;
            }
        }
        else if (!_connecting.IsCompleted)
        {
            return false;
        }

        var succeeded = _connecting.IsCompletedSuccessfully;
        _connecting = null;
        if (!succeeded)
        {
            _connectingSocket!.Dispose();
            _connectingSocket = null;
            _backoffMs = Math.Min(_backoffMs * 2, (long)MaxBackoff.TotalMilliseconds);
            return false;
        }

        _socket = _connectingSocket!;
        _connectingSocket = null;
        _socket.Blocking = false;
        _backoffMs = _minBackoffMs;
        if (_everConnected)
        {
            Counters.Reconnects++;
        }

        _everConnected = true;

        // The session starts with the templates; its sequence number is that of the first data
        // message to follow (RFC 7011 section 3.1: records sent before this message).
        var sequence = _count > 0 ? BinaryPrimitives.ReadUInt32BigEndian(_slots[_head].AsSpan(8)) : _nextSequence;
        var message = _templates.Build((uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds(), sequence);
        message.CopyTo(_templateBuffer);
        _templateLength = message.Length;
        _templateOffset = 0;
        return true;
    }

    private void Drain()
    {
        while (_socket is not null)
        {
            var templates = _templateOffset < _templateLength;
            if (!templates && _count == 0)
            {
                return;
            }

            var pending = templates
                ? _templateBuffer.AsSpan(_templateOffset, _templateLength - _templateOffset)
                : _slots[_head].AsSpan(_headOffset, _lengths[_head] - _headOffset);
            var sent = _socket.Send(pending, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            if (error != SocketError.Success)
            {
                Disconnect();
                return;
            }

            if (templates)
            {
                _templateOffset += sent;
                if (_templateOffset == _templateLength)
                {
                    Counters.Sent(_templateLength, 0, templates: true);
                }

                continue;
            }

            _headOffset += sent;
            if (_headOffset == _lengths[_head])
            {
                Counters.Sent(_lengths[_head], _records[_head], templates: false);
                Dequeue();
            }
        }
    }

    private void Disconnect()
    {
        // A message cut in the middle is lost to the collector (it drops the partial message with the
        // connection): count its records and go on with the next one on the new connection.
        if (_headOffset > 0 && _count > 0)
        {
            Counters.DroppedNotConnected += _records[_head];
            Dequeue();
        }

        _templateLength = 0;
        _templateOffset = 0;
        _socket?.Dispose();
        _socket = null;
        _nextAttemptMs = Environment.TickCount64 + _backoffMs;
    }

    private void Dequeue()
    {
        _head = (_head + 1) % _slots.Length;
        _count--;
        _headOffset = 0;
    }
}
