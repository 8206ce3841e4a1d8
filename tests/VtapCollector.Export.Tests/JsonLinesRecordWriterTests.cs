using System.Text;
using System.Text.Json;
using VtapCollector.Decoding;
using VtapCollector.Flows;

namespace VtapCollector.Export.Tests;

public class JsonLinesRecordWriterTests
{
    [Fact]
    public void Write_ThreeRecords_OneLinePerRecordAfterFlush()
    {
        using var stream = new CountingStream();
        using var writer = new JsonLinesRecordWriter(stream, ownsStream: false);
        writer.Write(Records.Tcp() with { Sequence = 0, Type = FlowRecordType.Update, EndReason = EndReason.None });
        writer.Write(Records.Tcp() with { Sequence = 1, Type = FlowRecordType.Update, EndReason = EndReason.None });
        writer.Write(Records.Tcp() with { Sequence = 2 });
        writer.Flush();

        var lines = Lines(stream);
        Assert.Equal(3, lines.Count);
        Assert.Equal([0U, 1U, 2U], lines.Select(line => Parse(line).GetProperty("seq").GetUInt32()));
        Assert.Equal(["update", "update", "end"], lines.Select(line => Parse(line).GetProperty("type").GetString()));
        Assert.Equal(Records.Encode(Records.Tcp() with { Sequence = 2 }), lines[2]);
    }

    [Fact]
    public void Write_BuffersUntilFlushWhichFlushesTheStream()
    {
        using var stream = new CountingStream();
        using var writer = new JsonLinesRecordWriter(stream, ownsStream: false);
        writer.Write(Records.Tcp());
        writer.Write(Records.Tcp());

        Assert.Equal(0, stream.Length);
        Assert.Equal(0, stream.Flushes);

        writer.Flush();
        Assert.Equal(writer.BytesWritten, stream.Length);
        Assert.Equal(1, stream.Flushes);
        Assert.Equal(1, stream.Writes);

        writer.Flush();
        Assert.Equal(2, stream.Flushes);
        Assert.Equal(1, stream.Writes);
    }

    [Fact]
    public void Write_CountsUpdateAndEndRecordsAndBytes()
    {
        using var stream = new CountingStream();
        using var writer = new JsonLinesRecordWriter(stream, ownsStream: false);
        var update = Records.Tcp() with { Type = FlowRecordType.Update, EndReason = EndReason.None };
        for (var i = 0; i < 5; i++)
        {
            writer.Write(update);
        }

        writer.Write(Records.Tcp());
        writer.Write(Records.Icmpv6Update());
        writer.Flush();

        Assert.Equal(6, writer.UpdateRecords);
        Assert.Equal(1, writer.EndRecords);
        Assert.Equal(stream.Length, writer.BytesWritten);
        Assert.Equal(7, Lines(stream).Count);
    }

    [Fact]
    public void Write_MoreThanTheBuffer_DrainsWholeLinesInOrder()
    {
        using var stream = new CountingStream();
        using var writer = new JsonLinesRecordWriter(stream, ownsStream: false);
        const int Count = 5_000; // several megabytes: the 256 KiB buffer drains many times
        for (var i = 0; i < Count; i++)
        {
            writer.Write(Records.Largest() with { Sequence = (uint)i });
        }

        Assert.True(stream.Length > 0, "a full buffer goes to the stream before Flush");
        Assert.True(stream.Writes > 1);
        Assert.Equal(0, stream.Flushes);
        writer.Flush();

        var lines = Lines(stream);
        Assert.Equal(Count, lines.Count);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal((uint)i, Parse(lines[i]).GetProperty("seq").GetUInt32());
        }

