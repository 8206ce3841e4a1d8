#!/usr/bin/env bash
# The highest rate the daemon sustains with zero drops through a veth pair: a sender namespace
# and a collector namespace (made here, removed at exit) joined by a veth; the daemon receives on
# the collector side through SOURCE (udp: a UDP socket on 10.203.0.2:4789; af_packet: one
# TPACKET_V3 ring on the veth; xdp: one AF_XDP socket, native XDP on the veth);
# `vtap-collector send --pps R` offers each rate for SECONDS; the daemon's own metrics give what
# arrived, kernel drops and its CPU time. The kernel's receive work on a veth runs in softirq on
# the sender's CPU, outside the daemon: /proc/stat's softirq time over the run (machine-wide, so
# other load on the machine shows in it) and the sender's own CPU are printed beside it. Needs root.
# Usage: [SOURCE=udp|af_packet|xdp] bench/live/veth.sh [SECONDS] [RATE ...]
#        e.g. SOURCE=xdp bench/live/veth.sh 5 50000 100000 200000 0   (rate 0: as fast as the sender goes)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-5}; shift || true
rates=("$@"); [ ${#rates[@]} -gt 0 ] || rates=(50000 100000 150000 200000 0)
source=${SOURCE:-udp}
dotnet build src/VtapCollector -c Release -v quiet -nologo -clp:ErrorsOnly >&2
dll=$PWD/src/VtapCollector/bin/Release/net10.0/vtap-collector.dll
dotnet=$(command -v dotnet)
p=vtbench$$; a=${p}a; b=${p}b; daemon=
cleanup() { kill "$daemon" 2>/dev/null || true; ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip link add vb-a netns "$a" type veth peer name vb-b netns "$b"
ip -n "$a" addr add 10.203.0.1/30 dev vb-a; ip -n "$b" addr add 10.203.0.2/30 dev vb-b
ip -n "$a" link set vb-a up; ip -n "$b" link set vb-b up; ip -n "$a" link set lo up; ip -n "$b" link set lo up
case $source in
  udp) sources=(--Sources:Udp:Listen:0=10.203.0.2:4789 --Sources:Udp:Sockets=1) ;;
  af_packet) sources=(--Sources:Udp:Enabled=false --Sources:AfPacket:Enabled=true --Sources:AfPacket:Interface=vb-b --Sources:AfPacket:Rings=1) ;;
  xdp) sources=(--Sources:Udp:Enabled=false --Sources:Xdp:Enabled=true --Sources:Xdp:Interface=vb-b --Sources:Xdp:AttachMode=Native) ;;
  *) echo "SOURCE must be udp, af_packet or xdp" >&2; exit 2 ;;
esac
ip netns exec "$b" "$dotnet" "$dll" run "${sources[@]}" --Sinks:Stdout:Enabled=true \
  --Metrics:Listen=127.0.0.1:9464 --Flows:Capacity=100000 >/dev/null 2>/tmp/vtap-veth-daemon.log &
daemon=$!
metric() { ip netns exec "$b" curl -s http://127.0.0.1:9464/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
# Seconds of softirq time over every CPU (/proc/stat's seventh field, in USER_HZ ticks).
softirq() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print $8 / hz }' /proc/stat; }
for _ in $(seq 200); do ip netns exec "$b" curl -sf http://127.0.0.1:9464/readyz >/dev/null && break; sleep 0.1; done
grep -o 'Collecting from [^;]*' /tmp/vtap-veth-daemon.log >&2 || true
printf '%-9s %10s %12s %12s %10s %10s %14s %14s %14s\n' source offered sent_per_s received drops cpu_s cpu_s_per_M softirq_s_per_M sender_s_per_M
for rate in "${rates[@]}"; do
  got0=$(metric "vtap_received_packets_total{source=\"$source\"}"); drops0=$(metric "vtap_kernel_drops_total{source=\"$source\"}"); cpu0=$(metric process_cpu_seconds_total)
  soft0=$(softirq)
  pps=(); [ "$rate" -gt 0 ] && pps=(--pps "$rate")
  # At full speed a fixed count (880 000 datagrams) rather than a duration: its rate is the sender's.
  loops=$(( rate > 0 ? rate * seconds / 44 + 1 : 20000 ))
  out=$( { TIMEFORMAT='%U %S'; time ip netns exec "$a" timeout 300 "$dotnet" "$dll" send src/VtapCollector/Samples/sample-vxlan.pcap --to 10.203.0.2:4789 "${pps[@]}" --loop "$loops" 2>&1 || true; } 2>&1 )
  sender=$(tail -1 <<<"$out" | awk '{ print $1 + $2 }')
  sent_rate=$(grep -oE '\(([0-9,]+) datagrams/s' <<<"$out" | tr -d '(,' | awk '{print $1}')
  sleep 1
  soft=$(softirq)
  got=$(metric "vtap_received_packets_total{source=\"$source\"}"); drops=$(metric "vtap_kernel_drops_total{source=\"$source\"}"); cpu=$(metric process_cpu_seconds_total)
  awk -v src="$source" -v r="$rate" -v s="$sent_rate" -v g0="$got0" -v g="$got" -v d0="$drops0" -v d="$drops" -v c0="$cpu0" -v c="$cpu" -v s0="$soft0" -v s1="$soft" -v snd="$sender" \
    'BEGIN { n = g - g0; printf "%-9s %10s %12s %12d %10d %10.2f %14.2f %14.2f %14.2f\n", src, (r > 0 ? r : "max"), s, n, d - d0, c - c0, (c - c0) / n * 1e6, (s1 - s0) / n * 1e6, snd / n * 1e6 }'
done
