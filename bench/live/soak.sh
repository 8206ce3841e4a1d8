#!/usr/bin/env bash
# Memory over time: runs the daemon on loopback for DURATION seconds under a steady feed from
# `vtap-collector send --pps RATE` and prints, every 30 s, its resident memory, managed heap,
# garbage collections, active flows and drops (from its own /metrics).
# Usage: bench/live/soak.sh [DURATION_SECONDS] [RATE]      e.g. bench/live/soak.sh 600 50000
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-600}; rate=${2:-50000}
dotnet build src/VtapCollector -c Release -v quiet -nologo -clp:ErrorsOnly >&2
dll=src/VtapCollector/bin/Release/net10.0/vtap-collector.dll
udp=$((49152 + RANDOM % 8000)); metrics=$((57152 + RANDOM % 8000))
dotnet "$dll" run --Sources:Udp:Listen:0="127.0.0.1:$udp" --Sinks:Stdout:Enabled=true \
  --Metrics:Listen="127.0.0.1:$metrics" --Flows:Capacity=200000 >/dev/null 2>/tmp/vtap-soak-daemon.log &
daemon=$!
trap 'kill "$daemon" "$sender" 2>/dev/null || true' EXIT
# One scrape per sample (a scrape allocates a little: its text), read field by field.
metric() { awk -v m="$1" '$1 == m { print $2 }' <<<"$page"; }
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$metrics/readyz" >/dev/null && break; sleep 0.1; done
loops=$(( rate * duration / 44 + 1 ))
dotnet "$dll" send src/VtapCollector/Samples/sample-vxlan.pcap --to "127.0.0.1:$udp" --pps "$rate" --loop "$loops" --quiet &
sender=$!
printf '%6s %12s %10s %10s %12s %6s %6s %6s %8s %10s\n' t_s received rss_MiB heap_MiB alloc_MiB gen0 gen1 gen2 flows drops
for t in $(seq 0 30 "$duration"); do
  [ "$t" -gt 0 ] && sleep 30
  page=$(curl -s "http://127.0.0.1:$metrics/metrics")
  printf '%6d %12.0f %10.1f %10.1f %12.1f %6s %6s %6s %8s %10s\n' "$t" \
    "$(metric 'vtap_received_packets_total{source="udp"}')" \
    "$(awk -v b="$(metric process_resident_memory_bytes)" 'BEGIN{print b/1048576}')" \
    "$(awk -v b="$(metric dotnet_gc_heap_size_bytes)" 'BEGIN{print b/1048576}')" \
    "$(awk -v b="$(metric dotnet_gc_allocated_bytes_total)" 'BEGIN{print b/1048576}')" \
    "$(metric 'dotnet_gc_collections_total{generation="0"}')" \
    "$(metric 'dotnet_gc_collections_total{generation="1"}')" \
    "$(metric 'dotnet_gc_collections_total{generation="2"}')" \
    "$(metric vtap_flows_active)" "$(metric 'vtap_kernel_drops_total{source="udp"}')"
done
kill "$sender" 2>/dev/null || true
kill -TERM "$daemon"; wait "$daemon" || true
