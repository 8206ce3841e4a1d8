using VtapCollector.Export.Formats;

namespace VtapCollector.Export.Tests;

/// <summary>The format registry: every listed name makes its encoder, and each encoder writes one JSON object.</summary>
public class RecordFormatsTests
{
    [Fact]
    public void Names_EachCreatesAnEncoderOfThatName()
    {
        Assert.Equal(["vtap", "ecs", "ocsf", "azure-flowtuple"], RecordFormats.Names);
        foreach (var name in RecordFormats.Names)
        {
            Assert.Equal(name, RecordFormats.Create(name)!.Name);
            Assert.Equal(name, RecordFormats.Create(name.ToUpperInvariant())!.Name);
            Assert.Null(RecordFormats.Validate("Sinks:Stdout:Format", name));
        }
    }

    [Fact]
    public void Validate_UnknownName_ListsEveryFormat()
    {
        var error = RecordFormats.Validate("Sinks:File:Format", "json");
        Assert.NotNull(error);
        Assert.All(RecordFormats.Names, name => Assert.Contains(name, error, StringComparison.Ordinal));
    }

    [Fact]
    public void Encode_EveryFormatAndRecord_IsOneJsonObjectWithoutANewline()
    {
        foreach (var name in RecordFormats.Names)
        {
            var encoder = RecordFormats.Create(name)!;
            foreach (var record in FormatRecords.All)
            {
                FormatRecords.Parse(encoder, record);
            }
        }
    }
}
