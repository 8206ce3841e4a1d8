#!/usr/bin/env bash
# Builds vtap-collector_VERSION_ARCH.deb: publishes the collector as one self-contained,
# ReadyToRun executable (no .NET needed on the target), stages the package tree and runs
# dpkg-deb. Needs the .NET SDK (unless --publish-dir is given) and dpkg-deb; no debhelper.
#
#   packaging/build-deb.sh [--output DIR] [--artifacts-path DIR] [--publish-dir DIR]
#                          [--version VERSION] [--revision N] [--compression xz|gzip|zstd|none]
#
#   --output DIR          where the .deb goes (default: artifacts/deb in the repository)
#   --artifacts-path DIR  dotnet's --artifacts-path for the publish (default: a folder under
#                         TMPDIR, so the publish neither collides with nor rebuilds a test build)
#   --publish-dir DIR     package DIR/vtap-collector, an existing publish, instead of publishing
#   --version VERSION     the upstream version (default: the build's Version property, from
#                         Directory.Build.props); a pre-release 1.2.0-rc.1 becomes 1.2.0~rc.1
#   --revision N          the Debian revision (default 1)
#   --compression KIND    dpkg-deb's member compression (default xz, the smallest; gzip is ten
#                         times faster to build and is what the tests use)
# Prints the path of the .deb on standard output.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packaging="$repo/packaging"
project="$repo/src/VtapCollector/VtapCollector.csproj"

output="$repo/artifacts/deb"
artifacts="${TMPDIR:-/tmp}/vtap-collector-deb-build"
publish_dir=""
version=""
revision=1
compression=xz
arch=amd64
maintainer=${DEB_MAINTAINER:-"VtapCollector maintainers <vtap-collector@users.noreply.github.com>"}

die() {
    echo "build-deb: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
        --output) output=$2; shift 2 ;;
        --artifacts-path) artifacts=$2; shift 2 ;;
        --publish-dir) publish_dir=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --revision) revision=$2; shift 2 ;;
        --compression) compression=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

case "$compression" in
    xz|gzip|zstd|none) ;;
    *) die "--compression must be xz, gzip, zstd or none" ;;
esac

command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg)"

# The publish: self-contained single file with ReadyToRun code. NativeAOT builds and is not slower,
# but the unit could not then deny writable-executable memory (Confluent.Kafka's callbacks need
# NativeAOT thunks), so it would buy no hardening for a trimmed build's risk. KafkaNative=system: the
# package takes librdkafka from Debian (Depends: librdkafka1) rather than bundling another copy.
if [ -z "$publish_dir" ]; then
    publish_dir="$artifacts/publish"
    echo "build-deb: publishing to $publish_dir" >&2
    dotnet publish "$project" -c Release -r linux-x64 --self-contained \
        -p:PublishSingleFile=true -p:PublishReadyToRun=true -p:KafkaNative=system \
        --artifacts-path "$artifacts" -o "$publish_dir" -nologo -v quiet >&2
fi
binary="$publish_dir/vtap-collector"
[ -x "$binary" ] || die "$binary is missing or not executable"

if [ -z "$version" ]; then
    version=$(dotnet msbuild "$project" -getProperty:Version -nologo)
fi
[ -n "$version" ] || die "no version"
# Debian orders 1.2.0~rc.1 before 1.2.0, as SemVer orders 1.2.0-rc.1 before 1.2.0.
upstream=${version//-/\~}
upstream=${upstream%%+*}
deb_version="$upstream-$revision"

# Dates in the package come from the last commit, so two builds of one commit are identical.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

stage=$(mktemp -d "${TMPDIR:-/tmp}/vtap-collector-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
umask 022

doc="$stage/usr/share/doc/vtap-collector"
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/vtap-collector" \
    "$stage/etc/vtap-collector" "$stage/lib/systemd/system" "$stage/usr/lib/sysctl.d" \
    "$doc/examples" "$stage/usr/share/man/man1" "$stage/usr/share/lintian/overrides"

# The program, and the command on PATH. The single-file bundle is not stripped: strip would cut
# off the bundled assemblies appended to the executable.
install -m 0755 "$binary" "$stage/usr/lib/vtap-collector/vtap-collector"
ln -s ../lib/vtap-collector/vtap-collector "$stage/usr/bin/vtap-collector"
install -m 0755 "$packaging/tune-nic" "$stage/usr/lib/vtap-collector/tune-nic"

install -m 0644 "$packaging/vtap-collector.json" "$stage/etc/vtap-collector/vtap-collector.json"
install -m 0644 "$repo/systemd/vtap-collector.service" "$repo/systemd/vtap-collector-tune-nic@.service" \
    "$stage/lib/systemd/system/"
install -m 0644 "$packaging/sysctl/60-vtap-collector.conf" "$stage/usr/lib/sysctl.d/"

install -m 0644 "$repo/systemd/af-packet.conf" "$repo/systemd/gre-socket.conf" "$repo/systemd/af-xdp.conf" "$packaging/container.json" "$doc/examples/"
install -m 0644 "$repo/systemd/README.md" "$doc/README.systemd.md"
sed "s|@MAINTAINER@|$maintainer|" "$packaging/debian/copyright.in" >"$doc/copyright"
chmod 0644 "$doc/copyright"
{
    echo "vtap-collector ($deb_version) unstable; urgency=medium"
    echo
    echo "  * Upstream release $version; the changes are in CHANGELOG.md of the source."
    echo
    echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.Debian.gz"
sed "s|@VERSION@|$version|" "$packaging/vtap-collector.1" | gzip -9n >"$stage/usr/share/man/man1/vtap-collector.1.gz"
chmod 0644 "$doc/changelog.Debian.gz" "$stage/usr/share/man/man1/vtap-collector.1.gz"
install -m 0644 "$packaging/debian/lintian-overrides" "$stage/usr/share/lintian/overrides/vtap-collector"

for script in postinst prerm postrm; do
    install -m 0755 "$packaging/debian/$script" "$stage/DEBIAN/$script"
done
echo /etc/vtap-collector/vtap-collector.json >"$stage/DEBIAN/conffiles"

installed_size=$(du -k -s --apparent-size --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: vtap-collector
Version: $deb_version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: adduser, libc6 (>= 2.27), libgcc-s1, libstdc++6 (>= 6), librdkafka1 (>= 2.0.2), libpcap0.8 | libpcap0.8t64
Recommends: ethtool
Section: net
Priority: optional
Homepage: https://github.com/vtap-collector/vtap-collector
Description: flow records from cloud port-mirror (VXLAN/Geneve) traffic
 VtapCollector receives the copies of workload packets that Azure Virtual
 Network TAP, AWS VPC Traffic Mirroring, GCP Packet Mirroring and switch
 mirrors send wrapped in VXLAN (UDP 4789) or Geneve (UDP 6081), and turns
 them into bidirectional flow records (JSON Lines) with TCP state and
 Community ID, written to rotating files, stdout or Kafka.
 .
 The package runs it as the hardened systemd service vtap-collector, under
 its own system user, with Prometheus metrics and health endpoints on
 127.0.0.1:9464, kernel receive-buffer settings, and a NIC tuning helper
 (vtap-collector-tune-nic@IFACE.service).
EOF

(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

mkdir -p "$output"
deb="$(cd "$output" && pwd)/vtap-collector_${deb_version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"$compression" --build "$stage" "$deb" >&2
echo "$deb"
