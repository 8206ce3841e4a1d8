namespace VtapCollector.Export.Ipfix;

/// <summary>
/// The Template Set of one exporter, prebuilt once, and the template-only message a stream transport
/// sends at the start of each session (RFC 7011 section 8.1: templates before the data that uses them).
/// </summary>
public sealed class IpfixTemplateMessage
{
    private readonly IpfixMessageWriter _writer;

    /// <summary>Builds the Template Set of <paramref name="templates"/>.</summary>
    public IpfixTemplateMessage(IpfixTemplate[] templates, uint observationDomainId)
    {
        TemplateSet = new byte[IpfixTemplate.TemplateSetLength(templates)];
        IpfixTemplate.WriteTemplateSet(templates, TemplateSet);
        ObservationDomainId = observationDomainId;
        _writer = new IpfixMessageWriter(Math.Max(256, IpfixMessageWriter.HeaderLength + TemplateSet.Length));
    }

    /// <summary>The Template Set bytes, to put at the front of a message.</summary>
    public byte[] TemplateSet { get; }

    /// <summary>The observation domain of every message.</summary>
    public uint ObservationDomainId { get; }

    /// <summary>A message holding only the templates, valid until the next call.</summary>
    public ReadOnlySpan<byte> Build(uint exportTime, uint sequence)
    {
        _writer.Begin(exportTime, sequence, ObservationDomainId);
        _writer.TryAddSet(TemplateSet);
        return _writer.Finish();
    }
}
