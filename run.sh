#!/usr/bin/env bash
# Replays the bundled sample capture of VXLAN-mirrored traffic and prints its flow records.
# Any arguments replace the default ones, e.g. ./run.sh replay my.pcap --output flows.jsonl
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ $# -eq 0 ]; then
  set -- replay
fi
dotnet build src/VtapCollector -c Release -v quiet -nologo -clp:ErrorsOnly >&2
exec dotnet src/VtapCollector/bin/Release/net10.0/vtap-collector.dll "$@"
