namespace VtapCollector.Tests.Oracle;

/// <summary>
/// The base of the oracle test classes: they share <see cref="OracleCaptures"/>, start preparing
/// every capture as soon as one of them is constructed, and name captures in their theories by
/// the sets below.
/// </summary>
public abstract class OracleCaptureTests : IClassFixture<OracleCaptures>
{
    protected OracleCaptureTests(OracleCaptures captures)
    {
        ArgumentNullException.ThrowIfNull(captures);
        Captures = captures;
        captures.StartAll();
    }

    /// <summary>Every capture: the bundled kernel mirror sample and the generated ones.</summary>
    public static TheoryData<string> AllCaptures => ["sample", "vxlan", "mixed", "gre", "scenarios"];

    /// <summary>The generated captures, which hold TCP states, fragments and the like in numbers.</summary>
    public static TheoryData<string> GeneratedCaptures => ["vxlan", "mixed", "gre", "scenarios"];

    internal OracleCaptures Captures { get; }
}
