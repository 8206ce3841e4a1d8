#!/usr/bin/env bash
# Times `vtap-collector replay` against flowcount.c, a libpcap program in C that does the same
# decapsulation and bidirectional flow counting, on the same IMIX corpus, alternating the programs
# round by round so a noisy machine penalises them alike. Replay runs with one worker, with one
# worker and N export threads, and with N workers (N = cores); a build without --workers runs
# single-threaded, and says so.
# Prints each run's wall time, the medians, the ratio C time / replay time, and both programs'
# packet and flow totals, which must agree.
# Usage: bench/compare/run.sh [PACKETS] [FLOWS] [CORPUS]   (default 5000000 200000 /tmp/imix.pcap)
#        ROUNDS=5 bench/compare/run.sh ...                   (default 3 rounds)
#        REPLAY=dll bench/compare/run.sh ...                 (the framework-dependent build, not the packaged one)
set -euo pipefail
cd "$(dirname "$0")/../.."
packets=${1:-5000000}
flows=${2:-200000}
corpus=${3:-/tmp/imix.pcap}
rounds=${ROUNDS:-3}
cores=$(nproc)

# The C compiler and libpcap's headers (Debian package names); installed only when missing.
missing=()
command -v gcc >/dev/null || missing+=(gcc)
dpkg-query -W -f='${Status}' libpcap-dev 2>/dev/null | grep -q "install ok installed" || missing+=(libpcap-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bin=bench/compare/bin
mkdir -p "$bin"
gcc -O2 -Wall -Wextra -o "$bin/flowcount" bench/compare/flowcount.c -lpcap
# shellcheck source=bench/compare/collector.sh
source bench/compare/collector.sh

if [ ! -s "$corpus" ]; then
  echo "Writing the corpus: $packets packets over $flows flows to $corpus" >&2
  dotnet build bench/VtapCollector.Benchmarks -c Release -v quiet -nologo -clp:ErrorsOnly >&2
  dotnet bench/VtapCollector.Benchmarks/bin/Release/net10.0/VtapCollector.Benchmarks.dll corpus \
    --packets "$packets" --flows "$flows" --output "$corpus"
fi

# --workers is new; an older build rejects it as an unknown option.
workers_supported=1
probe=$("${replay[@]}" tests/data/tcpdump/vxlan.pcap --output /dev/null --quiet --workers 1 2>&1 || true)
if grep -q "Unknown option" <<<"$probe"; then
  workers_supported=0
  echo "This build of vtap-collector has no --workers option: every replay below runs single-threaded." >&2
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# run NAME COMMAND...: runs once, appends the wall seconds to $out/NAME.times, keeps the output.
run() {
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  "$@" >"$out/$name.out" 2>&1 || { echo "$name failed:" >&2; cat "$out/$name.out" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }' >>"$out/$name.times"
}

# replay-1: one flow worker (and one export thread: the records in single-table order);
# replay-1xN: one worker and N export threads (N = cores), so the end-of-input burst of records is
# encoded on every core; replay-N: N workers and N export threads.
configs=(c replay-1)
declare -A config_args=([replay-1]="--workers 1")
if [ "$cores" -gt 1 ]; then
  configs+=("replay-1x$cores" "replay-$cores")
  config_args["replay-1x$cores"]="--workers 1 --export-threads $cores"
  config_args["replay-$cores"]="--workers $cores --export-threads $cores"
fi
for round in $(seq "$rounds"); do
  run c "$bin/flowcount" "$corpus"
  for config in "${configs[@]:1}"; do
    if [ "$workers_supported" -eq 1 ]; then
      # shellcheck disable=SC2086 # the options are words on purpose
      run "$config" "${replay[@]}" "$corpus" --output /dev/null ${config_args[$config]}
    else
      run "$config" "${replay[@]}" "$corpus" --output /dev/null
    fi
  done
  echo "round $round done" >&2
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# total FILE LABEL: the number after LABEL in a summary (thousands separators removed).
total() { awk -v l="$2" '$1 == l { gsub(",", "", $2); print $2; exit }' "$1"; }

c_median=$(median "$out/c.times")
echo
echo "corpus: $corpus ($(stat -c %s "$corpus") bytes), $rounds rounds, $cores cores"
printf '%-12s %-40s %8s %10s %10s %10s\n' program "wall seconds per run" median "C/replay" packets flows
for config in "${configs[@]}"; do
  m=$(median "$out/$config.times")
  ratio=$(awk -v c="$c_median" -v r="$m" 'BEGIN { printf "%.2f", c / r }')
  label=$config
  [ "$config" != c ] && [ "$workers_supported" -eq 0 ] && label="$config*"
  printf '%-12s %-40s %8.3f %10s %10s %10s\n' "$label" "$(paste -sd' ' "$out/$config.times")" "$m" \
    "$([ "$config" = c ] && echo - || echo "${ratio}x")" "$(total "$out/$config.out" packets)" "$(total "$out/$config.out" flows)"
done
[ "$workers_supported" -eq 0 ] && echo "* --workers is not supported by this build: run single-threaded."
echo
echo "last flowcount output:"; sed 's/^/  /' "$out/c.out"
echo "last replay output (${configs[-1]}):"; sed 's/^/  /' "$out/${configs[-1]}.out"
