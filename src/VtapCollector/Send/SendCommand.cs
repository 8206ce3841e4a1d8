using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using VtapCollector.Capture;
using VtapCollector.Cli;
using VtapCollector.Decoding;

namespace VtapCollector.Send;

/// <summary>The <c>send</c> command's settings, from its command line.</summary>
internal sealed class SendOptions
{
    /// <summary>Highest --pps accepted.</summary>
    public const int MaxPacketsPerSecond = 100_000_000;

    /// <summary>Capture path.</summary>
    public string Input { get; private set; } = string.Empty;

    /// <summary>Where the datagrams go.</summary>
    public IPEndPoint Destination { get; private set; } = new(IPAddress.Loopback, DecoderOptions.VxlanIanaPort);

    /// <summary>Datagrams per second; 0 for as fast as possible.</summary>
    public int PacketsPerSecond { get; private set; }

    /// <summary>How many times the capture is sent.</summary>
    public int Loops { get; private set; } = 1;

    public bool Quiet { get; private set; }

    public static SendOptions Parse(string[] args)
    {
        var options = new SendOptions();
        string? input = null;
        string? destination = null;
        var reader = new ArgumentReader(args, 1);
        while (reader.TryNext(out var argument))
        {
            switch (argument)
            {
                case "--to":
                    destination = reader.Value(argument);
                    break;
                case "--pps":
                    options.PacketsPerSecond = reader.Int(argument, 1, MaxPacketsPerSecond);
                    break;
                case "--loop":
                    options.Loops = reader.Int(argument, 1, 1_000_000);
                    break;
                case "--quiet" or "-q":
                    options.Quiet = true;
                    break;
                default:
                    if (argument.StartsWith('-'))
                    {
                        throw new UsageException($"Unknown option '{argument}' for send; run 'vtap-collector --help' for the options.");
                    }

                    if (input is not null)
                    {
                        throw new UsageException($"send reads one capture, but both '{input}' and '{argument}' were given.");
                    }

                    input = argument;
                    break;
            }
        }

        options.Input = input ?? throw new UsageException("send needs a capture file: vtap-collector send <capture> --to HOST:PORT.");
        options.Destination = destination is null
            ? throw new UsageException("send needs a destination: add --to HOST:PORT, for example --to 127.0.0.1:4789.")
            : ParseDestination(destination);
        return options;
    }

    /// <summary>
    /// HOST:PORT, where HOST is an IPv4 address, a bracketed IPv6 address ([::1]:4789) or a host name
    /// (resolved once; IPv4 preferred).
    /// </summary>
    public static IPEndPoint ParseDestination(string text)
    {
        var separator = text.LastIndexOf(':');
        var host = separator > 0 ? text[..separator] : string.Empty;
        var portText = separator > 0 ? text[(separator + 1)..] : string.Empty;
        if (host.Length == 0 || (host.Contains(':') && !(host.StartsWith('[') && host.EndsWith(']')))
            || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new UsageException($"Option --to takes HOST:PORT with a port from 1 to 65535 (for example 127.0.0.1:4789 or [::1]:4789); '{text}' is not one.");
        }

        // An address literal goes through the daemon's own strict parser: 1.2.3:4789 is a typo, not 1.2.0.3.
        if (Capture.Udp.EndPointText.TryParse(text, out var literal))
        {
            return literal!;
        }

        var bare = host.Trim('[', ']');
        if (host.StartsWith('[') || bare.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            throw new UsageException($"Option --to takes HOST:PORT with an IPv4 address of four numbers (127.0.0.1:4789), a bracketed IPv6 address ([::1]:4789) or a host name; '{text}' is none of them.");
        }

        IPAddress[] addresses;
        try
        {
            addresses = Dns.GetHostAddresses(bare);
        }
        catch (Exception error) when (error is SocketException or ArgumentException)
        {
            addresses = [];
        }

        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6)
            ?? throw new UsageException($"Option --to names the host '{bare}', which does not resolve to an IP address.");
        return new IPEndPoint(chosen, port);
    }
}

