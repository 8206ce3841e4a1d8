namespace VtapCollector.Engine.Networks;

/// <summary>One configured network, as written: its name, prefixes, optional VNIs and whether it is local.</summary>
/// <param name="Name">The name records and metric labels carry.</param>
/// <param name="Cidrs">IPv4 and IPv6 prefixes (<c>10.1.0.0/16</c>, <c>fd00::/8</c>, a bare address).</param>
/// <param name="Vnis">When not empty, the prefixes match only in these VNIs.</param>
/// <param name="Local">True for the operator's own estate.</param>
internal sealed record NetworkDefinition(string Name, IReadOnlyList<string> Cidrs, IReadOnlyList<uint> Vnis, bool Local);