        Assert.Equal(stream.Length, writer.BytesWritten);
    }

    [Fact]
    public void Write_UsesTheCommunityIdSeed()
    {
        using var stream = new MemoryStream();
        using (var writer = new JsonLinesRecordWriter(stream, ownsStream: false, communityIdSeed: 1))
        {
            writer.Write(Records.Tcp());
        }

        Assert.Equal("1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=", Parse(Lines(stream).Single()).GetProperty("community_id").GetString());
    }

    [Fact]
    public void Dispose_NotOwningTheStream_FlushesAndLeavesItOpen()
    {
        using var stream = new CountingStream();
        var writer = new JsonLinesRecordWriter(stream, ownsStream: false);
        writer.Write(Records.Tcp());
        writer.Dispose();

        Assert.Single(Lines(stream));
        Assert.True(stream.CanWrite);
        Assert.False(stream.Disposed);
    }

    [Fact]
    public void Dispose_OwningTheStream_FlushesAndDisposesIt()
    {
        var stream = new CountingStream();
        var writer = new JsonLinesRecordWriter(stream, ownsStream: true);
        writer.Write(Records.Tcp());
        writer.Dispose();

        Assert.True(stream.Disposed);
        Assert.Single(Lines(stream));
    }

    [Fact]
    public void Dispose_Twice_IsHarmless()
    {
        var path = Path.GetTempFileName();
        try
        {
            var writer = new JsonLinesRecordWriter(new FileStream(path, FileMode.Create, FileAccess.Write), ownsStream: true);
            writer.Write(Records.Tcp());
            writer.Dispose();
            writer.Dispose();

            Assert.Single(File.ReadAllLines(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Write_RecordsOfARealFlowTable_AreOneParsableLineEach()
    {
        using var stream = new MemoryStream();
        using var writer = new JsonLinesRecordWriter(stream, ownsStream: false);
        var table = new FlowTable(new FlowTableOptions { Capacity = 64 }, writer);
        var origin = 1_700_000_000L * 1_000_000_000L;
        table.Update(Packet(IpProtocol.Tcp, "10.0.0.20", 40000, "10.0.0.10", 443, TcpFlagBits.Syn), origin);
        table.Update(Packet(IpProtocol.Tcp, "10.0.0.10", 443, "10.0.0.20", 40000, TcpFlagBits.Syn | TcpFlagBits.Ack), origin + 1_000_000);
        table.Update(Packet(IpProtocol.Tcp, "10.0.0.20", 40000, "10.0.0.10", 443, TcpFlagBits.Ack), origin + 2_000_000);
        table.Expire(origin + (60 * 1_000_000_000L));
        table.Update(Packet(IpProtocol.Tcp, "10.0.0.20", 40000, "10.0.0.10", 443, TcpFlagBits.Fin | TcpFlagBits.Ack), origin + (61 * 1_000_000_000L));
        table.Update(Packet(IpProtocol.Tcp, "10.0.0.10", 443, "10.0.0.20", 40000, TcpFlagBits.Fin | TcpFlagBits.Ack), origin + (61 * 1_000_000_000L) + 1_000);
        table.Update(Packet(IpProtocol.Udp, "10.0.0.20", 5353, "10.0.0.10", 53, 0), origin + (62 * 1_000_000_000L));
        table.Expire(origin + (70 * 1_000_000_000L));
        table.FlushAll(EndReason.EndOfInput);
        writer.Flush();

        var records = Lines(stream).Select(Parse).ToList();
        Assert.Equal(3, records.Count);
        Assert.Equal((2L, 1L), (writer.EndRecords, writer.UpdateRecords));

        var tcp = records.Where(r => r.GetProperty("protocol").GetInt32() == 6).ToList();
        Assert.Equal(["update", "end"], tcp.Select(r => r.GetProperty("type").GetString()));
        Assert.Equal("fin", tcp[1].GetProperty("end_reason").GetString());
        Assert.Equal("SF", tcp[1].GetProperty("conn_state").GetString());
        Assert.Equal(tcp[0].GetProperty("flow_id").GetString(), tcp[1].GetProperty("flow_id").GetString());
        Assert.StartsWith("4096-", tcp[0].GetProperty("flow_id").GetString(), StringComparison.Ordinal);
        Assert.Equal("10.0.0.20", tcp[0].GetProperty("src_ip").GetString());
        Assert.Equal(3UL, tcp.Aggregate(0UL, (sum, r) => sum + r.GetProperty("packets_src_to_dst").GetUInt64()));
        Assert.Equal(2UL, tcp.Aggregate(0UL, (sum, r) => sum + r.GetProperty("packets_dst_to_src").GetUInt64()));

        var udp = Assert.Single(records, r => r.GetProperty("protocol").GetInt32() == 17);
        Assert.Equal(("end", "end_of_input", "S0"), (udp.GetProperty("type").GetString(), udp.GetProperty("end_reason").GetString(), udp.GetProperty("conn_state").GetString()));
    }

    private static DecodedPacket Packet(byte protocol, string source, ushort sourcePort, string destination, ushort destinationPort, int flags) => new()
    {
        Tunnel = TunnelKind.Vxlan,
        TunnelDepth = 1,
        Vni = 4096,
        TunnelIpVersion = 4,
        TunnelSource = IpAddress.Parse("192.0.2.1"),
        TunnelDestination = IpAddress.Parse("192.0.2.2"),
        IpVersion = 4,
        Protocol = protocol,
        TcpFlags = (byte)flags,
        Source = IpAddress.Parse(source),
        Destination = IpAddress.Parse(destination),
        SourcePort = sourcePort,
        DestinationPort = destinationPort,
        IpBytes = 60,
    };

    private static List<string> Lines(MemoryStream stream)
    {
        var text = Encoding.UTF8.GetString(stream.ToArray());
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "the output ends with a whole line");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    private static JsonElement Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    /// <summary>A memory stream that counts writes and flushes and remembers being disposed.</summary>
    private sealed class CountingStream : MemoryStream
    {
        public int Writes { get; private set; }

        public int Flushes { get; private set; }

        public bool Disposed { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes++;
            base.Write(buffer, offset, count);
        }

        public override void Flush()
        {
            Flushes++;
            base.Flush();
        }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }
}
