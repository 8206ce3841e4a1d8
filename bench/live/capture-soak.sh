#!/usr/bin/env bash
# Capture soak: runs the daemon on loopback for DURATION seconds under a steady feed of RATE
# datagrams/s (`vtap-collector send --pps`) with one capture session from the API keeping FILTER,
# files rotating at 4 MiB and kept to 32 MiB, and prints every 30 s its resident memory, managed
# heap, allocation, collections, and the session's packets, drops and files on disk. Flat memory
# and allocation that grows only with scrapes are the goal; the session's drops say whether the
# writer kept up.
# Usage: bench/live/capture-soak.sh [DURATION_SECONDS] [RATE] [FILTER]
#        e.g. bench/live/capture-soak.sh 600 100000 proto=udp   (1 of the sample's 44 frames: about 2 %)
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-600}; rate=${2:-100000}; filter=${3:-proto=udp}
dotnet build src/VtapCollector -c Release -v quiet -nologo -clp:ErrorsOnly >&2
dll=src/VtapCollector/bin/Release/net10.0/vtap-collector.dll
udp=$((49152 + RANDOM % 8000)); metrics=$((57152 + RANDOM % 8000))
folder=$(mktemp -d /tmp/vtap-capture-soak.XXXXXX)
dotnet "$dll" run --Sources:Udp:Listen:0="127.0.0.1:$udp" --Sinks:File:Enabled=true --Sinks:File:Path="$folder/flows.jsonl" \
  --Metrics:Listen="127.0.0.1:$metrics" --Flows:Capacity=200000 --Capture:Directory="$folder/captures" \
  >/dev/null 2>"$folder/daemon.log" &
daemon=$!
sender=
trap 'touch "$folder/stop"; if [ -n "$sender" ]; then pkill -P "$sender" || true; fi; kill "$daemon" 2>/dev/null || true; sleep 1; rm -rf "$folder"' EXIT
metric() { awk -v m="$1" '$1 == m { print $2 }' <<<"$page"; }
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$metrics/readyz" >/dev/null && break; sleep 0.1; done
# Rotation and retention small enough to be exercised many times within the run.
curl -sf -X POST "http://127.0.0.1:$metrics/captures" \
  -d "{\"name\":\"soak\",\"filter\":\"$filter\",\"file_bytes\":4194304,\"retain_bytes\":33554432}" >/dev/null
# send takes at most a million passes of the 44-frame sample per run: run it again until the end.
( while [ ! -e "$folder/stop" ]; do dotnet "$dll" send src/VtapCollector/Samples/sample-vxlan.pcap --to "127.0.0.1:$udp" --pps "$rate" --loop 1000000 --quiet; done ) &
sender=$!
printf '%6s %12s %10s %10s %12s %6s %6s %12s %10s %6s %10s\n' t_s received rss_MiB heap_MiB alloc_MiB gen0 gen2 captured cap_drops files disk_MiB
for t in $(seq 0 30 "$duration"); do
  [ "$t" -gt 0 ] && sleep 30
  page=$(curl -s "http://127.0.0.1:$metrics/metrics")
  printf '%6d %12.0f %10.1f %10.1f %12.1f %6s %6s %12s %10s %6s %10.1f\n' "$t" \
    "$(metric 'vtap_received_packets_total{source="udp"}')" \
    "$(awk -v b="$(metric process_resident_memory_bytes)" 'BEGIN{print b/1048576}')" \
    "$(awk -v b="$(metric dotnet_gc_heap_size_bytes)" 'BEGIN{print b/1048576}')" \
    "$(awk -v b="$(metric dotnet_gc_allocated_bytes_total)" 'BEGIN{print b/1048576}')" \
    "$(metric 'dotnet_gc_collections_total{generation="0"}')" \
    "$(metric 'dotnet_gc_collections_total{generation="2"}')" \
    "$(metric 'vtap_capture_packets_total{session="soak"}')" \
    "$(metric 'vtap_capture_dropped_packets_total{session="soak"}')" \
    "$(find "$folder/captures/soak" -name '*.pcapng' | wc -l)" \
    "$(du -sk "$folder/captures/soak" | awk '{print $1/1024}')"
done
touch "$folder/stop"; pkill -P "$sender" 2>/dev/null || true
kill -TERM "$daemon"; wait "$daemon" || true
