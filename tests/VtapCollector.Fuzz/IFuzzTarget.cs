namespace VtapCollector.Fuzz;

/// <summary>
/// One fuzz target: what it feeds the input to, which assemblies afl's coverage map should see,
/// and the seed corpus it starts from. An exception escaping <see cref="Run"/> is a finding.
/// </summary>
internal interface IFuzzTarget
{
    /// <summary>The name given to <c>--target</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Assemblies to instrument, each as the file name optionally followed by space-separated
    /// namespace prefixes (sharpfuzz's own arguments): only the code the target exercises, so the
    /// coverage map is not diluted by code it never reaches.
    /// </summary>
    IReadOnlyList<string> Instrument { get; }

    /// <summary>Feeds one input to the code under test; throws only for a finding.</summary>
    void Run(ReadOnlySpan<byte> input);

    /// <summary>The seed corpus, built from the repository's real captures and configurations.</summary>
    IEnumerable<Seed> Seeds(string repositoryRoot);

    /// <summary>The afl dictionary of tokens the format is made of, or null.</summary>
    IEnumerable<string>? Dictionary { get; }
}

/// <summary>One seed input and the file name it is written under.</summary>
internal readonly record struct Seed(string Name, byte[] Data);