/// <summary>
/// <c>vtap-collector send</c>: the demo and load generator. Reads a capture, and for every frame
/// that carries a VXLAN or Geneve tunnel sends the tunnel payload (the bytes after the outer UDP
/// header: tunnel header and inner frame) as one UDP datagram to the destination, as a cloud mirror
/// would. Batched with sendmmsg(2) (<see cref="UdpDatagramSender"/>), optionally paced by a token
/// bucket, optionally repeated.
/// </summary>
internal static class SendCommand
{
    public static async Task<int> RunAsync(SendOptions options, TextWriter log)
    {
        if (!File.Exists(options.Input))
        {
            await log.WriteLineAsync($"vtap-collector: cannot read '{options.Input}': no such file.").ConfigureAwait(false);
            return 1;
        }

        SendState state;
        try
        {
            state = new SendState(options.Destination, options.PacketsPerSecond);
        }
        catch (UdpSocketException error)
        {
            await log.WriteLineAsync($"vtap-collector: {error.Message}").ConfigureAwait(false);
            return 1;
        }

        using (state)
        {
            var stopwatch = Stopwatch.StartNew();
            var decoder = new PacketDecoder();
            try
            {
                for (var loop = 0; loop < options.Loops; loop++)
                {
                    if (loop > 0 && state.HasRecording)
                    {
                        state.ReplayRecording();
                        continue;
                    }

                    // A repeated capture is kept in memory after its first pass (when it fits), so
                    // later passes neither map, parse nor decode it again.
                    state.Recording = loop == 0 && options.Loops > 1;
                    var stream = new FileStream(options.Input, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
                    await using (stream.ConfigureAwait(false))
                    {
                        var reader = new CaptureReader(stream);
                        var error = await reader.ReadAllAsync(new SendHandler(decoder, state)).ConfigureAwait(false);
                        if (error != CaptureError.None)
                        {
                            state.Flush();
                            await log.WriteLineAsync($"vtap-collector: '{options.Input}': {error.Describe(reader)}").ConfigureAwait(false);
                            return 1;
                        }
                    }

                    state.Recording = false;
                }

                state.Flush();
            }
            catch (UdpSocketException error)
            {
                await log.WriteLineAsync($"vtap-collector: {error.Message}").ConfigureAwait(false);
                return 1;
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                await log.WriteLineAsync($"vtap-collector: cannot read '{options.Input}': {error.Message}").ConfigureAwait(false);
                return 1;
            }

            stopwatch.Stop();
            if (!options.Quiet)
            {
                await log.WriteAsync(SendSummary.Format(options, state, stopwatch.Elapsed)).ConfigureAwait(false);
            }
        }

        return 0;
    }
}

/// <summary>What a send run has done so far, and the sender and pacer it goes through.</summary>
internal sealed class SendState : IDisposable
{
    private readonly UdpDatagramSender _sender;
    private readonly int _batchLimit;
    private TokenBucket _pacer;

    public SendState(IPEndPoint destination, int packetsPerSecond)
    {
        // Paced, a batch holds about 10 ms of datagrams, so pacing stays smooth at low rates.
        _batchLimit = packetsPerSecond == 0 ? 64 : Math.Clamp(packetsPerSecond / 100, 1, 64);
        _sender = new UdpDatagramSender(destination, _batchLimit);
        _pacer = new TokenBucket(packetsPerSecond, _batchLimit);
    }

    /// <summary>Most payload bytes a repeated capture keeps in memory; a larger one is read again for every pass.</summary>
    public const int MaxRecordingBytes = 256 * 1024 * 1024;

    private byte[] _recording = [];
    private readonly List<int> _recordedLengths = [];
    private int _recordedBytes;
    private bool _recordingOverflowed;
    private (long Frames, long Vxlan, long Geneve, long NotTunnelled, long TooLarge) _recordedPass;

    /// <summary>While true, every payload added is also kept, to replay later passes from memory.</summary>
    public bool Recording
    {
        get;
        set
        {
            if (field && !value)
            {
                _recordedPass = (Frames, Vxlan, Geneve, NotTunnelled, TooLarge);
            }

            field = value;
        }
    }

    /// <summary>True when the first pass was kept whole in memory.</summary>
    public bool HasRecording => !Recording && !_recordingOverflowed && _recordedPass.Frames > 0;

    public long Frames { get; set; }

    public long Vxlan { get; set; }

    public long Geneve { get; set; }

    public long NotTunnelled { get; set; }

    public long TooLarge { get; set; }

    public long Datagrams => _sender.Datagrams;

    public long Bytes => _sender.Bytes;

    public long SendCalls => _sender.SendCalls;

    public long Waits => _sender.Waits;

    public void Add(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > _sender.MaxPayloadBytes)
        {
            TooLarge++;
            return;
        }

        if (Recording)
        {
            Record(payload);
        }

        Send(payload);
    }

    /// <summary>Sends the pass kept by <see cref="Recording"/> again, counting it as a pass of the capture.</summary>
    public void ReplayRecording()
    {
        var offset = 0;
        foreach (var length in _recordedLengths)
        {
            Send(_recording.AsSpan(offset, length));
            offset += length;
        }

        Frames += _recordedPass.Frames;
        Vxlan += _recordedPass.Vxlan;
        Geneve += _recordedPass.Geneve;
        NotTunnelled += _recordedPass.NotTunnelled;
        TooLarge += _recordedPass.TooLarge;
    }

