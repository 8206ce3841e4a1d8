#!/usr/bin/env bash
# What a capture session costs a whole replay: the same capture replayed with no session, with a
# session that matches nothing, and with a session that keeps about 1 % of the packets, the three
# cases alternating round by round so a noisy machine penalises them alike.
# Prints each case's wall and CPU (user + system) seconds per round, their medians, and the median
# of the per-round ratios to the no-session run of the same round (the figure to quote: a drift of
# the machine's speed between rounds cancels in it).
# Usage: bench/compare/capture-cost.sh [ROUNDS] [CORPUS] [-- extra replay options]
#        (default 9 rounds, /tmp/imix.pcap; write the corpus with bench/compare/run.sh first)
#        REPLAY=dll bench/compare/capture-cost.sh ...   (the framework-dependent build, not the packaged one)
# The 1 % session: host=10.0.0.0/18 keeps 60 792 of the IMIX corpus's 5 000 000 packets (1.2 %).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-9}
corpus=${2:-/tmp/imix.pcap}
shift $(( $# < 2 ? $# : 2 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")

if [ ! -s "$corpus" ]; then
  echo "No corpus at $corpus: run bench/compare/run.sh once to write it." >&2
  exit 2
fi

command -v /usr/bin/time >/dev/null || { echo "Needs GNU time (apt-get install time)." >&2; exit 2; }
# shellcheck source=bench/compare/collector.sh
source bench/compare/collector.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cases=(none idle one)
for round in $(seq "$rounds"); do
  for name in "${cases[@]}"; do
    case $name in
      none) session=() ;;
      idle) session=(--capture-filter vni=16000000 --capture-output "$out/idle.pcapng") ;;
      one) session=(--capture-filter host=10.0.0.0/18 --capture-output "$out/one.pcapng") ;;
    esac
    rm -f "$out"/*.pcapng
    start=$(date +%s%N)
    /usr/bin/time -f "%U %S" -o "$out/time" \
      "${replay[@]}" "$corpus" --output /dev/null --quiet "${extra[@]}" "${session[@]}" >/dev/null
    end=$(date +%s%N)
    read -r user system <"$out/time"
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", (e - s) / 1e9 }' >>"$out/$name.wall"
    echo "$user $system" | awk '{print $1 + $2}' >>"$out/$name.cpu"
  done
  echo "round $round: none $(tail -1 "$out/none.wall") s, idle $(tail -1 "$out/idle.wall") s, one $(tail -1 "$out/one.wall") s" >&2
done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
printf '%-6s %-12s %-12s %-16s %-16s\n' case "wall median" "cpu median" "wall vs none" "cpu vs none"
for name in "${cases[@]}"; do
  wall_ratio=$(paste "$out/$name.wall" "$out/none.wall" | awk '{print $1 / $2}' | median)
  cpu_ratio=$(paste "$out/$name.cpu" "$out/none.cpu" | awk '{print $1 / $2}' | median)
  printf '%-6s %-12s %-12s %-16s %-16s\n' "$name" "$(median <"$out/$name.wall")" "$(median <"$out/$name.cpu")" \
    "$(awk -v r="$wall_ratio" 'BEGIN {printf "%+.1f %%", (r - 1) * 100}')" \
    "$(awk -v r="$cpu_ratio" 'BEGIN {printf "%+.1f %%", (r - 1) * 100}')"
done
