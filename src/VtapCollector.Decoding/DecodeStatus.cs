namespace VtapCollector.Decoding;

/// <summary>
/// The outcome of decoding one captured frame. Everything except <see cref="Ok"/> is a named,
/// counted reason: malformed or unsupported input is ordinary traffic, never an exception.
/// Values are stable (they index counter arrays); add new ones before <see cref="Count"/>.
/// </summary>
public enum DecodeStatus : byte
{
    /// <summary>An IP packet was decoded and can update a flow.</summary>
    Ok = 0,

    /// <summary>ARP (RFC 826): counted, creates no flow.</summary>
    Arp,

    /// <summary>Ethernet frame shorter than its 14-byte header.</summary>
    EthernetTruncated,
    /// <summary>802.1Q/802.1ad tag cut short.</summary>
    VlanTruncated,
    /// <summary>More stacked VLAN tags than the decoder accepts.</summary>
    TooManyVlanTags,
    /// <summary>Linux cooked capture (SLL) header cut short.</summary>
    SllTruncated,
    /// <summary>Linux cooked capture v2 (SLL2) header cut short.</summary>
    Sll2Truncated,
    /// <summary>BSD loopback (DLT_NULL) header cut short.</summary>
    NullHeaderTruncated,
    /// <summary>The capture's link type is not one the decoder reads.</summary>
    UnsupportedLinkType,
    /// <summary>EtherType (or protocol family) that is neither IP nor ARP.</summary>
    UnknownEtherType,

    /// <summary>IPv4 header cut short (fewer than 20 bytes or fewer than IHL*4).</summary>
    Ipv4Truncated,
    /// <summary>The version nibble of a packet expected to be IPv4 is not 4.</summary>
    Ipv4VersionMismatch,
    /// <summary>IHL below 5 (RFC 791 section 3.1).</summary>
    Ipv4HeaderLengthInvalid,
    /// <summary>Total length smaller than the header length (and not the GSO value 0).</summary>
    Ipv4TotalLengthInvalid,

    /// <summary>IPv6 fixed header cut short.</summary>
    Ipv6Truncated,
    /// <summary>The version nibble of a packet expected to be IPv6 is not 6.</summary>
    Ipv6VersionMismatch,
    /// <summary>An IPv6 extension header (RFC 8200 section 4) cut short.</summary>
    Ipv6ExtensionHeaderTruncated,
    /// <summary>Longer extension-header chain than the decoder follows.</summary>
    Ipv6TooManyExtensionHeaders,

    /// <summary>UDP header cut short.</summary>
    UdpTruncated,
    /// <summary>UDP length below 8 (RFC 768).</summary>
    UdpLengthInvalid,
    /// <summary>TCP header cut short before ports and flags.</summary>
    TcpTruncated,
    /// <summary>TCP data offset below 5 (RFC 9293 section 3.1).</summary>
    TcpHeaderLengthInvalid,
    /// <summary>SCTP common header cut short before the ports.</summary>
    SctpTruncated,
    /// <summary>ICMP header cut short before type and code.</summary>
    IcmpTruncated,
    /// <summary>ICMPv6 header cut short before type and code.</summary>
    Icmpv6Truncated,

    /// <summary>VXLAN header cut short.</summary>
    VxlanTruncated,
    /// <summary>VXLAN I flag clear: the VNI is not valid (RFC 7348 section 5).</summary>
    VxlanFlagNotSet,
    /// <summary>VXLAN-GPE (P flag or port 4790), for example carrying NSH: not plain VXLAN.</summary>
    VxlanGpeUnsupported,
    /// <summary>Geneve header cut short (RFC 8926 section 3.4).</summary>
    GeneveTruncated,
    /// <summary>Geneve version other than 0.</summary>
    GeneveVersionUnsupported,
    /// <summary>Geneve options run past the captured bytes.</summary>
    GeneveOptionsTruncated,
    /// <summary>Geneve protocol type that is neither Ethernet nor IP.</summary>
    GeneveProtocolUnsupported,
    /// <summary>
    /// GRE carrying mirrored frames (ERSPAN types I-III, transparent Ethernet bridging) while GRE
    /// decapsulation is off (<see cref="DecoderOptions.Gre"/>).
    /// </summary>
    GreUnsupported,
    /// <summary>More nested tunnels than the configured maximum depth.</summary>
    TooManyLayers,

    /// <summary>A non-first IP fragment whose first fragment (with the ports) was not seen.</summary>
    FragmentWithoutFirst,

    /// <summary>GRE header cut short: before the protocol type, or inside its checksum, key or sequence number.</summary>
    GreTruncated,
    /// <summary>GRE version other than 0 on a mirror tunnel (RFC 2784 section 2.3.1).</summary>
    GreVersionUnsupported,
    /// <summary>GRE routing, strict source route or recursion bits set (RFC 2784 section 2.3; RFC 1701 routing is not followed).</summary>
    GreFlagsInvalid,
    /// <summary>ERSPAN type II or III header (or type III's platform subheader) cut short.</summary>
    ErspanTruncated,
    /// <summary>ERSPAN version field other than 1 under protocol 0x88BE, or other than 2 under 0x22EB.</summary>
    ErspanVersionUnsupported,
    /// <summary>ERSPAN type III frame type other than Ethernet (0) or IP (2).</summary>
    ErspanFrameTypeUnsupported,

    /// <summary>Number of statuses; not a status.</summary>
    Count,
}

/// <summary>Stable snake_case labels for <see cref="DecodeStatus"/>, used in metrics and summaries.</summary>
public static class DecodeStatusNames
{
    private static readonly string[] Names = Build();

    /// <summary>The stable snake_case label of a status (e.g. <c>vxlan_flag_not_set</c>).</summary>
    public static string ToLabel(this DecodeStatus status) =>
        (uint)status < (uint)Names.Length ? Names[(int)status] : "unknown";

    private static string[] Build()
    {
        var names = new string[(int)DecodeStatus.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = ToSnakeCase(((DecodeStatus)i).ToString());
        }

        return names;
    }

    private static string ToSnakeCase(string pascal)
    {
        var builder = new System.Text.StringBuilder(pascal.Length + 8);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsUpper(c))
            {
                // "Ipv4Truncated" -> "ipv4_truncated": a boundary before an upper-case letter
                // that follows a lower-case letter or a digit.
                if (i > 0 && (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1])))
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
