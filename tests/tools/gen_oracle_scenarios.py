#!/usr/bin/python3
"""Writes the deterministic VXLAN scenario capture, with its manifest, for the oracle tests (tests/VtapCollector.Tests/Oracle).

Usage:
    gen_oracle_scenarios.py --seed N --pcap OUT.pcap [--manifest OUT.json]

The same seed always gives the same bytes. Run it with the Debian interpreter (/usr/bin/python3):
scapy comes from the Debian package python3-scapy. Its sibling gen_oracle_capture.py writes the
randomly mixed captures (Geneve, ARP, neighbour discovery, ICMP errors quoting packets); this one
writes named scenarios and says in the manifest what each must give.

The capture: outer Ethernet / IPv4 / UDP (destination 4789, a source port per flow direction as a
VTEP hashes it, or per packet for some mirror sources) / VXLAN (I flag) from a few mirror sources
(VTEPs) to one collector, VNIs 100, 200, 4096 and 16777215; the replies of some flows come from
another VTEP. Inside: Ethernet (about a sixth of the flows with an 802.1Q tag, small frames of half
the flows padded to 60 bytes as a switch pads them), then

* TCP: handshake + request/response data both ways + FIN teardown (either side first) [SF];
  refused (SYN, RST-ACK) [REJ]; reset mid-stream by the client [RSTO] or the server [RSTR];
  an unanswered SYN and its retransmission [S0];
* UDP: DNS queries and responses [SF], one-way streams (syslog, statsd) [S0], and responses larger
  than the MTU split into IPv4 fragments (in order) [SF];
* ICMP echo series (sometimes the last reply is missing), ICMP port unreachable answering a UDP
  probe, ICMP host unreachable from a gateway answering a TCP SYN;
* IPv6: TCP, DNS over UDP, ICMPv6 echo, ICMPv6 port unreachable;
* the same inner 5-tuple (same addresses, ports, protocol) in two or three VNIs at overlapping
  times, as tenants with overlapping address space have, each copy with its own packet counts.

Inner packets are 28..1400 bytes at the IP layer (IMIX-like: mostly small, many full segments),
timestamps strictly increase (whole microseconds) over about 6.5 seconds.

The manifest (JSON) lists every flow as the generator built it: VNI, protocol, initiator `a` and
responder `b` (ICMP: type and counterpart type or code as ports, the Community ID convention),
packets and IP bytes each way, the Zeek conn_state the scenario must give, the VLAN, and the twin
group of tuples reused across VNIs. The tests check tshark's reading of the capture against it
before they use tshark's reading as the oracle for the collector.
"""

import argparse
import ipaddress
import json
import random
import struct
import sys

try:
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
    from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
    from scapy.packet import Raw
except ImportError as import_error:  # reported to the test as a sentence naming the package
    sys.stderr.write("gen_oracle_scenarios.py needs scapy: apt-get install python3-scapy, and run it with "
                     f"/usr/bin/python3 ({import_error})\n")
    sys.exit(3)

VNIS = [100, 200, 4096, 16777215]
# Tenants of VNI 100 and 200 use the same address space on purpose.
TENANT_V4 = {100: "10.0.0.0/16", 200: "10.0.0.0/16", 4096: "10.40.0.0/16", 16777215: "192.168.0.0/16"}
TENANT_V6 = {100: "fd00:100::/64", 200: "fd00:100::/64", 4096: "fd00:4096::/64", 16777215: "fd00:ffff::/64"}
COLLECTOR_IP = "172.31.255.10"
COLLECTOR_MAC = "02:c0:11:ec:70:0a"
VTEPS = ["172.31.1.11", "172.31.1.12", "172.31.2.21", "172.31.3.31", "172.31.3.32"]
BASE_TIME_US = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z
SPAN_US = 6_000_000
EPHEMERAL = (32768, 60999)
MTU = 1500
MAX_IP_PACKET = 1400
# Community ID's ICMP request/reply pairs (types as ports); any other type has its code as "port".
ICMP4_COUNTERPART = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6_COUNTERPART = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130,
                     144: 145, 145: 144}