    private void Send(ReadOnlySpan<byte> payload)
    {
        if (_sender.Pending >= _batchLimit || !_sender.TryAdd(payload))
        {
            Flush();
            _sender.TryAdd(payload);
        }
    }

    private void Record(ReadOnlySpan<byte> payload)
    {
        if (_recordingOverflowed)
        {
            return;
        }

        if ((long)_recordedBytes + payload.Length > MaxRecordingBytes)
        {
            _recordingOverflowed = true;
            _recording = [];
            _recordedLengths.Clear();
            return;
        }

        if (_recordedBytes + payload.Length > _recording.Length)
        {
            Array.Resize(ref _recording, (int)Math.Min(MaxRecordingBytes, Math.Max(64 * 1024, Math.Max(2L * _recording.Length, _recordedBytes + payload.Length))));
        }

        payload.CopyTo(_recording.AsSpan(_recordedBytes));
        _recordedBytes += payload.Length;
        _recordedLengths.Add(payload.Length);
    }

    public void Flush()
    {
        if (_sender.Pending > 0)
        {
            _pacer.Take(_sender.Pending);
            _sender.Flush();
        }
    }

    public void Dispose() => _sender.Dispose();
}

/// <summary>Decodes each frame and hands the outer UDP payload of every tunnelled one to the state.</summary>
internal readonly struct SendHandler(PacketDecoder decoder, SendState state) : IPacketHandler
{
    public void OnPacket(in CapturedPacket packet, ReadOnlySpan<byte> data)
    {
        state.Frames++;

        // The decoder judges whether the frame carries a tunnel (the status may still name a
        // problem inside it: the payload is what a mirror sends either way).
        decoder.Decode(packet.LinkType, data, out var decoded);
        if (decoded.Tunnel == TunnelKind.None || !TunnelPayload.TryLocate(packet.LinkType, data, out var offset, out var length))
        {
            state.NotTunnelled++;
            return;
        }

        // Counted by the outermost tunnel (the one sent), named by its UDP destination port.
        if (BinaryPrimitives.ReadUInt16BigEndian(data[(offset - 6)..]) == DecoderOptions.GeneveIanaPort)
        {
            state.Geneve++;
        }
        else
        {
            state.Vxlan++;
        }

        state.Add(data.Slice(offset, length));
    }
}

/// <summary>
/// Finds a frame's outermost UDP payload with the decoder's own header readers: link layer
/// (Ethernet with VLAN tags, Linux cooked, BSD loopback, raw IP), IPv4 or IPv6 (with extension
/// headers), UDP. The payload ends where the UDP length says, or at the end of the captured IP
/// packet when the copy is shorter (snapped) or the length is 0 (GSO).
/// </summary>
internal static class TunnelPayload
{
    private const int UdpHeaderLength = TransportHeader.UdpLength;

    public static bool TryLocate(LinkType linkType, ReadOnlySpan<byte> frame, out int offset, out int length)
    {
        offset = 0;
        length = 0;
        ushort etherType;
        int ipStart;
        switch (linkType)
        {
            case LinkType.Ethernet:
            case LinkType.LinuxSll:
            case LinkType.LinuxSll2:
                EthernetHeader link;
                var status = linkType switch
                {
                    LinkType.Ethernet => EthernetHeader.TryRead(frame, 4, out link),
                    LinkType.LinuxSll => LinuxCookedHeader.TryReadSll(frame, 4, out link),
                    _ => LinuxCookedHeader.TryReadSll2(frame, 4, out link),
                };
                if (status != DecodeStatus.Ok)
                {
                    return false;
                }

                etherType = link.EtherType;
                ipStart = link.HeaderLength;
                break;
            case LinkType.Ipv4:
                (etherType, ipStart) = (EtherTypes.Ipv4, 0);
                break;
            case LinkType.Ipv6:
                (etherType, ipStart) = (EtherTypes.Ipv6, 0);
                break;
            case LinkType.Raw:
                etherType = frame.IsEmpty ? (ushort)0 : (frame[0] >> 4) switch { 4 => EtherTypes.Ipv4, 6 => EtherTypes.Ipv6, _ => (ushort)0 };
                ipStart = 0;
                break;
            case LinkType.Null when frame.Length >= 4:
                var family = BinaryPrimitives.ReadUInt32LittleEndian(frame);
                family = family > 0xFFFF ? BinaryPrimitives.ReadUInt32BigEndian(frame) : family;
                etherType = family switch { 2 => EtherTypes.Ipv4, 10 or 24 or 28 or 30 => EtherTypes.Ipv6, _ => 0 };
                ipStart = 4;
                break;
            default:
                return false;
        }

        var ip = frame[ipStart..];
        int headerLength;
        int capturedEnd;
        byte protocol;
        if (etherType == EtherTypes.Ipv4 && Ipv4Header.TryRead(ip, out var v4) == DecodeStatus.Ok)
        {
            (headerLength, capturedEnd, protocol) = (v4.HeaderLength, v4.CapturedEnd, v4.Protocol);
        }
        else if (etherType == EtherTypes.Ipv6 && Ipv6Header.TryRead(ip, 8, out var v6) == DecodeStatus.Ok)
        {
            (headerLength, capturedEnd, protocol) = (v6.HeaderLength, v6.CapturedEnd, v6.Protocol);
        }
        else
        {
            return false;
        }

        if (protocol != IpProtocol.Udp || capturedEnd - headerLength < UdpHeaderLength)
        {
            return false;
        }

        var udp = ip[headerLength..capturedEnd];
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        var end = udpLength >= UdpHeaderLength && udpLength <= udp.Length ? udpLength : udp.Length;
        offset = ipStart + headerLength + UdpHeaderLength;
        length = end - UdpHeaderLength;
        return true;
    }
}

