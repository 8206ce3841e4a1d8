using VtapCollector.Flows;

namespace VtapCollector.Benchmarks;

/// <summary>Takes records and drops them: the benchmarks measure the table, not a sink.</summary>
internal sealed class DiscardingWriter : IFlowRecordWriter
{
    public void Write(in FlowRecord record)
    {
    }
}
