using VtapCollector.Decoding;

namespace VtapCollector.Service;

/// <summary>How tunnels are recognised.</summary>
internal sealed class DecoderSettings
{
    /// <summary>UDP ports decapsulated as VXLAN. Default 4789 and 8472.</summary>
    public List<ushort> VxlanPorts { get; set; } = [];

    /// <summary>UDP ports decapsulated as Geneve. Default 6081.</summary>
    public List<ushort> GenevePorts { get; set; } = [];

    /// <summary>Decapsulate ERSPAN and Ethernet bridged over GRE (IP protocol 47); the capture filters then take GRE too. Default true.</summary>
    public bool Gre { get; set; } = true;

    /// <summary>The decoder's options (the defaults where a list is empty), or null and one sentence.</summary>
    public DecoderOptions? ToOptions(out string? error)
    {
        // Empty means the default: the binder adds to a list that already holds values, so defaults cannot sit in the lists.
        var options = new DecoderOptions
        {
            VxlanPorts = VxlanPorts.Count == 0 ? [DecoderOptions.VxlanIanaPort, DecoderOptions.VxlanLinuxPort] : VxlanPorts,
            GenevePorts = GenevePorts.Count == 0 ? [DecoderOptions.GeneveIanaPort] : GenevePorts,
            Gre = Gre,
        };
        error = options.Validate() is { } invalid ? "Decoder: " + invalid : null;
        return error is null ? options : null;
    }
}
