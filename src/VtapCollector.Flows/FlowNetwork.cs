using System.Text;

namespace VtapCollector.Flows;

/// <summary>
/// A named network of the configuration (<c>Networks</c>): a VNet, a spoke, an on-premises range.
/// Built once per configuration and shared by every record whose endpoint falls in it, so a record
/// carries a reference, never a copy of the name, and an encoder writes <see cref="Utf8Name"/> as is.
/// </summary>
public sealed class FlowNetwork
{
    /// <summary>Creates a network; <paramref name="name"/> must already be validated (letters, digits, '.', '_', '-').</summary>
    public FlowNetwork(string name, bool isLocal, int index)
    {
        Name = name;
        Utf8Name = Encoding.ASCII.GetBytes(name);
        IsLocal = isLocal;
        Index = index;
    }

    /// <summary>The configured name.</summary>
    public string Name { get; }

    /// <summary>The name's bytes, ready for an encoder (ASCII: the name's characters need no JSON escaping).</summary>
    public byte[] Utf8Name { get; }

    /// <summary>True for the operator's own estate (VNets, spokes, on-premises), false for the outside world.</summary>
    public bool IsLocal { get; }

    /// <summary>The network's position in its configuration (0, 1, ...), for per-network counters.</summary>
    public int Index { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
