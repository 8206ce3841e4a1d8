#!/usr/bin/env bash
# Installs the Debian packages the tests use as independent oracles and real peers:
# tshark/tcpdump decode captures, scapy generates them, iproute2 builds namespaces and tunnels, iptables drops packets in them,
# libpcap is the live-capture source, prometheus (server and promtool) scrapes and checks metrics,
# librdkafka1 is what the .deb depends on, lintian/shellcheck check the package and its scripts,
# cloud-init and packer validate the VM image recipes, afl++ fuzzes the parsers (with the sharpfuzz
# tool, installed into .tools/, instrumenting the assemblies), nfdump (nfcapd) and pmacct (nfacctd)
# are the IPFIX collectors the export is checked against, iputils-ping checks that the host's own
# traffic still flows while the AF_XDP source's program is attached, and xdp-tools attaches another
# tool's XDP program that the source must leave in place.
# Idempotent: installs only what is missing. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

packages=(tshark tcpdump python3-scapy iproute2 iptables procps curl libpcap0.8 prometheus librdkafka1 lintian shellcheck cloud-init packer netbase afl++ nfdump pmacct iputils-ping xdp-tools)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

# The .NET fuzzing instrumenter, a dotnet tool kept in the repository's .tools/ (ignored by git).
sharpfuzz_version=2.3.0
tools=$(cd "$(dirname "$0")/.." && pwd)/.tools
if [ ! -x "$tools/sharpfuzz" ] || [ ! -d "$tools/.store/sharpfuzz.commandline/$sharpfuzz_version" ]; then
  echo "Installing the sharpfuzz tool $sharpfuzz_version into $tools" >&2
  dotnet tool uninstall --tool-path "$tools" SharpFuzz.CommandLine >/dev/null 2>&1 || true
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version "$sharpfuzz_version" >/dev/null
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing test dependencies: ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
