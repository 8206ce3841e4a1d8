using VtapCollector.Export.Formats;
using VtapCollector.Flows;

namespace VtapCollector.Export.Tests;

/// <summary>What every record format promises, checked for each one registered in <see cref="RecordFormats"/>.</summary>
public class EveryFormatTests
{
    public static TheoryData<string> Formats => [.. RecordFormats.Names];

    [Theory]
    [MemberData(nameof(Formats))]
    public void Encode_LargestRecord_FitsMaxRecordLengthAndIsAscii(string format)
    {
        var encoder = RecordFormats.Create(format)!;
        foreach (var record in FormatRecords.All.Append(Records.Largest()))
        {
            var text = FormatRecords.Encode(encoder, record);
            Assert.True(text.Length <= encoder.MaxRecordLength, $"{format}: {text.Length} bytes");
            Assert.All(text, c => Assert.InRange(c, ' ', '~'));
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Encode_100000RecordsIntoAReusedBuffer_AllocatesNothing(string format) =>
        Assert.Equal(0, EncoderAllocations.PerRun(RecordFormats.Create(format)!));
}