/// <summary>
/// Paces sending: <c>rate</c> tokens a second accrue on the Stopwatch clock up to <c>capacity</c>
/// (the largest burst); sending n datagrams takes n tokens, waiting for them if need be. A rate of
/// 0 never waits.
/// </summary>
internal struct TokenBucket
{
    private readonly double _rate;
    private readonly double _capacity;
    private double _tokens;
    private long _last;

    public TokenBucket(int rate, int capacity)
    {
        _rate = rate;
        _capacity = Math.Max(capacity, 1);
        _tokens = _capacity;
        _last = Stopwatch.GetTimestamp();
    }

    public void Take(int count)
    {
        if (_rate <= 0)
        {
            return;
        }

        Refill();
        if (_tokens < count)
        {
            var seconds = (count - _tokens) / _rate;
            var until = _last + (long)(seconds * Stopwatch.Frequency);

            // Sleep through most of the wait (a millisecond early, for the scheduler's slack), then
            // spin to the moment; each turn of the spin makes progress on the clock, so it ends.
            var sleep = (int)((seconds * 1000) - 1);
            if (sleep > 0)
            {
                Thread.Sleep(sleep);
            }

            var spinner = default(SpinWait);
            while (Stopwatch.GetTimestamp() < until)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }

            Refill();
        }

        _tokens -= count;
    }

    private void Refill()
    {
        var now = Stopwatch.GetTimestamp();
        _tokens = Math.Min(_capacity, _tokens + ((now - _last) * _rate / Stopwatch.Frequency));
        _last = now;
    }
}

/// <summary>The end-of-send summary on stderr.</summary>
internal static class SendSummary
{
    public static string Format(SendOptions options, SendState state, TimeSpan elapsed)
    {
        var c = CultureInfo.InvariantCulture;
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        var pacing = options.PacketsPerSecond > 0 ? string.Create(c, $", paced at {options.PacketsPerSecond:N0}/s") : string.Empty;
        var text = new System.Text.StringBuilder();
        text.Append(c, $"send of {options.Input} to {options.Destination} ({options.Loops:N0} {(options.Loops == 1 ? "pass" : "passes")}{pacing}){Environment.NewLine}");
        text.Append(c, $"  frames          {state.Frames,12:N0}{Environment.NewLine}");
        text.Append(c, $"  tunnelled       {state.Vxlan + state.Geneve,12:N0}   (VXLAN {state.Vxlan:N0}, Geneve {state.Geneve:N0}){Environment.NewLine}");
        text.Append(c, $"  not tunnelled   {state.NotTunnelled,12:N0}{Environment.NewLine}");
        if (state.TooLarge > 0)
        {
            text.Append(c, $"  too large for one datagram {state.TooLarge,12:N0}{Environment.NewLine}");
        }

        text.Append(c, $"  datagrams sent  {state.Datagrams,12:N0}   ({state.Bytes:N0} bytes of payload, {state.SendCalls:N0} sendmmsg calls, {state.Waits:N0} waits for buffer room){Environment.NewLine}");
        text.Append(c, $"  elapsed         {elapsed.TotalSeconds,12:F3} s ({state.Datagrams / seconds:N0} datagrams/s, {state.Bytes * 8 / seconds / 1e6:N1} Mbit/s){Environment.NewLine}");
        return text.ToString();
    }
}
