#!/usr/bin/python3
"""Writes a deterministic capture of VXLAN (and optionally Geneve) mirrored traffic for the oracle tests.

Usage: gen_oracle_capture.py SEED OUT.pcap [--geneve-share F] [--gre-share F] [--flows N]

The same SEED always gives the same bytes. Run it with the Debian interpreter (/usr/bin/python3):
scapy comes from the python3-scapy package.

What the capture holds (every inner conversation is a distinct flow: VNI + inner 5-tuple, with
ICMP request/reply types as ports, is never reused, except where two VNIs share a tuple on purpose):

* outer Ethernet / IPv4 / UDP to 4789 (VXLAN, I flag set) from one of a few mirror sources (VTEPs)
  to one collector, with a per-flow outer source port in 49152-65535 (a real VTEP hashes the
  inner flow into it); VNIs 100, 200, 4096 and 16777215;
* with --geneve-share F, that share of the flows goes over Geneve (UDP 6081) instead: Ethernet
  inside, some with Geneve options, some with IP directly inside (protocol 0x0800/0x86DD);
* with --gre-share F, that share of the other flows goes over GRE (IP protocol 47) instead: ERSPAN
  type II (GRE with a sequence number, session ID = VNI mod 1024), ERSPAN type III (some with the
  platform-specific subheader) or Ethernet bridged over GRE (protocol 0x6558, key = VNI); half of
  the tagged ERSPAN flows carry their VLAN in the ERSPAN header instead of an inner tag;
* inner Ethernet, a quarter of the flows with an 802.1Q tag;
* TCP: handshake, data both ways, FIN teardown (client or server first) and the final ACK;
  refused connections (SYN, RST-ACK); connections aborted by a RST mid-stream from either side;
* UDP request/response exchanges and one-way UDP streams;
* ICMP echo series (some with the last reply missing), ICMP port unreachable quoting the UDP
  datagram that caused it, ICMP time exceeded quoting an echo request;
* IPv6 TCP, UDP, ICMPv6 echo, ICMPv6 port unreachable (quoting IPv6/UDP), neighbour
  solicitation/advertisement and MLDv2 reports behind a hop-by-hop header;
* IPv4 fragments: UDP datagrams and echo requests larger than the MTU, split by scapy's fragment();
* the same inner 5-tuple in VNI 100 and VNI 200 at overlapping times (TCP, UDP, ICMP and a
  fragmented datagram);
* ARP inside the tunnel (no flow);
* IMIX-like payload sizes between 0 and 1400 bytes; strictly increasing timestamps over ~4 s.
"""

import argparse
import hashlib
import ipaddress
import random
import struct
import sys

try:
    from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
    from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest,
                                    ICMPv6MLReport2, ICMPv6ND_NA, ICMPv6ND_NS, IPv6,
                                    IPv6ExtHdrHopByHop, RouterAlert)
    from scapy.layers.l2 import ARP, Ether
    from scapy.packet import Raw
    from scapy.layers.vxlan import VXLAN
    from scapy.contrib.geneve import GENEVE, GeneveOptions
except ImportError as error:  # pragma: no cover - reported to the test as a clear message
    sys.stderr.write("gen_oracle_capture.py needs scapy: install the Debian package python3-scapy "
                     f"and run it with /usr/bin/python3 ({error})\n")
    sys.exit(3)

VNIS = [100, 200, 4096, 16777215]
COLLECTOR = "172.16.255.254"
COLLECTOR_MAC = "02:00:00:ff:ff:fe"
VTEPS = ["172.16.1.1", "172.16.1.2", "172.16.2.1", "172.16.3.7"]
BASE_TIME_US = 1_763_900_000 * 1_000_000  # 2025-11-23, a fixed start
SPAN_US = 4_000_000

# Inner ports never used: they are tunnel ports that a decoder (the product or tshark) would
# take as another tunnel layer.
TUNNEL_PORTS = {4789, 4790, 6081, 8472}
TCP_SERVICES = [22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9200, 27017]
UDP_SERVICES = [53, 123, 161, 1812, 5060, 5353, 11211, 33000]
ONE_WAY_UDP_SERVICES = [514, 2055, 4739, 6343, 8125]


