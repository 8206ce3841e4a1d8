#!/usr/bin/env bash
# Runs the whole test suite: installs the test oracles (tshark, scapy, ...), builds, tests.
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-deps.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test VtapCollector.sln -c Release 2>&1 | tee "$log" || status=$?

# One plain closing line over all test projects.
awk '/^(Passed|Failed)!/ {
       for (i = 1; i <= NF; i++) {
         if ($i == "Failed:")  { gsub(",", "", $(i+1)); failed += $(i+1) }
         if ($i == "Passed:")  { gsub(",", "", $(i+1)); passed += $(i+1) }
         if ($i == "Skipped:") { gsub(",", "", $(i+1)); skipped += $(i+1) }
       }
     }
     END { printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }' "$log"
exit "$status"
