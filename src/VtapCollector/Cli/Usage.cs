namespace VtapCollector.Cli;

internal static class Usage
{
    public const string Text = """
        vtap-collector: flow records from cloud port-mirror (VXLAN/Geneve) traffic.

        Usage:
          vtap-collector run [--config FILE] [--check] [--Section:Key=value ...]
                                                          The daemon: receive mirrored traffic (UDP sockets,
                                                          AF_PACKET or libpcap), write flow records to the
                                                          configured sinks, serve /metrics, /healthz and
                                                          /readyz. Configuration: appsettings.json, then
                                                          /etc/vtap-collector/vtap-collector.json, FILE,
                                                          VTAP__ environment variables, then the arguments.
                                                          --check validates the configuration and exits.
          vtap-collector replay [<capture>|-] [options]   Read a pcap/pcapng capture (or stdin with -) and
                                                          write its flow records as JSON Lines. Without a
                                                          capture, replays the bundled sample.
          vtap-collector send <capture> --to HOST:PORT [options]
                                                          Send the tunnel payload (VXLAN/Geneve header and
                                                          inner frame) of every tunnelled frame of a capture
                                                          as one UDP datagram to HOST:PORT, as a mirror would:
                                                          a demo and load generator for a live collector.
          vtap-collector capture start|list|stop|fetch [options]
                                                          A client of the daemon's capture API (/captures on
                                                          the metrics listener): start a packet capture
                                                          session, list sessions, stop one, fetch its files.
          vtap-collector --version
          vtap-collector --help

        Replay options:
          --output FILE|-            Where records go (default: - for stdout).
          --format NAME              Record format: vtap (default), ecs, ocsf or azure-flowtuple.
          --ipfix DEST               Export the records as IPFIX too: udp://HOST:PORT, tcp://HOST:PORT or a FILE
                                     (an RFC 5655 IPFIX file: the messages back to back).
          --networks FILE            Name the networks in the records (src_network, dst_network, direction): a JSON
                                     file shaped like the Networks configuration section.
          --config FILE              The same, from the Networks section of a run configuration file.
          --vxlan-port N             Decapsulate UDP port N as VXLAN (repeatable; default 4789 and 8472).
          --geneve-port N            Decapsulate UDP port N as Geneve (repeatable; default 6081).
          --active-timeout S         Seconds between update records of a long flow (default 60).
          --idle-timeout S           Seconds after which an idle UDP/ICMP/other flow ends (default 60).
          --tcp-idle-timeout S       Seconds after which an idle TCP flow ends (default 300).
          --tcp-closing-timeout S    Seconds a flow lingers after FIN/RST so last ACKs count (default 5).
          --max-flows N              Flow table capacity; when full the stalest flow is evicted (default 1000000).
          --workers N                Flow workers, each on its own thread with its own table (default: half the
                                     cores, at least 1). The set of records is the same for every N; records of
                                     one flow stay in order, records of different flows interleave.
          --export-threads N         Threads that encode and write records (default: 1 with one worker, so the
                                     order is a single flow table's and two replays are alike; else the
                                     cores, at most 4).
          --dedup                    Count a packet that two taps mirrored once (double-tap deduplication).
          --dedup-window-us N        With --dedup: another tap's copy within N µs of the first is removed (default 5000).
          --vni-group A,B[,...]      With --dedup: VNIs that mirror the same network meet in flows under VNI A (repeatable).
          --quiet                    No summary on stderr.
          --capture-output FILE      Also write the packets --capture-filter keeps to FILE (pcapng): their inner
                                     (decapsulated) frames, with each packet's VNI and tunnel source as its comment.
          --capture-filter EXPR      Which packets: comma-separated terms, all of which must hold, e.g.
                                     proto=tcp,local=10.1.0.0/16,rport=443,vni=100. Keys: proto (tcp, udp, icmp,
                                     icmpv6, sctp, any or a number), local, remote, host, tunnel (address or CIDR),
                                     lport, rport, port (N or LOW-HIGH), vni. Default: every packet.
          --capture-snaplen N        Bytes kept of each packet (64-262144; default 9216).
          --capture-outer            Keep the whole outer (mirror) frame instead of the inner one.

        Send options:
          --to HOST:PORT             Destination (required): 127.0.0.1:4789, [::1]:4789 or a host name.
          --pps N                    Send at most N datagrams per second (default: as fast as possible).
          --loop K                   Send the capture K times (default 1).
          --quiet                    No summary on stderr.

        Capture options:
          --url URL                  The daemon's metrics listener (default http://127.0.0.1:9464).
          --token T | --token-file F The API's bearer token (Capture:Token), or VTAP_CAPTURE_TOKEN.
          start: --filter EXPR       Which packets (the syntax of replay's --capture-filter; default every packet).
                 --name N            The session's id (letters, digits, - and _; default a random one).
                 --snaplen N, --outer, --max-packets N, --max-bytes N, --duration S
                                     Bytes kept per packet, whole outer frames, and limits (default none).
          list [ID]                  Every session, or one, with its state, counters and files.
          stop ID                    Stop a session (its files stay); stopping an ended one forgets it.
          fetch ID [--output DIR] [--file NAME]
                                     Download the session's files (or one) into DIR (default .).

        Exit codes: 0 success, 1 input or configuration error, 2 usage error.

        """;
}