class Generator:
    def __init__(self, seed, geneve_share, gre_share=0.0):
        self.rng = random.Random(seed)
        self.geneve_share = geneve_share
        self.gre_share = gre_share
        self.gre_sequence = 0
        self.events = []  # (time_us, sequence, frame builder)
        self.sequence = 0
        self.used_keys = set()
        self.used_hosts = set()
        self.vtep_ip_id = {vtep: self.rng.randrange(1, 60000) for vtep in VTEPS}
        self.counts = {}

    # ----- helpers -------------------------------------------------------------------------
    def count(self, what, n=1):
        self.counts[what] = self.counts.get(what, 0) + n

    def imix(self):
        """Payload size: many empty/small, some medium, some near-MTU (0..1400)."""
        r = self.rng.random()
        if r < 0.30:
            return 0
        if r < 0.55:
            return self.rng.randrange(1, 100)
        if r < 0.70:
            return self.rng.randrange(100, 600)
        if r < 0.78:
            return 576
        if r < 0.93:
            return self.rng.randrange(600, 1400)
        return 1400

    def payload(self, size):
        return self.rng.randbytes(size)

    def ephemeral(self):
        while True:
            port = self.rng.randrange(32768, 61000)
            if port not in TUNNEL_PORTS:
                return port

    def host4(self):
        while True:
            address = "10.%d.%d.%d" % (self.rng.randrange(0, 64), self.rng.randrange(0, 256), self.rng.randrange(1, 255))
            if address not in self.used_hosts:
                self.used_hosts.add(address)
                return address

    def host6(self):
        while True:
            address = str(ipaddress.IPv6Address("fd00:%x:%x::%x" % (self.rng.randrange(1, 0xffff), self.rng.randrange(0, 0xffff), self.rng.randrange(1, 0xffff))))
            if address not in self.used_hosts:
                self.used_hosts.add(address)
                return address

    @staticmethod
    def mac_of(address):
        digest = hashlib.sha1(address.encode()).digest()
        return "02:" + ":".join("%02x" % b for b in digest[:5])

    def claim(self, key):
        """Reserves a flow key (vni, proto, unordered endpoint pair); False when already used."""
        if key in self.used_keys:
            return False
        self.used_keys.add(key)
        return True

    def new_context(self, vni=None, version=4):
        """Per-flow encapsulation: VNI, tunnel kind, VTEP, VLAN tag."""
        geneve = self.rng.random() < self.geneve_share
        # Drawn only when asked for, so captures made without --gre-share keep their bytes.
        gre = None
        if self.gre_share > 0 and not geneve and self.rng.random() < self.gre_share:
            gre = self.rng.choice(["erspan2", "erspan2", "erspan3", "erspan3", "gretap"])
        context = {
            "serial": self.rng.getrandbits(32),
            "vni": vni if vni is not None else self.rng.choice(VNIS),
            "tunnel": "geneve" if geneve else gre or "vxlan",
            "vtep": self.rng.choice(VTEPS),
            "vlan": self.rng.randrange(1, 4095) if self.rng.random() < 0.25 else 0,
            "geneve_options": geneve and self.rng.random() < 0.4,
            "geneve_ip_inside": geneve and self.rng.random() < 0.25,
        }
        if context["geneve_ip_inside"]:
            context["vlan"] = 0  # no inner Ethernet, so no tag
        if gre is not None:
            if gre.startswith("erspan"):
                context["vni"] %= 1024  # the session ID is 10 bits
            context["erspan_vlan"] = gre.startswith("erspan") and context["vlan"] != 0 and self.rng.random() < 0.5
            context["erspan_subheader"] = gre == "erspan3" and self.rng.random() < 0.5
        return context

    def emit(self, time_us, context, inner_ip):
        """Queues one inner IP packet (a scapy packet) to be wrapped with the flow's tunnel."""
        self.events.append((time_us, self.sequence, context, inner_ip))
        self.sequence += 1

    def emit_l2(self, time_us, context, inner_frame):
        """Queues an inner Ethernet payload that is not IP (ARP)."""
        self.events.append((time_us, self.sequence, context, ("l2", inner_frame)))
        self.sequence += 1

    def start_time(self):
        return self.rng.randrange(0, SPAN_US - 400_000)

    def rtt(self):
        return self.rng.randrange(150, 8000)

    # ----- flows ---------------------------------------------------------------------------
    def tcp_flow(self, kind, version=4, context=None, endpoints=None, time_us=None):
        """kind: 'full' (handshake, data, FIN, last ACK), 'refused' (SYN, RST-ACK) or 'aborted'."""
        make_ip = IP if version == 4 else IPv6
        while endpoints is None:
            client = self.host4() if version == 4 else self.host6()
            server = self.host4() if version == 4 else self.host6()
            cport, sport = self.ephemeral(), self.rng.choice(TCP_SERVICES)
            context = context or self.new_context(version=version)
            key = (context["vni"], 6, frozenset({(client, cport), (server, sport)}))
            if self.claim(key):
                endpoints = (client, cport, server, sport)
        client, cport, server, sport = endpoints
        t = self.start_time() if time_us is None else time_us
        rtt = self.rtt()
        cseq, sseq = self.rng.getrandbits(32), self.rng.getrandbits(32)
        cid, sid = self.rng.randrange(1, 65535), self.rng.randrange(1, 65535)

        def send(from_client, flags, size=0):
            nonlocal t, cseq, sseq, cid, sid
            if from_client:
                ip = make_ip(src=client, dst=server)
                if version == 4:
                    ip.id = cid
                    cid = (cid + 1) % 65536
                seg = TCP(sport=cport, dport=sport, flags=flags, seq=cseq, ack=sseq if "A" in flags else 0, window=64240)
            else:
                ip = make_ip(src=server, dst=client)
                if version == 4:
                    ip.id = sid
                    sid = (sid + 1) % 65536
                seg = TCP(sport=sport, dport=cport, flags=flags, seq=sseq, ack=cseq if "A" in flags else 0, window=65160)
            if "S" in flags:
                seg.options = [("MSS", 1460 if version == 4 else 1440), ("SAckOK", b""), ("WScale", 7)]
            self.emit(t, context, ip / seg / self.payload(size))
            advance = size + (1 if ("S" in flags or "F" in flags) else 0)
            if from_client:
                cseq = (cseq + advance) % 2**32
            else:
                sseq = (sseq + advance) % 2**32
            t += self.rng.randrange(20, max(21, rtt // 2))

        send(True, "S")
        if kind == "refused":
            t += rtt // 2
            send(False, "RA")
            self.count("tcp refused")
            return
        send(False, "SA")
        send(True, "A")
        rounds = self.rng.randrange(1, 4)
        for _ in range(rounds):
            send(True, "PA", max(1, self.imix()))
            for _ in range(self.rng.randrange(1, 4)):
                send(False, "PA" if self.rng.random() < 0.7 else "A", self.imix())
            send(True, "A")
        if kind == "aborted":
            send(self.rng.random() < 0.5, "RA" if self.rng.random() < 0.5 else "R")
            self.count("tcp aborted")
            return
        if self.rng.random() < 0.7:  # client closes first
            send(True, "FA")
            send(False, "FA")
            send(True, "A")
        else:
            send(False, "FA")
            send(True, "FA")
            send(False, "A")
        self.count("tcp full (IPv%d)" % version)

    def udp_flow(self, one_way=False, version=4, context=None, endpoints=None, time_us=None, big=False):
        make_ip = IP if version == 4 else IPv6
        while endpoints is None:
            client = self.host4() if version == 4 else self.host6()
            server = self.host4() if version == 4 else self.host6()
            cport = self.ephemeral()
            sport = self.rng.choice(ONE_WAY_UDP_SERVICES if one_way else UDP_SERVICES)
            context = context or self.new_context(version=version)
            key = (context["vni"], 17, frozenset({(client, cport), (server, sport)}))
            if self.claim(key):
                endpoints = (client, cport, server, sport)
        client, cport, server, sport = endpoints
        t = self.start_time() if time_us is None else time_us
        rtt = self.rtt()
        ip_id = self.rng.randrange(1, 65535)
        for _ in range(self.rng.randrange(1, 5)):
            size = self.rng.randrange(1500, 4200) if big else self.imix()
            request = make_ip(src=client, dst=server) / UDP(sport=cport, dport=sport) / self.payload(size)
            if version == 4:
                request[IP].id = ip_id
                ip_id = (ip_id + 1) % 65536
            if big:
                for piece in fragment(request, fragsize=1480):
                    self.emit(t, context, piece)
                    t += self.rng.randrange(5, 40)
            else:
                self.emit(t, context, request)
            t += rtt
            if not one_way:
                reply = make_ip(src=server, dst=client) / UDP(sport=sport, dport=cport) / self.payload(self.imix())
                if version == 4:
                    reply[IP].id = self.rng.randrange(1, 65535)
                self.emit(t, context, reply)
            t += self.rng.randrange(1000, 200_000)
        self.count("udp fragmented" if big else ("udp one-way" if one_way else "udp request/response") + " (IPv%d)" % version)

    def echo_series(self, version=4, context=None, hosts=None, time_us=None, big=False, lose_last=False):
        request_type = 8 if version == 4 else 128
        while hosts is None:
            a = self.host4() if version == 4 else self.host6()
            b = self.host4() if version == 4 else self.host6()
            context = context or self.new_context(version=version)
            proto = 1 if version == 4 else 58
            key = (context["vni"], proto, frozenset({(a, request_type), (b, request_type + (-8 if version == 4 else 1))}))
            if self.claim(key):
                hosts = (a, b)
        a, b = hosts
        t = self.start_time() if time_us is None else time_us
        ident = self.rng.randrange(1, 65535)
        count = self.rng.randrange(2, 6)
        size = self.rng.randrange(1600, 3000) if big else self.rng.choice([56, 56, 0, 32, 120, 1000])
        ip_id = self.rng.randrange(1, 65000)
        for seq in range(1, count + 1):
            data = self.payload(size)
            if version == 4:
                request = IP(src=a, dst=b, id=ip_id) / ICMP(type=8, id=ident, seq=seq) / data
                reply = IP(src=b, dst=a, id=(ip_id + 7919) % 65536) / ICMP(type=0, id=ident, seq=seq) / data
                ip_id += 1
            else:
                request = IPv6(src=a, dst=b) / ICMPv6EchoRequest(id=ident, seq=seq, data=data)
                reply = IPv6(src=b, dst=a) / ICMPv6EchoReply(id=ident, seq=seq, data=data)
            pieces = fragment(request, fragsize=1480) if big else [request]
            for piece in pieces:
                self.emit(t, context, piece)
                t += self.rng.randrange(5, 40)
            t += self.rtt()
            if not (lose_last and seq == count):
                for piece in (fragment(reply, fragsize=1480) if big else [reply]):
                    self.emit(t, context, piece)
                    t += self.rng.randrange(5, 40)
            t += self.rng.randrange(50_000, 250_000)
        self.count("icmp echo fragmented" if big else "icmp%s echo series" % ("" if version == 4 else "v6"))

    def port_unreachable(self, version=4):
        """A UDP datagram to a closed port, answered by an ICMP error that quotes it."""
        while True:
            client = self.host4() if version == 4 else self.host6()
            server = self.host4() if version == 4 else self.host6()
            cport, sport = self.ephemeral(), self.rng.randrange(33434, 33534)
            context = self.new_context(version=version)
            proto = 1 if version == 4 else 58
            udp_key = (context["vni"], 17, frozenset({(client, cport), (server, sport)}))
            code = 3 if version == 4 else 4
            icmp_type = 3 if version == 4 else 1
            icmp_key = (context["vni"], proto, frozenset({(server, icmp_type), (client, code)}))
            if udp_key not in self.used_keys and icmp_key not in self.used_keys:
                self.claim(udp_key)
                self.claim(icmp_key)
                break
        t = self.start_time()
        if version == 4:
            datagram = IP(src=client, dst=server, id=self.rng.randrange(1, 65535)) / UDP(sport=cport, dport=sport) / self.payload(self.rng.randrange(0, 300))
            quoted = bytes(datagram)[:548]
            error = IP(src=server, dst=client, id=self.rng.randrange(1, 65535)) / ICMP(type=3, code=3) / quoted
        else:
            datagram = IPv6(src=client, dst=server) / UDP(sport=cport, dport=sport) / self.payload(self.rng.randrange(0, 300))
            quoted = bytes(datagram)[:1232]
            error = IPv6(src=server, dst=client) / ICMPv6DestUnreach(code=4) / quoted
        self.emit(t, context, datagram)
        self.emit(t + self.rtt(), context, error)
        self.count("icmp%s port unreachable" % ("" if version == 4 else "v6"))

    def time_exceeded(self):
        """An echo request that dies in transit: a router returns time exceeded quoting it."""
        while True:
            a, b, router = self.host4(), self.host4(), self.host4()
            context = self.new_context()
            echo_key = (context["vni"], 1, frozenset({(a, 8), (b, 0)}))
            error_key = (context["vni"], 1, frozenset({(router, 11), (a, 0)}))
            if echo_key not in self.used_keys and error_key not in self.used_keys:
                self.claim(echo_key)
                self.claim(error_key)
                break
        t = self.start_time()
        request = IP(src=a, dst=b, ttl=1, id=self.rng.randrange(1, 65535)) / ICMP(type=8, id=self.rng.randrange(1, 65535), seq=1) / self.payload(56)
        error = IP(src=router, dst=a, id=self.rng.randrange(1, 65535)) / ICMP(type=11, code=0) / bytes(request)[:548]
        self.emit(t, context, request)
        self.emit(t + self.rtt(), context, error)
        self.count("icmp time exceeded")

    def neighbour_discovery(self):
        """NS to the solicited-node group and the NA back, and an MLDv2 report (hop-by-hop header)."""
        a, b = self.host6(), self.host6()
        context = self.new_context(version=6)
        packed = ipaddress.IPv6Address(b).packed
        solicited = str(ipaddress.IPv6Address(b"\xff\x02" + b"\x00" * 9 + b"\x01\xff" + packed[13:]))
        for key in [(context["vni"], 58, frozenset({(a, 135), (solicited, 136)})),
                    (context["vni"], 58, frozenset({(b, 136), (a, 135)})),
                    (context["vni"], 58, frozenset({(a, 143), ("ff02::16", 0)}))]:
            if not self.claim(key):
                return
        t = self.start_time()
        self.emit(t, context, IPv6(src=a, dst=solicited, hlim=255) / ICMPv6ND_NS(tgt=b))
        self.emit(t + self.rtt(), context, IPv6(src=b, dst=a, hlim=255) / ICMPv6ND_NA(tgt=b, R=0, S=1, O=1))
        mld = IPv6(src=a, dst="ff02::16", hlim=1) / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLReport2()
        self.emit(t + 2 * self.rtt(), context, mld)
        self.count("icmpv6 neighbour discovery + mld")

    def arp(self):
        context = self.new_context()
        if context["geneve_ip_inside"]:
            return
        a, b = self.host4(), self.host4()
        t = self.start_time()
        request = Ether(src=self.mac_of(a), dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=self.mac_of(a), psrc=a, pdst=b)
        reply = Ether(src=self.mac_of(b), dst=self.mac_of(a)) / ARP(op=2, hwsrc=self.mac_of(b), psrc=b, hwdst=self.mac_of(a), pdst=a)
        self.emit_l2(t, context, request)
        self.emit_l2(t + self.rtt(), context, reply)
        self.count("arp exchanges")

    def same_tuple_in_two_vnis(self, kind):
        """One conversation mirrored into VNI 100 and VNI 200 at overlapping times.

        kind: 'tcp', 'udp', 'icmp' or 'fragmented' (a UDP datagram split into IPv4 fragments)."""
        c100 = self.new_context(vni=100)
        c200 = self.new_context(vni=200)
        t = self.start_time()
        if kind == "tcp":
            client, server, cport, sport = self.host4(), self.host4(), self.ephemeral(), 443
            for context in (c100, c200):
                self.claim((context["vni"], 6, frozenset({(client, cport), (server, sport)})))
            self.tcp_flow("full", context=c100, endpoints=(client, cport, server, sport), time_us=t)
            self.tcp_flow("full", context=c200, endpoints=(client, cport, server, sport), time_us=t + 300)
        elif kind in ("udp", "fragmented"):
            client, server, cport, sport = self.host4(), self.host4(), self.ephemeral(), 53
            for context in (c100, c200):
                self.claim((context["vni"], 17, frozenset({(client, cport), (server, sport)})))
            # The same IP ids in both VNIs: fragments must be told apart by VNI too.
            state = self.rng.getstate()
            self.udp_flow(context=c100, endpoints=(client, cport, server, sport), time_us=t, big=kind == "fragmented")
            self.rng.setstate(state)
            self.udp_flow(context=c200, endpoints=(client, cport, server, sport), time_us=t + 10, big=kind == "fragmented")
        else:
            a, b = self.host4(), self.host4()
            for context in (c100, c200):
                self.claim((context["vni"], 1, frozenset({(a, 8), (b, 0)})))
            self.echo_series(context=c100, hosts=(a, b), time_us=t)
            self.echo_series(context=c200, hosts=(a, b), time_us=t + 500)
        self.count("same tuple in VNI 100 and 200 (%s)" % kind)

    # ----- output --------------------------------------------------------------------------
    @staticmethod
    def mac_bytes(mac):
        return bytes(int(part, 16) for part in mac.split(":"))

    def ethernet(self, dst_mac, src_mac, vlan, ether_type, payload):
        """Inner Ethernet header (with an 802.1Q tag when vlan is not 0) in front of payload bytes."""
        header = self.mac_bytes(dst_mac) + self.mac_bytes(src_mac)
        if vlan:
            header += struct.pack("!HH", 0x8100, vlan)
        return header + struct.pack("!H", ether_type) + payload

    def wrap(self, context, inner):
        """Outer Ethernet/IPv4/UDP/VXLAN-or-Geneve around the inner packet, as bytes.

        The inner frame is built to bytes first and carried as Raw: scapy copies a whole packet
        at every '/', so wrapping bytes is several times faster than wrapping layers."""
        vtep = context["vtep"]
        if isinstance(inner, tuple):  # ("l2", Ether/ARP frame)
            frame = inner[1]
            l2 = self.ethernet(frame.dst, frame.src, self.inner_vlan(context), 0x0806, bytes(frame.payload))
            inner_type = 0x6558
        else:
            if IP in inner:
                src, dst, ether_type = inner[IP].src, inner[IP].dst, 0x0800
            else:
                src, dst, ether_type = inner[IPv6].src, inner[IPv6].dst, 0x86DD
            if dst.startswith("ff"):
                dst_mac = "33:33:" + ":".join("%02x" % b for b in ipaddress.IPv6Address(dst).packed[12:])
            else:
                dst_mac = self.mac_of(dst)
            if context["geneve_ip_inside"]:
                l2, inner_type = bytes(inner), ether_type
            else:
                l2 = self.ethernet(dst_mac, self.mac_of(src), self.inner_vlan(context), ether_type, bytes(inner))
                inner_type = 0x6558
        # A real VTEP hashes the inner headers into the outer source port (RFC 7348 section 5).
        flow_hash = hashlib.sha1(repr((context["vni"], context["vtep"], context["serial"])).encode()).digest()
        outer_sport = 49152 + (struct.unpack("!H", flow_hash[:2])[0] % 16384)
        self.vtep_ip_id[vtep] = (self.vtep_ip_id[vtep] + 1) % 65536
        outer = Ether(src=self.mac_of(vtep), dst=COLLECTOR_MAC) / IP(src=vtep, dst=COLLECTOR, id=self.vtep_ip_id[vtep], ttl=64)
        if context["tunnel"] in ("erspan2", "erspan3", "gretap"):
            return Ether(src=self.mac_of(vtep), dst=COLLECTOR_MAC) / IP(src=vtep, dst=COLLECTOR, id=self.vtep_ip_id[vtep], ttl=64, proto=47) / Raw(self.gre(context, l2))
        if context["tunnel"] == "vxlan":
            # Linux VTEPs send a zero UDP checksum by default.
            return outer / UDP(sport=outer_sport, dport=4789, chksum=0) / VXLAN(flags=0x08, vni=context["vni"]) / Raw(l2)
        options = []
        if context["geneve_options"]:
            options = [GeneveOptions(classid=0x0102, type=0x80, data=b"\x00\x00\x00\x2a")]
        return outer / UDP(sport=outer_sport, dport=6081) / GENEVE(vni=context["vni"], proto=inner_type, options=options) / Raw(l2)

    @staticmethod
    def inner_vlan(context):
        """The inner frame's tag: none when an ERSPAN header carries the VLAN instead."""
        return 0 if context.get("erspan_vlan") else context["vlan"]

    def gre(self, context, frame):
        """GRE (RFC 2784, RFC 2890) and the ERSPAN header (draft-foschiano-erspan) in front of a frame, as bytes."""
        self.gre_sequence += 1
        vlan = context["vlan"] if context.get("erspan_vlan") else 0
        if context["tunnel"] == "gretap":
            # K set, the key is the segment id; no sequence number, as a Linux gretap device without 'seq'.
            return struct.pack("!HHI", 0x2000, 0x6558, context["vni"]) + frame
        if context["tunnel"] == "erspan2":
            # Version 1, VLAN, COS 0, En 0, T 0, session ID; reserved, index 0.
            header = struct.pack("!HHI", (1 << 12) | vlan, context["vni"], 0)
            return struct.pack("!HHI", 0x1000, 0x88BE, self.gre_sequence) + header + frame
        # Type III: version 2, VLAN, COS/BSO/T 0, session ID; a timestamp; SGT 0, FT 0 (Ethernet), O.
        optional = context["erspan_subheader"]
        header = struct.pack("!HHIHBB", (2 << 12) | vlan, context["vni"], self.gre_sequence * 1000, 0, 0, 1 if optional else 0)
        if optional:
            header += struct.pack("!II", 3 << 26, 0)  # platform ID 3, the rest switch-specific
        return struct.pack("!HHI", 0x1000, 0x22EB, self.gre_sequence) + header + frame

    def write(self, path):
        self.events.sort(key=lambda event: (event[0], event[1]))
        last = -1
        with open(path, "wb") as out:
            # pcap, microsecond timestamps, little endian, snaplen 262144, Ethernet.
            out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
            for time_us, _, context, inner in self.events:
                time_us = max(time_us, last + 1)  # strictly increasing, order kept
                last = time_us
                frame = bytes(self.wrap(context, inner))
                stamp = BASE_TIME_US + time_us
                out.write(struct.pack("<IIII", stamp // 1_000_000, stamp % 1_000_000, len(frame), len(frame)))
                out.write(frame)
        return len(self.events)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("seed", type=int)
    parser.add_argument("output")
    parser.add_argument("--geneve-share", type=float, default=0.0, help="share of flows sent over Geneve (0..1)")
    parser.add_argument("--gre-share", type=float, default=0.0, help="share of the other flows sent over GRE: ERSPAN II, III or bridged Ethernet (0..1)")
    parser.add_argument("--flows", type=int, default=300, help="about how many flows")
    args = parser.parse_args()

    g = Generator(args.seed, args.geneve_share, args.gre_share)
    n = args.flows
    builders = [
        (0.22, lambda: g.tcp_flow("full")),
        (0.08, lambda: g.tcp_flow("full", version=6)),
        (0.07, lambda: g.tcp_flow("refused")),
        (0.02, lambda: g.tcp_flow("refused", version=6)),
        (0.07, lambda: g.tcp_flow("aborted")),
        (0.12, lambda: g.udp_flow()),
        (0.05, lambda: g.udp_flow(version=6)),
        (0.07, lambda: g.udp_flow(one_way=True)),
        (0.03, lambda: g.udp_flow(big=True)),
        (0.07, lambda: g.echo_series(lose_last=g.rng.random() < 0.3)),
        (0.01, lambda: g.echo_series(big=True)),
        (0.04, lambda: g.echo_series(version=6)),
        (0.04, lambda: g.port_unreachable()),
        (0.02, lambda: g.port_unreachable(version=6)),
        (0.02, lambda: g.time_exceeded()),
        (0.02, lambda: g.neighbour_discovery()),
        (0.02, lambda: g.arp()),
    ]
    for share, build in builders:
        for _ in range(max(1, round(share * n))):
            build()
    for kind in ["tcp", "udp", "icmp", "fragmented"] * max(1, round(0.008 * n)):
        g.same_tuple_in_two_vnis(kind)
    packets = g.write(args.output)
    summary = ", ".join("%s %d" % (name, count) for name, count in sorted(g.counts.items()))
    print("%s: %d packets; %s" % (args.output, packets, summary))


if __name__ == "__main__":
    main()
