using VtapCollector.Export.Formats;

namespace VtapCollector.Export.Tests;

/// <summary>What an encoder allocates for 100,000 records into one reused buffer.</summary>
internal static class EncoderAllocations
{
    public static long PerRun(IRecordEncoder encoder)
    {
        var buffer = new byte[encoder.MaxRecordLength];
        var records = FormatRecords.All.Append(Records.Largest()).ToArray();
        void Run()
        {
            for (var i = 0; i < 100_000; i++)
            {
                encoder.Encode(records[i % records.Length], buffer);
            }
        }

        Run();
        return Allocations.Least(Run);
    }
}
