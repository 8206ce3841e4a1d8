#!/usr/bin/env bash
# Whole-program receive benchmark on loopback: starts `vtap-collector run` on 127.0.0.1, pushes
# the bundled sample's datagrams at it with `vtap-collector send` (one sender core, as fast as it
# goes, or --pps), and reports from the daemon's own metrics: datagrams received, kernel drops,
# dispatch drops, the sender's rate, and the daemon's CPU seconds per million datagrams.
# Usage: bench/live/loopback.sh [LOOPS] [SOCKETS] [WORKERS] [send options...]
#   e.g. bench/live/loopback.sh 20000 1 1            (880 000 datagrams)
#        bench/live/loopback.sh 20000 1 1 --pps 300000
#        COLLECTOR=out/vtap-collector bench/live/loopback.sh 20000 1 1   (another build of the daemon, e.g. NativeAOT)
set -euo pipefail
cd "$(dirname "$0")/../.."
loops=${1:-20000}; sockets=${2:-1}; workers=${3:-1}; shift $(( $# < 3 ? $# : 3 )) || true
dotnet build src/VtapCollector -c Release -v quiet -nologo -clp:ErrorsOnly >&2
dll=src/VtapCollector/bin/Release/net10.0/vtap-collector.dll
udp=$((49152 + RANDOM % 8000)); metrics=$((57152 + RANDOM % 8000))
collector=${COLLECTOR:-dotnet $dll}
# shellcheck disable=SC2086 # COLLECTOR may be "dotnet path.dll"
$collector run --Sources:Udp:Listen:0="127.0.0.1:$udp" --Sources:Udp:Sockets="$sockets" \
  --Pipeline:Workers="$workers" --Sinks:Stdout:Enabled=true --Metrics:Listen="127.0.0.1:$metrics" \
  --Flows:Capacity=100000 >/dev/null 2>/tmp/vtap-bench-daemon.log &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true' EXIT
metric() { curl -s "http://127.0.0.1:$metrics/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$metrics/readyz" >/dev/null && break; sleep 0.1; done
cpu0=$(metric process_cpu_seconds_total)
dotnet "$dll" send src/VtapCollector/Samples/sample-vxlan.pcap --to "127.0.0.1:$udp" --loop "$loops" "$@" 2>&1 | grep -E "datagrams sent|elapsed"
expected=$((44 * loops))
for _ in $(seq 100); do
  got=$(metric 'vtap_received_packets_total{source="udp"}'); drops=$(metric 'vtap_kernel_drops_total{source="udp"}')
  [ "$(printf '%.0f' "$got")" -ge $((expected - ${drops%.*})) ] && break; sleep 0.1
done
sleep 0.5
cpu1=$(metric process_cpu_seconds_total)
got=$(metric 'vtap_received_packets_total{source="udp"}')
echo "daemon: sockets $sockets, workers $workers"
echo "  datagrams sent       $expected"
echo "  datagrams received   $got"
echo "  kernel drops         $(metric 'vtap_kernel_drops_total{source="udp"}')"
echo "  dispatch drops       $(metric vtap_dispatch_dropped_packets_total)"
echo "  flows created        $(metric vtap_flows_created_total)"
echo "  gc collections gen0  $(metric 'dotnet_gc_collections_total{generation="0"}')"
awk -v a="$cpu0" -v b="$cpu1" -v n="$got" 'BEGIN { printf "  daemon CPU           %.2f s, %.2f s per million datagrams\n", b - a, (b - a) / n * 1e6 }'
kill -TERM "$daemon"; wait "$daemon" || true
