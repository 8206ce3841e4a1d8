#!/usr/bin/env bash
# Compares builds of the collector on the same replay, alternating them round by round, and prints
# each one's wall times and median. Each executable is first copied into a fresh file of its own:
# two byte-identical copies of the packaged executable were measured 3-5 % apart (the kernel's
# page-cache layout of the file), so comparing a build written one way with a build written another
# way measures the files, not the builds.
# Usage: bench/compare/ab.sh ROUNDS CORPUS EXECUTABLE... [-- replay options]
#   e.g. bench/compare/ab.sh 9 /tmp/imix.pcap /tmp/before/vtap-collector /tmp/after/vtap-collector -- --workers 1 --export-threads 2
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi

rounds=$1
corpus=$2
shift 2
exes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  exes+=("$1")
  shift
done
[ "${1:-}" = "--" ] && shift
options=("$@")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copies=()
for i in "${!exes[@]}"; do
  cp "${exes[$i]}" "$work/collector-$i"
  copies+=("$work/collector-$i")
done

for _ in $(seq "$rounds"); do
  for i in "${!copies[@]}"; do
    start=$(date +%s%N)
    "${copies[$i]}" replay "$corpus" --output /dev/null --quiet "${options[@]}" >/dev/null
    end=$(date +%s%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }' >>"$work/times-$i"
  done
done

for i in "${!exes[@]}"; do
  median=$(sort -n "$work/times-$i" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
  printf '%-50s %s  median %s\n' "${exes[$i]}" "$(paste -sd' ' "$work/times-$i")" "$median"
done