TCP_SERVER_PORTS = [22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9092, 27017]
UDP_ONEWAY_PORTS = [514, 8125, 9995, 12201]


def icmp_ports(version, icmp_type, code):
    table = ICMP4_COUNTERPART if version == 4 else ICMP6_COUNTERPART
    return icmp_type, table.get(icmp_type, code)


class Host:
    def __init__(self, ip, mac, vtep):
        self.ip = ip
        self.mac = mac
        self.vtep = vtep


class Flow:
    """One conversation: its packets (time offset, sender is a?, inner IP packet) and what it must give."""

    def __init__(self, vni, version, proto, kind, a, b, a_port, b_port, conn_state, vlan, start_us):
        self.vni = vni
        self.version = version
        self.proto = proto
        self.kind = kind
        self.a = a
        self.b = b
        self.a_port = a_port
        self.b_port = b_port
        self.conn_state = conn_state
        self.vlan = vlan
        self.start_us = start_us
        self.packets = []  # (offset_us, from_a, ip_bytes)
        self.twin_group = None
        self.later_fragments = 0
        self.outer_sport_per_packet = False
        self.pad_small_frames = False
        self.reply_vtep = None

    def key(self):
        ends = sorted([(self.a.ip, self.a_port), (self.b.ip, self.b_port)])
        return (self.vni, self.proto, ends[0], ends[1])

    def add(self, offset_us, from_a, packet):
        data = bytes(packet)
        self.packets.append((offset_us, from_a, data))

    def manifest(self):
        counts = {True: [0, 0], False: [0, 0]}
        for _, from_a, data in self.packets:
            counts[from_a][0] += 1
            counts[from_a][1] += ip_length(data)
        return {
            "vni": self.vni, "ip_version": self.version, "protocol": self.proto, "kind": self.kind,
            "a_ip": self.a.ip, "a_port": self.a_port, "b_ip": self.b.ip, "b_port": self.b_port,
            "packets_a_to_b": counts[True][0], "bytes_a_to_b": counts[True][1],
            "packets_b_to_a": counts[False][0], "bytes_b_to_a": counts[False][1],
            "conn_state": self.conn_state, "vlan": self.vlan, "twin_group": self.twin_group,
            "later_fragments": self.later_fragments,
        }


