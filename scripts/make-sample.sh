#!/usr/bin/env bash
# Records the bundled sample capture from a real kernel mirror, the way a cloud TAP delivers it:
# in network namespaces made here, a workload pair talks (HTTP, refused TCP, UDP, ICMP, IPv6),
# tc mirrors the server's interface in both directions into a kernel VXLAN device (VNI 100), and
# tcpdump in a collector namespace writes what arrives on UDP 4789.
# Usage (root): scripts/make-sample.sh OUTPUT.pcap
set -euo pipefail
out=${1:?usage: make-sample.sh OUTPUT.pcap}
p=vtsample$$
client=${p}c; server=${p}s; collector=${p}k

cleanup() {
  for ns in "$client" "$server" "$collector"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT

for ns in "$client" "$server" "$collector"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done

# Workload link: client 10.99.0.1 <-> server 10.99.0.2 (and fd99::1 <-> fd99::2).
ip link add wl-c netns "$client" type veth peer name wl-s netns "$server"
ip -n "$client" addr add 10.99.0.1/24 dev wl-c; ip -n "$client" addr add fd99::1/64 dev wl-c nodad
ip -n "$server" addr add 10.99.0.2/24 dev wl-s; ip -n "$server" addr add fd99::2/64 dev wl-s nodad
ip -n "$client" link set wl-c up; ip -n "$server" link set wl-s up

# Underlay from the tapped host to the collector: 172.31.99.1 -> 172.31.99.2, MTU room for VXLAN.
ip link add ul-s netns "$server" type veth peer name ul-k netns "$collector"
ip -n "$server" addr add 172.31.99.1/30 dev ul-s; ip -n "$collector" addr add 172.31.99.2/30 dev ul-k
ip -n "$server" link set ul-s mtu 1600 up; ip -n "$collector" link set ul-k mtu 1600 up

# The TAP: VXLAN VNI 100 towards the collector, fed by tc mirred from both directions of wl-s.
ip -n "$server" link add vtap0 type vxlan id 100 local 172.31.99.1 remote 172.31.99.2 dstport 4789 dev ul-s
ip -n "$server" link set vtap0 up
ip netns exec "$server" tc qdisc add dev wl-s clsact
for hook in ingress egress; do
  ip netns exec "$server" tc filter add dev wl-s "$hook" protocol all u32 match u32 0 0 action mirred egress mirror dev vtap0
done

ip netns exec "$collector" tcpdump -i ul-k -s 0 -U -w "$out" udp port 4789 2>/dev/null &
dump=$!
sleep 1

# Workload traffic.
ip netns exec "$server" python3 -m http.server 8080 --bind 10.99.0.2 >/dev/null 2>&1 &
web=$!
sleep 1
ip netns exec "$client" ping -c 3 -i 0.2 10.99.0.2 >/dev/null
ip netns exec "$client" curl -s -o /dev/null --max-time 5 http://10.99.0.2:8080/
ip netns exec "$client" curl -s -o /dev/null --max-time 5 http://10.99.0.2:8081/ || true
ip netns exec "$server" timeout 3 nc -u -l -p 5353 -w 1 >/dev/null 2>&1 &
sleep 0.3
echo "query" | ip netns exec "$client" timeout 2 nc -u -w 1 10.99.0.2 5353 || true
ip netns exec "$client" ping -6 -c 2 -i 0.2 fd99::2 >/dev/null
sleep 1
kill "$web" 2>/dev/null || true
kill -INT "$dump"; wait "$dump" 2>/dev/null || true
