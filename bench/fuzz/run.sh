#!/usr/bin/env bash
# The long fuzz run: builds the harness, runs one target (or all, one after the other) under
# afl-fuzz for SECONDS each, and prints where the findings are and afl's figures.
#   bench/fuzz/run.sh TARGET|all SECONDS [OUTDIR]
# Targets: decoder, capture, settings, spool. OUTDIR defaults to bench/fuzz/findings/<UTC time>.
# A crash or hang input is in OUTDIR/TARGET/findings/default/{crashes,hangs}; replay one with
#   dotnet tests/VtapCollector.Fuzz/bin/Release/net10.0/VtapCollector.Fuzz.dll --target TARGET --replay FILE
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 2 ]; then
  echo "usage: $0 decoder|capture|settings|spool|all SECONDS [OUTDIR]" >&2
  exit 2
fi
targets=("$1")
if [ "$1" = all ]; then
  targets=(decoder capture settings spool)
fi
seconds=$2
out=${3:-bench/fuzz/findings/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tests/VtapCollector.Fuzz -c Release -v quiet -nologo >/dev/null

status=0
for target in "${targets[@]}"; do
  echo "fuzzing $target for $seconds s into $out/$target" >&2
  tests/VtapCollector.Fuzz/afl.sh "$target" "$seconds" "$out/$target" >"$out/$target.log" 2>&1 || status=$?
done

printf '%-9s %12s %9s %8s %11s %8s %6s\n' target execs execs/s run_s edges crashes hangs
for target in "${targets[@]}"; do
  stats=$out/$target/findings/default/fuzzer_stats
  if [ ! -f "$stats" ]; then
    echo "$target: no fuzzer_stats; see $out/$target.log"
    status=1
    continue
  fi
  awk -v target="$target" -F' *: *' '
    { value[$1] = $2 }
    END {
      printf "%-9s %12s %9.0f %8s %5s/%-5s %8s %6s\n", target, value["execs_done"], value["execs_per_sec"],
        value["run_time"], value["edges_found"], value["total_edges"], value["saved_crashes"], value["saved_hangs"]
      if (value["saved_crashes"] + value["saved_hangs"] > 0) exit 1
    }' "$stats" || status=1
done
echo "findings: $out"
exit "$status"
