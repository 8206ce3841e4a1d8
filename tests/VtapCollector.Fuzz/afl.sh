#!/usr/bin/env bash
# Runs one fuzz target under afl-fuzz for a bounded time:
#   afl.sh TARGET SECONDS WORKDIR [BUILD_DIR]
# BUILD_DIR is the harness's build output (default: its Release build). The build is copied to
# WORKDIR/app and only the assemblies the target exercises are instrumented there (sharpfuzz
# rewrites them in place, so the build itself stays clean); the seed corpus and dictionary come
# from the harness; afl's findings, fuzzer_stats among them, go to WORKDIR/findings/default.
# Needs afl-fuzz (Debian's afl++) and sharpfuzz (scripts/install-deps.sh installs both).
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 TARGET SECONDS WORKDIR [BUILD_DIR]" >&2
  exit 2
fi
target=$1
seconds=$2
workdir=$3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${4:-$here/bin/Release/net10.0}
sharpfuzz=${SHARPFUZZ:-$repo/.tools/sharpfuzz}
if [ ! -x "$sharpfuzz" ]; then
  sharpfuzz=$(command -v sharpfuzz || true)
fi
for tool in afl-fuzz "$sharpfuzz"; do
  if [ -z "$tool" ] || ! command -v "$tool" >/dev/null; then
    echo "$0: ${tool:-sharpfuzz} is missing; run scripts/install-deps.sh" >&2
    exit 2
  fi
done
if [ ! -f "$build/VtapCollector.Fuzz.dll" ]; then
  echo "$0: no harness build in $build; run: dotnet build tests/VtapCollector.Fuzz -c Release" >&2
  exit 2
fi

rm -rf "$workdir/app" "$workdir/seeds" "$workdir/findings" "$workdir/dictionary"
mkdir -p "$workdir/app"
# Seeds, dictionary and the list of assemblies come from the clean build: instrumented code runs
# only under afl-fuzz.
clean=(dotnet "$build/VtapCollector.Fuzz.dll" --target "$target")
"${clean[@]}" --seeds "$workdir/seeds"
dictionary=()
"${clean[@]}" --dictionary "$workdir/dictionary"
if [ -s "$workdir/dictionary" ]; then
  dictionary=(-x "$workdir/dictionary")
fi

# The native Kafka library (runtimes/) is not needed by any target, and is most of the build's size.
tar -C "$build" --exclude=./runtimes -cf - . | tar -C "$workdir/app" -xf -
"${clean[@]}" --instrument | while read -r assembly prefixes; do
  # shellcheck disable=SC2086 # the prefixes are separate arguments
  "$sharpfuzz" "$workdir/app/$assembly" $prefixes >/dev/null
done
harness=(dotnet "$workdir/app/VtapCollector.Fuzz.dll" --target "$target")

# The files the capture and spool targets write on every input, in memory when /dev/shm is there.
scratch_parent=/dev/shm
if [ ! -d "$scratch_parent" ] || [ ! -w "$scratch_parent" ]; then
  scratch_parent=$workdir
fi
VTAP_FUZZ_SCRATCH=$(mktemp -d "$scratch_parent/vtap-fuzz.XXXXXX")
export VTAP_FUZZ_SCRATCH
trap 'rm -rf "$VTAP_FUZZ_SCRATCH"' EXIT

# dotnet itself carries no afl instrumentation (the managed code does, through SharpFuzz), the
# machine is shared (no CPU pinning, no frequency check), the run is unattended (no UI), and a
# .NET start takes a while. A crash is an exception reported by SharpFuzz, not a core dump, so
# kernel.core_pattern needs no change.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 \
  AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FORKSRV_INIT_TMOUT=60000 \
  AFL_HANG_TMOUT=${AFL_HANG_TMOUT:-10000} DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# -t: an input running past 2 s is a hang candidate, saved as a hang if it also runs past
# AFL_HANG_TMOUT (10 s): a busy machine or a garbage collection is not taken for a hang.
afl-fuzz -i "$workdir/seeds" -o "$workdir/findings" -V "$seconds" -t 2000 -m none "${dictionary[@]}" \
  -- "${harness[@]}"
