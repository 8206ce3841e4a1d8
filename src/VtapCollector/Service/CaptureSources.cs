namespace VtapCollector.Service;

/// <summary>Opens the capture sources (AF_PACKET rings, libpcap) the settings enable.</summary>
internal static class CaptureSources
{
    public static void Open(ValidatedSettings settings, StopSignal stop, List<OpenedSource> sources)
    {
        _ = stop;
        _ = sources;
        if (settings.Raw.Sources.AfPacket.Enabled || settings.Raw.Sources.Pcap.Enabled)
        {
            throw new NotSupportedException("Capture sources are not built into this version.");
        }
    }
}