def ip_length(data):
    """IP bytes as the contract counts them: IPv4 total length, IPv6 40 + payload length."""
    if data[0] >> 4 == 4:
        return struct.unpack_from("!H", data, 2)[0]
    return 40 + struct.unpack_from("!H", data, 4)[0]


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.flows = []
        self.keys = set()
        self.used_ports = set()
        self.hosts = {}
        self.ip_ids = {}
        self.twin_groups = 0

    # ---- addressing -------------------------------------------------------------------------

    def host(self, vni, version, index=None):
        rng = self.rng
        net = ipaddress.ip_network(TENANT_V4[vni] if version == 4 else TENANT_V6[vni])
        if index is None:
            index = rng.randrange(2, 4000)
        ip = str(net.network_address + index)
        key = (vni, ip)
        if key not in self.hosts:
            mac = "02:%02x:%02x:%02x:%02x:%02x" % (vni & 0xff, version, (index >> 8) & 0xff, index & 0xff, rng.randrange(256))
            self.hosts[key] = Host(ip, mac, rng.choice(VTEPS))
        return self.hosts[key]

    def two_hosts(self, vni, version, a=None, b=None):
        """The given hosts, or new ones of the tenant; (None, None) when both have the same address."""
        a = a or self.host(vni, version)
        b = b or self.host(vni, version)
        return (None, None) if a.ip == b.ip else (a, b)

    def gateway(self, vni, version):
        return self.host(vni, version, 1)

    def ephemeral_port(self, vni, client):
        while True:
            port = self.rng.randint(*EPHEMERAL)
            if (vni, client.ip, port) not in self.used_ports:
                self.used_ports.add((vni, client.ip, port))
                return port

    def next_ip_id(self, host):
        value = self.ip_ids.get(host.ip)
        if value is None:
            value = self.rng.randrange(1, 60000)
        value = (value + 1) & 0xFFFF
        self.ip_ids[host.ip] = value
        return value

    def ip(self, flow, from_a, proto_layer, **fields):
        sender, receiver = (flow.a, flow.b) if from_a else (flow.b, flow.a)
        if flow.version == 4:
            return IP(src=sender.ip, dst=receiver.ip, id=self.next_ip_id(sender), ttl=64, **fields) / proto_layer
        return IPv6(src=sender.ip, dst=receiver.ip, hlim=64) / proto_layer

    def new_flow(self, vni, version, proto, kind, a, b, a_port, b_port, conn_state, start_us=None):
        rng = self.rng
        if start_us is None:
            start_us = rng.randrange(0, SPAN_US - 700_000)
        vlan = rng.choice([0, 0, 0, 10, 20, 4094]) if rng.random() < 0.35 else 0
        flow = Flow(vni, version, proto, kind, a, b, a_port, b_port, conn_state, vlan, start_us)
        flow.outer_sport_per_packet = rng.random() < 0.3
        flow.pad_small_frames = rng.random() < 0.5
        if rng.random() < 0.3:
            flow.reply_vtep = rng.choice(VTEPS)
        return flow

    def register(self, flow):
        key = flow.key()
        if key in self.keys:
            return False
        self.keys.add(key)
        self.flows.append(flow)
        return True

    # ---- sizes ------------------------------------------------------------------------------

    def imix_payload(self, low=0, high=1360):
        """A payload length: mostly small, some mid-size, some full segments (IMIX-like)."""
        rng = self.rng
        pick = rng.random()
        if pick < 0.55:
            size = rng.randint(0, 120)
        elif pick < 0.8:
            size = rng.randint(300, 700)
        else:
            size = rng.randint(1000, 1360)
        return max(low, min(high, size))

    def payload(self, size):
        return Raw(self.rng.randbytes(size))

    # ---- TCP --------------------------------------------------------------------------------

    def tcp_flow(self, vni, version, kind, a=None, b=None, a_port=None, b_port=None, start_us=None):
        rng = self.rng
        a, b = self.two_hosts(vni, version, a, b)
        if a is None:
            return None
        b_port = b_port or rng.choice(TCP_SERVER_PORTS)
        a_port = a_port or self.ephemeral_port(vni, a)
        state = {"sf": "SF", "rej": "REJ", "rsto": "RSTO", "rstr": "RSTR", "s0": "S0"}[kind]
        flow = self.new_flow(vni, version, 6, "tcp_" + kind, a, b, a_port, b_port, state, start_us)
        mss = MAX_IP_PACKET - (40 if version == 4 else 60)
        rtt = rng.randint(200, 25_000)
        t = 0
        seq_a = rng.getrandbits(32)
        seq_b = rng.getrandbits(32)
        wnd = 64240

        def seg(from_a, flags, data=b"", options=None):
            nonlocal seq_a, seq_b
            seq, ack = (seq_a, seq_b) if from_a else (seq_b, seq_a)
            layer = TCP(sport=a_port if from_a else b_port, dport=b_port if from_a else a_port, seq=seq,
                        ack=ack if "A" in flags else 0, flags=flags, window=wnd, options=options or [])
            packet = layer / Raw(data) if data else layer
            if version == 4:
                flow.add(t, from_a, self.ip(flow, from_a, packet, flags="DF"))
            else:
                flow.add(t, from_a, self.ip(flow, from_a, packet))
            advance = len(data) + (1 if ("S" in flags or "F" in flags) else 0)
            if from_a:
                seq_a = (seq_a + advance) & 0xFFFFFFFF
            else:
                seq_b = (seq_b + advance) & 0xFFFFFFFF

        syn_options = [("MSS", mss), ("SAckOK", b""), ("Timestamp", (rng.getrandbits(32), 0)), ("NOP", None), ("WScale", 7)]
        seg(True, "S", options=syn_options)
        if kind == "s0":
            t += 1_000_000
            seq_a = (seq_a - 1) & 0xFFFFFFFF  # the retransmission repeats the sequence number
            seg(True, "S", options=syn_options)
            return flow
        t += rtt // 2
        if kind == "rej":
            seq_b = 0
            seg(False, "RA")
            return flow
        seg(False, "SA", options=[("MSS", mss), ("SAckOK", b""), ("NOP", None), ("WScale", 7)])
        t += rtt // 2
        seg(True, "A")
        exchanges = rng.randint(1, 3) if kind == "sf" else rng.randint(1, 2)
        for _ in range(exchanges):
            t += rng.randint(20, 400)
            for _ in range(rng.randint(1, 2)):
                seg(True, "PA", self.payload(self.imix_payload(20, mss)).load)
                t += rng.randint(5, 60)
            t += rtt // 2
            seg(False, "A")
            response = rng.choice([rng.randint(20, 300), rng.randint(500, 4000), rng.randint(4000, 12000)])
            sent = 0
            since_ack = 0
            while sent < response:
                size = min(mss, response - sent)
                t += rng.randint(10, 200)
                seg(False, "PA" if sent + size >= response else "A", self.payload(size).load)
                sent += size
                since_ack += 1
                if since_ack == 2:
                    t += rtt // 2
                    seg(True, "A")
                    since_ack = 0
            if since_ack:
                t += rtt // 2
                seg(True, "A")
        t += rng.randint(100, 5000)
        if kind == "rsto":
            seg(True, "RA")
            return flow
        if kind == "rstr":
            seg(False, "RA")
            return flow
        first = rng.random() < 0.6  # True: the client closes first
        seg(first, "FA")
        t += rtt // 2
        if rng.random() < 0.5:
            seg(not first, "FA")  # FIN piggybacked on the ACK of the FIN
        else:
            seg(not first, "A")
            t += rng.randint(10, 3000)
            seg(not first, "FA")
        t += rtt // 2
        seg(first, "A")
        return flow

    # ---- UDP --------------------------------------------------------------------------------

    def dns_flow(self, vni, version, a=None, b=None, a_port=None, start_us=None, fragmented=False):
        rng = self.rng
        a, b = self.two_hosts(vni, version, a, b)
        if a is None:
            return None
        a_port = a_port or self.ephemeral_port(vni, a)
        kind = "udp_fragmented" if fragmented else "udp_request_response"
        flow = self.new_flow(vni, version, 17, kind, a, b, a_port, 53, "SF", start_us)
        rtt = rng.randint(200, 20_000)
        t = 0
        for _ in range(1 if fragmented else rng.randint(1, 3)):
            name = "h%d.svc%d.tenant.internal" % (rng.randrange(10000), vni % 1000)
            qtype = "A" if version == 4 else "AAAA"
            txid = rng.getrandbits(16)
            query = DNS(id=txid, rd=1, qd=DNSQR(qname=name, qtype=qtype))
            flow.add(t, True, self.ip(flow, True, UDP(sport=a_port, dport=53) / query))
            t += rtt
            answers = None
            for i in range(rng.randint(1, 6)):
                rdata = ("10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)) if version == 4
                         else "fd00:%x::%x" % (rng.randrange(65536), rng.randrange(1, 65536)))
                answer = DNSRR(rrname=name, type=qtype, ttl=rng.randint(30, 3600), rdata=rdata)
                answers = answer if answers is None else answers / answer
            response = DNS(id=txid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype), an=answers)
            if fragmented:
                # A big TXT-like tail after the DNS message, so the datagram exceeds the MTU.
                big = rng.randint(1600, 4200)
                packet = self.ip(flow, False, UDP(sport=53, dport=a_port) / response / self.payload(big))
                pieces = fragment(packet, fragsize=rng.choice([1176, 1232, 1376]))
                for piece in pieces:
                    flow.add(t, False, piece)
                    t += rng.randint(1, 30)
                flow.later_fragments += len(pieces) - 1
            else:
                flow.add(t, False, self.ip(flow, False, UDP(sport=53, dport=a_port) / response))
            t += rng.randint(1000, 200_000)
        return flow

    def oneway_udp_flow(self, vni, version, a=None, b=None, a_port=None, b_port=None, start_us=None):
        rng = self.rng
        a, b = self.two_hosts(vni, version, a, b)
        if a is None:
            return None
        a_port = a_port or self.ephemeral_port(vni, a)
        b_port = b_port or rng.choice(UDP_ONEWAY_PORTS)
        flow = self.new_flow(vni, version, 17, "udp_oneway", a, b, a_port, b_port, "S0", start_us)
        t = 0
        for _ in range(rng.randint(1, 12)):
            flow.add(t, True, self.ip(flow, True, UDP(sport=a_port, dport=b_port) / self.payload(self.imix_payload(8, 1200))))
            t += rng.randint(2_000, 400_000)
        return flow

    # ---- ICMP -------------------------------------------------------------------------------

    def echo_flow(self, vni, version, a=None, b=None, start_us=None):
        rng = self.rng
        a, b = self.two_hosts(vni, version, a, b)
        if a is None:
            return None
        request_type, reply_type = (8, 0) if version == 4 else (128, 129)
        proto = 1 if version == 4 else 58
        flow = self.new_flow(vni, version, proto, "icmp_echo" if version == 4 else "icmpv6_echo", a, b,
                             request_type, reply_type, None, start_us)
        ident = rng.getrandbits(16)
        size = rng.choice([56, 56, 56, 0, 120, 1000, 1352])
        count = rng.randint(1, 5)
        lose_last = count > 1 and rng.random() < 0.3
        rtt = rng.randint(100, 30_000)
        t = 0
        for n in range(count):
            data = self.payload(size).load
            if version == 4:
                flow.add(t, True, self.ip(flow, True, ICMP(type=8, id=ident, seq=n + 1) / Raw(data)))
            else:
                flow.add(t, True, self.ip(flow, True, ICMPv6EchoRequest(id=ident, seq=n + 1, data=data)))
            if not (lose_last and n == count - 1):
                if version == 4:
                    flow.add(t + rtt, False, self.ip(flow, False, ICMP(type=0, id=ident, seq=n + 1) / Raw(data)))
                else:
                    flow.add(t + rtt, False, self.ip(flow, False, ICMPv6EchoReply(id=ident, seq=n + 1, data=data)))
            t += rng.randint(150_000, 250_000)  # ping -i 0.2
        return flow

    def port_unreachable(self, vni, version):
        """A UDP probe to a closed port (one-way UDP flow) and the ICMP port unreachable answering it."""
        rng = self.rng
        a = self.host(vni, version)
        b = self.host(vni, version)
        if a.ip == b.ip:
            return []
        a_port = self.ephemeral_port(vni, a)
        b_port = rng.randint(33434, 33534)
        probe_flow = self.new_flow(vni, version, 17, "udp_probe", a, b, a_port, b_port, "S0", None)
        probe = self.ip(probe_flow, True, UDP(sport=a_port, dport=b_port) / self.payload(rng.choice([12, 32, 72])))
        probe_flow.add(0, True, probe)
        icmp_type, code = (3, 3) if version == 4 else (1, 4)
        t_port, c_port = icmp_ports(version, icmp_type, code)
        proto = 1 if version == 4 else 58
        error_flow = self.new_flow(vni, version, proto, "icmp_unreachable", b, a, t_port, c_port, None,
                                   probe_flow.start_us + rng.randint(100, 5000))
        error_flow.vlan = probe_flow.vlan
        quoted = bytes(probe)
        if version == 4:
            error_flow.add(0, True, self.ip(error_flow, True, ICMP(type=3, code=3) / Raw(quoted[:548])))
        else:
            error_flow.add(0, True, self.ip(error_flow, True, ICMPv6DestUnreach(code=4) / Raw(quoted[:1232])))
        return [probe_flow, error_flow]

    def host_unreachable(self, vni):
        """A TCP SYN to a dead host (S0) and the gateway's ICMP host unreachable to the client."""
        rng = self.rng
        a = self.host(vni, 4)
        b = self.host(vni, 4)
        gw = self.gateway(vni, 4)
        if len({a.ip, b.ip, gw.ip}) < 3:
            return []
        syn_flow = self.new_flow(vni, 4, 6, "tcp_s0", a, b, self.ephemeral_port(vni, a), rng.choice(TCP_SERVER_PORTS), "S0", None)
        syn = self.ip(syn_flow, True, TCP(sport=syn_flow.a_port, dport=syn_flow.b_port, seq=rng.getrandbits(32), flags="S",
                                          options=[("MSS", 1360), ("SAckOK", b""), ("NOP", None), ("WScale", 7)]), flags="DF")
        syn_flow.add(0, True, syn)
        t_port, c_port = icmp_ports(4, 3, 1)
        error_flow = self.new_flow(vni, 4, 1, "icmp_unreachable", gw, a, t_port, c_port, None,
                                   syn_flow.start_us + rng.randint(1_000, 3_000))
        error_flow.vlan = syn_flow.vlan
        error_flow.add(0, True, self.ip(error_flow, True, ICMP(type=3, code=1) / Raw(bytes(syn)[:28])))
        return [syn_flow, error_flow]

    # ---- twins ------------------------------------------------------------------------------

    def twins(self, maker, vnis):
        """The same tuple in several VNIs at overlapping times: each copy generated afresh, so counts differ."""
        rng = self.rng
        version = maker[1]
        a = self.host(vnis[0], version)
        b = self.host(vnis[0], version)
        if a.ip == b.ip:
            return
        a_port = rng.randint(*EPHEMERAL)
        b_port = rng.choice(TCP_SERVER_PORTS) if maker[0] == "tcp" else rng.choice(UDP_ONEWAY_PORTS)
        start = rng.randrange(0, SPAN_US - 700_000)
        group = self.twin_groups
        made = []
        for vni in vnis:
            # The same addresses in every VNI: hosts of other tenants that happen to share them.
            ha = self.hosts.setdefault((vni, a.ip), Host(a.ip, random_mac(rng), rng.choice(VTEPS)))
            hb = self.hosts.setdefault((vni, b.ip), Host(b.ip, random_mac(rng), rng.choice(VTEPS)))
            if (vni, a.ip, a_port) in self.used_ports:
                return
            offset = start + rng.randint(0, 40_000)
            if maker[0] == "tcp":
                flow = self.tcp_flow(vni, version, maker[2], ha, hb, a_port, b_port, offset)
            elif maker[0] == "dns":
                flow = self.dns_flow(vni, version, ha, hb, a_port, offset, fragmented=maker[2] == "frag")
            elif maker[0] == "udp":
                flow = self.oneway_udp_flow(vni, version, ha, hb, a_port, b_port, offset)
            else:
                flow = self.echo_flow(vni, version, ha, hb, offset)
            if flow is None or flow.key() in self.keys:
                return
            made.append(flow)
        for flow in made:
            self.used_ports.add((flow.vni, flow.a.ip, flow.a_port))
            flow.twin_group = group
            self.register(flow)
        self.twin_groups += 1

    # ---- the whole capture ------------------------------------------------------------------

    def build(self):
        rng = self.rng
        plan = (
            [("tcp", 4, "sf")] * 120 + [("tcp", 6, "sf")] * 25 + [("tcp", 4, "rej")] * 20 + [("tcp", 6, "rej")] * 5
            + [("tcp", 4, "rsto")] * 8 + [("tcp", 4, "rstr")] * 8 + [("tcp", 6, "rstr")] * 2 + [("tcp", 4, "s0")] * 5
            + [("dns", 4, "")] * 45 + [("dns", 6, "")] * 15 + [("dns", 4, "frag")] * 6
            + [("udp", 4, "")] * 18 + [("udp", 6, "")] * 4
            + [("echo", 4, "")] * 20 + [("echo", 6, "")] * 8
            + [("portunreach", 4, "")] * 6 + [("portunreach", 6, "")] * 4 + [("hostunreach", 4, "")] * 5
        )
        rng.shuffle(plan)
        for item in plan:
            for _ in range(20):  # retry on a (rare) tuple collision
                vni = rng.choice(VNIS)
                if item[0] == "tcp":
                    made = [self.tcp_flow(vni, item[1], item[2])]
                elif item[0] == "dns":
                    made = [self.dns_flow(vni, item[1], fragmented=item[2] == "frag")]
                elif item[0] == "udp":
                    made = [self.oneway_udp_flow(vni, item[1])]
                elif item[0] == "echo":
                    made = [self.echo_flow(vni, item[1])]
                elif item[0] == "portunreach":
                    made = self.port_unreachable(vni, item[1])
                else:
                    made = self.host_unreachable(vni)
                if made and all(f is not None for f in made) and all(f.key() not in self.keys for f in made) \
                        and len({f.key() for f in made}) == len(made):
                    for flow in made:
                        self.register(flow)
                    break
            else:
                raise RuntimeError("could not place a flow of %r without a tuple collision" % (item,))

        twin_plan = ([(("tcp", 4, "sf"), [100, 200])] * 8 + [(("tcp", 6, "sf"), [100, 200])] * 2
                     + [(("tcp", 4, "rej"), [100, 200])] * 2 + [(("dns", 4, ""), [100, 200])] * 4
                     + [(("dns", 4, "frag"), [100, 200])] * 1 + [(("udp", 4, ""), [100, 200])] * 2
                     + [(("echo", 4, ""), [100, 200])] * 3 + [(("echo", 6, ""), [100, 200])] * 1
                     + [(("tcp", 4, "sf"), [100, 200, 4096])] * 2 + [(("dns", 4, ""), [200, 4096, 16777215])] * 1)
        for maker, vnis in twin_plan:
            before = self.twin_groups
            for _ in range(20):
                self.twins(maker, vnis)
                if self.twin_groups > before:
                    break
            else:
                raise RuntimeError("could not place a twin group %r" % (maker,))

    def frames(self):
        """Every packet encapsulated, in time order: (time_us, frame bytes)."""
        rng = self.rng
        events = []
        for number, flow in enumerate(self.flows):
            for index, (offset, from_a, data) in enumerate(flow.packets):
                events.append((flow.start_us + offset, number, index, flow, from_a, data))
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        frames = []
        last = -1
        outer_ids = {}
        for time_us, _, _, flow, from_a, data in events:
            time_us = max(time_us, last + 1)
            last = time_us
            sender, receiver = (flow.a, flow.b) if from_a else (flow.b, flow.a)
            vtep = flow.a.vtep if from_a or flow.reply_vtep is None else flow.reply_vtep
            ethertype = 0x0800 if data[0] >> 4 == 4 else 0x86DD
            inner = mac_bytes(receiver.mac) + mac_bytes(sender.mac)
            if flow.vlan:
                inner += struct.pack("!HHH", 0x8100, flow.vlan, ethertype)
            else:
                inner += struct.pack("!H", ethertype)
            inner += data
            if flow.pad_small_frames and len(inner) < 60:
                inner += bytes(60 - len(inner))  # Ethernet padding: not IP bytes
            if flow.outer_sport_per_packet:
                sport = rng.randint(49152, 65535)
            else:
                sport = 49152 + (hash_tuple(flow, from_a) % 16384)
            outer_id = outer_ids.get(vtep, (sum(map(int, vtep.split("."))) * 97) & 0xFFFF)
            outer_ids[vtep] = (outer_id + 1) & 0xFFFF
            frames.append((time_us, encapsulate(vtep, outer_id, sport, flow.vni, inner)))
        return frames


