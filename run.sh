#!/usr/bin/env bash
# Without arguments: a live demo on loopback. Starts the collector daemon (`vtap-collector run`)
# on 127.0.0.1, feeds it the bundled sample (a real kernel VXLAN mirror) with `vtap-collector send`,
# shows a few of its Prometheus metrics, stops it with SIGTERM and prints the flow records it wrote.
# With arguments: runs the collector with them, e.g. ./run.sh replay my.pcap --output flows.jsonl
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/VtapCollector -c Release -v quiet -nologo -clp:ErrorsOnly >&2
collector=(dotnet src/VtapCollector/bin/Release/net10.0/vtap-collector.dll)
if [ $# -gt 0 ]; then
  exec "${collector[@]}" "$@"
fi

# Random ports of the dynamic range; if one is taken the collector says so and the demo stops.
udp_port=$((49152 + RANDOM % 8000))
metrics_port=$((57152 + RANDOM % 8000))
work=$(mktemp -d)
trap 'kill "$daemon" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== vtap-collector run: VXLAN on udp 127.0.0.1:$udp_port, metrics on http://127.0.0.1:$metrics_port/metrics" >&2
"${collector[@]}" run \
  --Sources:Udp:Listen:0="127.0.0.1:$udp_port" \
  --Sinks:Stdout:Enabled=true \
  --Metrics:Listen="127.0.0.1:$metrics_port" \
  --Flows:Capacity=100000 --Flows:TcpClosingTimeoutSeconds=1 >"$work/records.jsonl" &
daemon=$!

scrape() { # GET a path of the metrics endpoint without curl (bash's /dev/tcp)
  exec 3<>"/dev/tcp/127.0.0.1/$metrics_port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}
for _ in $(seq 100); do scrape /readyz >/dev/null 2>&1 && break; sleep 0.1; done

echo "== vtap-collector send: the bundled sample's tunnel payloads as UDP datagrams" >&2
"${collector[@]}" send src/VtapCollector/Samples/sample-vxlan.pcap --to "127.0.0.1:$udp_port"
sleep 2.5   # closed TCP connections end after their 1 s linger (end_reason fin or rst); the rest at SIGTERM

echo "== a few of its metrics" >&2
scrape /metrics | grep -E '^vtap_(received_packets_total|flows_active|rejected_packets_total\{reason="arp"\}|kernel_drops_total|vni_packets_total)' >&2

echo "== SIGTERM: every active flow ends as a record, sinks flushed; the records:" >&2
kill -TERM "$daemon"
wait "$daemon"
cat "$work/records.jsonl"
