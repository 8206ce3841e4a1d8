#!/usr/bin/env bash
# The highest rate the daemon sustains with zero drops through a veth pair: a sender namespace
# and a collector namespace (made here, removed at exit) joined by a veth; the daemon listens on
# the collector side; `vtap-collector send --pps R` offers each rate for SECONDS; the daemon's own
# metrics give what arrived, kernel drops and its CPU time. Needs root.
# Usage: bench/live/veth.sh [SECONDS] [RATE ...]     e.g. bench/live/veth.sh 5 50000 100000 200000 0
#        (rate 0: as fast as the sender goes)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-5}; shift || true
rates=("$@"); [ ${#rates[@]} -gt 0 ] || rates=(50000 100000 150000 200000 0)
dotnet build src/VtapCollector -c Release -v quiet -nologo -clp:ErrorsOnly >&2
dll=$PWD/src/VtapCollector/bin/Release/net10.0/vtap-collector.dll
dotnet=$(command -v dotnet)
p=vtbench$$; a=${p}a; b=${p}b
cleanup() { kill "$daemon" 2>/dev/null || true; ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip link add vb-a netns "$a" type veth peer name vb-b netns "$b"
ip -n "$a" addr add 10.203.0.1/30 dev vb-a; ip -n "$b" addr add 10.203.0.2/30 dev vb-b
ip -n "$a" link set vb-a up; ip -n "$b" link set vb-b up; ip -n "$a" link set lo up; ip -n "$b" link set lo up
ip netns exec "$b" "$dotnet" "$dll" run --Sources:Udp:Listen:0=10.203.0.2:4789 --Sinks:Stdout:Enabled=true \
  --Metrics:Listen=127.0.0.1:9464 --Flows:Capacity=100000 >/dev/null 2>/tmp/vtap-veth-daemon.log &
daemon=$!
metric() { ip netns exec "$b" curl -s http://127.0.0.1:9464/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
for _ in $(seq 200); do ip netns exec "$b" curl -sf http://127.0.0.1:9464/readyz >/dev/null && break; sleep 0.1; done
printf '%10s %12s %12s %12s %10s %14s\n' offered sent_per_s received drops cpu_s cpu_s_per_M
for rate in "${rates[@]}"; do
  got0=$(metric 'vtap_received_packets_total{source="udp"}'); drops0=$(metric 'vtap_kernel_drops_total{source="udp"}'); cpu0=$(metric process_cpu_seconds_total)
  pps=(); [ "$rate" -gt 0 ] && pps=(--pps "$rate")
  # At full speed a fixed count (880 000 datagrams) rather than a duration: its rate is the sender's.
  loops=$(( rate > 0 ? rate * seconds / 44 + 1 : 20000 ))
  out=$(ip netns exec "$a" timeout 300 "$dotnet" "$dll" send src/VtapCollector/Samples/sample-vxlan.pcap --to 10.203.0.2:4789 "${pps[@]}" --loop "$loops" 2>&1 || true)
  sent_rate=$(grep -oE '\(([0-9,]+) datagrams/s' <<<"$out" | tr -d '(,' | awk '{print $1}')
  sleep 1
  got=$(metric 'vtap_received_packets_total{source="udp"}'); drops=$(metric 'vtap_kernel_drops_total{source="udp"}'); cpu=$(metric process_cpu_seconds_total)
  awk -v r="$rate" -v s="$sent_rate" -v g0="$got0" -v g="$got" -v d0="$drops0" -v d="$drops" -v c0="$cpu0" -v c="$cpu" \
    'BEGIN { printf "%10s %12s %12d %12d %10.2f %14.2f\n", (r > 0 ? r : "max"), s, g - g0, d - d0, c - c0, (c - c0) / (g - g0) * 1e6 }'
done