def hash_tuple(flow, from_a):
    """A stable stand-in for a VTEP's hash of the inner flow (per direction)."""
    text = "%d|%s|%d|%s|%d|%d|%d" % (flow.vni, flow.a.ip, flow.a_port, flow.b.ip, flow.b_port, flow.proto, from_a)
    value = 2166136261
    for ch in text.encode():
        value = ((value ^ ch) * 16777619) & 0xFFFFFFFF
    return value


def encapsulate(vtep, ip_id, sport, vni, inner):
    """Outer Ethernet / IPv4 (DF, TTL 63) / UDP to 4789 (checksum 0, as Linux sends VXLAN) / VXLAN (I flag)."""
    vxlan = struct.pack("!B3sI", 0x08, b"\0\0\0", vni << 8)
    udp = struct.pack("!HHHH", sport, 4789, 8 + len(vxlan) + len(inner), 0)
    total = 20 + len(udp) + len(vxlan) + len(inner)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ip_id, 0x4000, 63, 17, 0,
                         ipaddress.ip_address(vtep).packed, ipaddress.ip_address(COLLECTOR_IP).packed)
    header = header[:10] + struct.pack("!H", ipv4_checksum(header)) + header[12:]
    ether = mac_bytes(COLLECTOR_MAC) + mac_bytes(vtep_mac(vtep)) + struct.pack("!H", 0x0800)
    return ether + header + udp + vxlan + inner


