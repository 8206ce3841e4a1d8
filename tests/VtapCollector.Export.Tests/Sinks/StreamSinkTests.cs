using System.IO.Pipes;
using VtapCollector.Export.Sinks;
using static VtapCollector.Export.Tests.Sinks.SinkRecords;

namespace VtapCollector.Export.Tests.Sinks;

public class StreamSinkTests
{
    [Fact]
    public void Name_DefaultsToStdoutAndCanBeSet()
    {
        using var stdout = new StreamSink(new MemoryStream());
        using var named = new StreamSink(new MemoryStream(), "pipe");

        Assert.Equal("stdout", stdout.Name);
        Assert.Equal("pipe", named.Name);
    }

    [Fact]
    public void Write_BuffersUntilFlushWhichWritesAndFlushesTheStream()
    {
        using var stream = new RecordingStream();
        using var sink = new StreamSink(stream, leaveOpen: true);
        Assert.True(WriteTo(sink, Fixed(0)));
        Assert.True(WriteTo(sink, Fixed(1)));

        Assert.Empty(stream.Writes);
        Assert.Equal(0, sink.RecordsWritten);

        sink.Flush();

        Assert.Equal([2 * FixedLength], stream.Writes);
        Assert.Equal(1, stream.Flushes);
        Assert.Equal(2, sink.RecordsWritten);
        Assert.Equal(2L * FixedLength, sink.BytesWritten);
        Assert.Equal([.. Line(Fixed(0)), .. Line(Fixed(1))], stream.ToArray());
    }

    [Fact]
    public void Write_FullBuffer_WritesWholeRecordsBeforeTakingTheNext()
    {
        using var stream = new RecordingStream();
        using var sink = new StreamSink(stream, leaveOpen: true, bufferSize: 4096);
        var expected = new List<byte>();
        for (var i = 0; i < 100; i++)
        {
            var record = Numbered(i);
            Assert.True(WriteTo(sink, record));
            expected.AddRange(Line(record));
        }

        Assert.True(stream.Writes.Count > 10);
        Assert.All(stream.Writes, length => Assert.InRange(length, 1, 4096));
        Assert.All(stream.WriteEnds, last => Assert.Equal((byte)'\n', last));

        sink.Flush();

        Assert.Equal(expected, stream.ToArray());
        Assert.Equal(100, sink.RecordsWritten);
    }

    [Fact]
    public void Flush_StreamThrowsIOException_UnhealthyAndWriteReturnsFalse()
    {
        using var sink = new StreamSink(new FailingStream());
        Assert.True(WriteTo(sink, Fixed(0)));
        Assert.True(WriteTo(sink, Fixed(1)));
        Assert.True(sink.IsHealthy);

        sink.Flush();

        Assert.False(sink.IsHealthy);
        Assert.Equal("Broken pipe", sink.LastError);
        Assert.Equal(2, sink.RecordsLost);
        Assert.False(WriteTo(sink, Fixed(2)));
        Assert.False(WriteTo(sink, Fixed(3)));
        Assert.Equal(2, sink.Failures);
        Assert.Equal(0, sink.RecordsWritten);
    }

    [Fact]
    public void Write_StreamThrowsWhenTheBufferFills_ReturnsFalseInsteadOfThrowing()
    {
        using var sink = new StreamSink(new FailingStream(), bufferSize: 4096);
        var accepted = 0;
        while (WriteTo(sink, Fixed(0)))
        {
            accepted++;
        }

        Assert.Equal(4096 / FixedLength, accepted);
        Assert.False(sink.IsHealthy);
        Assert.Equal(1, sink.Failures);
        Assert.Equal(accepted, sink.RecordsLost);
    }

    [Fact]
    public void Flush_ReaderOfThePipeWentAway_UnhealthyInsteadOfThrowing()
    {
        // Closing the only read end makes every write fail with EPIPE, as when `| head` exits.
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        pipe.DisposeLocalCopyOfClientHandle();

        using var sink = new StreamSink(pipe, "pipe", leaveOpen: true);
        Assert.True(WriteTo(sink, Fixed(0)));

        sink.Flush();

        Assert.False(sink.IsHealthy);
        Assert.False(WriteTo(sink, Fixed(1)));
        Assert.Equal(1, sink.Failures);
    }

    [Fact]
    public void Dispose_FlushesAndClosesTheStreamOnce()
    {
        var stream = new RecordingStream();
        var sink = new StreamSink(stream);
        WriteTo(sink, Fixed(0));

        sink.Dispose();
        sink.Dispose();

        Assert.Equal([FixedLength], stream.Writes);
        Assert.False(stream.CanWrite);
        Assert.Throws<ObjectDisposedException>(() => WriteTo(sink, Fixed(1)));
    }

    [Fact]
    public void Dispose_LeaveOpen_KeepsTheStreamOpen()
    {
        using var stream = new MemoryStream();
        using (var sink = new StreamSink(stream, leaveOpen: true))
        {
            WriteTo(sink, Fixed(0));
        }

        Assert.True(stream.CanWrite);
        Assert.Equal(FixedLength, stream.Length);
    }

    [Fact]
    public void Dispose_AfterTheStreamFailed_DoesNotThrow()
    {
        var sink = new StreamSink(new FailingStream(failOnDispose: true));
        WriteTo(sink, Fixed(0));

        sink.Dispose();

        Assert.Equal(1, sink.RecordsLost);
    }

    [Fact]
    public void Write_SteadyState_AllocatesNothing()
    {
        using var sink = new StreamSink(Stream.Null);
        var record = Fixed(0);
        var line = Encoded(record);

        var allocated = Allocations.Least(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                sink.Write(record, line);
            }

            sink.Flush();
        });

        Assert.Equal(0, allocated);
    }

    /// <summary>A memory stream that remembers the length and last byte of every write, and counts flushes.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        public List<int> Writes { get; } = [];

        public List<byte> WriteEnds { get; } = [];

        public int Flushes { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes.Add(count);
            WriteEnds.Add(buffer[offset + count - 1]);
            base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Writes.Add(buffer.Length);
            WriteEnds.Add(buffer[^1]);
            base.Write(buffer);
        }

        public override void Flush()
        {
            Flushes++;
            base.Flush();
        }
    }

    /// <summary>A stream whose every write and flush fails the way stdout does when its reader has gone (EPIPE).</summary>
    private sealed class FailingStream(bool failOnDispose = false) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush() => throw new IOException("Broken pipe");

        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("Broken pipe");

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (failOnDispose)
            {
                throw new IOException("Broken pipe");
            }
        }
    }
}
