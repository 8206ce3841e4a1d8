using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VtapCollector.Capture;
using VtapCollector.Decoding;
using VtapCollector.Engine;
using VtapCollector.Engine.Ingress;
using VtapCollector.Engine.Sources;
using VtapCollector.Engine.Workers;
using VtapCollector.Export.Formats;
using VtapCollector.Export.Metrics;
using VtapCollector.Export.Sinks;
using VtapCollector.Flows;
using VtapCollector.Tests.Oracle;

namespace VtapCollector.Tests.Ipfix;

/// <summary>Keeps a copy of every record the engine exports, next to the sink under test.</summary>
internal sealed class RecordCopySink : IRecordSink
{
    public List<FlowRecord> Records { get; } = [];

    public string Name => "copy";

    public IRecordEncoder Encoder { get; } = new VtapJsonEncoder();

    public bool IsHealthy => true;

    public bool Write(in FlowRecord record, ReadOnlySpan<byte> encoded)
    {
        Records.Add(record);
        return true;
    }

    public void Flush()
    {
    }

    public void CollectMetrics(MetricSet metrics)
    {
    }

    public void Dispose()
    {
    }
}

/// <summary>Records to export, ports, captures of messages, and the external collectors' processes.</summary>
internal static class IpfixTestSupport
{
    /// <summary>A real capture of the repository: VXLAN-carried TCP, UDP and ICMP, IPv4 and IPv6.</summary>
    public static string Capture => ExternalTools.BundledSample;

    /// <summary>
    /// Replays <see cref="Capture"/> through the engine on packet time into <paramref name="sinks"/> plus a
    /// copy, and returns the copy: one worker and one export thread, the single-table order a replay writes.
    /// </summary>
    public static List<FlowRecord> Replay(params IRecordSink[] sinks)
    {
        var copy = new RecordCopySink();
        using var engine = new FlowEngine(new EngineSetup(
            new PipelineOptions { Workers = 1, ExportThreads = 1, DispatchOverflow = OverflowPolicy.Block, RecordOverflow = OverflowPolicy.Block },
            new FlowTableOptions { Capacity = 10_000, ActiveTimeout = TimeSpan.FromSeconds(60), IdleTimeout = TimeSpan.FromSeconds(60), TcpIdleTimeout = TimeSpan.FromSeconds(300), TcpClosingTimeout = TimeSpan.FromSeconds(5) },
            new DecoderOptions(),
            AllowList.Open,
            [.. sinks, copy],
            EngineClock.Packet));
        var ingress = engine.AddIngress("file");
        engine.Start();
        using var input = File.OpenRead(Capture);
        var error = CaptureFileSource.ReadAsync(new CaptureReader(input), ingress).GetAwaiter().GetResult();
        Assert.Equal(CaptureError.None, error);
        Assert.True(engine.Finish(EndReason.EndOfInput, Environment.TickCount64 + 60_000), "the engine did not finish within 60 s");
        Assert.Null(engine.Failure);
        Assert.NotEmpty(copy.Records);
        return copy.Records;
    }

    /// <summary>Hands <paramref name="records"/> to <paramref name="sink"/> as the exporter does: encoded by its encoder.</summary>
    public static void Write(IRecordSink sink, IEnumerable<FlowRecord> records)
    {
        var buffer = new byte[sink.Encoder.MaxRecordLength];
        foreach (var record in records)
        {
            var length = sink.Encoder.Encode(record, buffer);
            Assert.True(sink.Write(record, buffer.AsSpan(0, length)));
        }

        sink.Flush();
    }

    /// <summary>A loopback port nothing listens on now (the kernel's choice for a socket bound to port 0).</summary>
    public static int FreePort(SocketType type)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Dgram ? ProtocolType.Udp : ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Writes each message as one UDP datagram 127.0.0.1:40000 → 127.0.0.1:<paramref name="port"/> in a pcap.</summary>
    public static void WritePcap(string path, IEnumerable<byte[]> messages, int port)
    {
        using var file = File.Create(path);
        using var pcap = new PcapWriter(file, LinkType.Raw);
        var time = 1_700_000_000_000_000_000L;
        foreach (var message in messages)
        {
            var packet = new byte[28 + message.Length];
            packet[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
            packet[8] = 64;
            packet[9] = 17;
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), 0x7F000001);
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(16), 0x7F000001);
            uint sum = 0;
            for (var i = 0; i < 20; i += 2)
            {
                sum += BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(i));
            }

            sum = (sum & 0xFFFF) + (sum >> 16);
            sum = (sum & 0xFFFF) + (sum >> 16);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), (ushort)~sum);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(20), 40000);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(22), (ushort)port);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(24), (ushort)(8 + message.Length));
            message.CopyTo(packet, 28);
            pcap.Write(time, packet);
            time += 1_000_000;
        }
    }

    /// <summary>Splits a stream of IPFIX messages (a TCP session, an IPFIX file) at each header's length.</summary>
    public static List<byte[]> SplitMessages(ReadOnlySpan<byte> stream)
    {
        var messages = new List<byte[]>();
        while (stream.Length >= 16)
        {
            Assert.Equal(10, BinaryPrimitives.ReadUInt16BigEndian(stream));
            var length = BinaryPrimitives.ReadUInt16BigEndian(stream[2..]);
            Assert.True(length >= 16 && length <= stream.Length, $"a message of length {length} with {stream.Length} bytes left");
            messages.Add(stream[..length].ToArray());
            stream = stream[length..];
        }

        Assert.Equal(0, stream.Length);
        return messages;
    }

    /// <summary>Starts a long-running program with its output drained to buffers, killed with its tree by <see cref="Stop"/>.</summary>
    public static Process Start(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Asks <paramref name="process"/> to stop with SIGTERM (collectors write their files then), killing it after 10 s.</summary>
    public static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            kill?.WaitForExit(5_000);
            if (!process.WaitForExit(10_000))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5_000);
            }
        }

        process.Dispose();
    }

    /// <summary>Waits up to 10 s until a UDP or TCP socket is bound to 127.0.0.1:<paramref name="port"/> (the collector is listening).</summary>
    public static void WaitBound(int port, bool udp)
    {
        var table = udp ? "/proc/net/udp" : "/proc/net/tcp";
        var needle = $"0100007F:{port:X4}";
        var deadline = Environment.TickCount64 + 10_000;
        while (Environment.TickCount64 < deadline)
        {
            if (File.ReadAllText(table).Contains(needle, StringComparison.Ordinal))
            {
                return;
            }

            Thread.Sleep(50);
        }

        Assert.Fail($"nothing bound {(udp ? "UDP" : "TCP")} 127.0.0.1:{port} within 10 s");
    }

    /// <summary>Runs a tool to its end (60 s at most) and fails the test on a non-zero exit.</summary>
    public static string Run(string fileName, params string[] arguments)
    {
        var result = ExternalTools.Run(fileName, arguments, TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"{fileName} {string.Join(' ', arguments)} exited {result.ExitCode}: {result.StandardError}");
        return result.StandardOutput;
    }
}