def ipv4_checksum(header):
    total = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mac_bytes(mac):
    return bytes(int(part, 16) for part in mac.split(":"))


def random_mac(rng):
    return "02:%02x:%02x:%02x:%02x:%02x" % tuple(rng.randrange(256) for _ in range(5))


def vtep_mac(vtep):
    octets = [int(x) for x in vtep.split(".")]
    return "02:76:%02x:%02x:%02x:%02x" % tuple(octets)


def write_pcap(path, frames):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for time_us, frame in frames:
            seconds, micros = divmod(BASE_TIME_US + time_us, 1_000_000)
            out.write(struct.pack("<IIII", seconds, micros, len(frame), len(frame)))
            out.write(frame)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--pcap", required=True)
    parser.add_argument("--manifest")
    args = parser.parse_args()

    generator = Generator(args.seed)
    generator.build()
    frames = generator.frames()
    for _, frame in frames:
        if len(frame) - 14 - 20 - 8 - 8 - 18 > MTU:
            raise RuntimeError("an inner frame exceeds the MTU")
    write_pcap(args.pcap, frames)

    if args.manifest:
        manifest = {
            "seed": args.seed,
            "frames": len(frames),
            "flows": [flow.manifest() for flow in generator.flows],
        }
        with open(args.manifest, "w", encoding="utf-8") as out:
            json.dump(manifest, out, indent=1)
            out.write("\n")

    sys.stderr.write("gen_oracle_scenarios.py: seed %d: %d flows, %d frames -> %s\n"
                     % (args.seed, len(generator.flows), len(frames), args.pcap))
    return 0


if __name__ == "__main__":
    sys.exit(main())
