#!/usr/bin/env bash
# Installs, upgrades, removes and purges vtap-collector with the real dpkg and the real maintainer
# scripts, in a throwaway copy of this machine, and checks each step:
#
#   packaging/check-lifecycle.sh NEW.deb [OLD.deb]
#
# The copy is an overlay of / (changes go to a tmpfs) in a private mount namespace, entered with
# chroot: the package sees this machine's dpkg database, adduser and libraries, and nothing it
# does reaches the machine itself. When the script exits, for whatever reason, the kernel drops
# the namespace and everything written in it. A stub systemctl stands in for a running systemd
# (it records what the scripts ask of it), and a stub sysctl keeps the kernel's settings as they
# are. With OLD.deb the first step installs it and the second upgrades to NEW.deb; without it,
# NEW.deb is installed and then reinstalled.
#
# Needs root (mount namespaces, overlayfs, chroot), and the package's dependencies installed on
# this machine (librdkafka1, libpcap0.8, adduser). Prints one "ok:" line per check; exits 1 at the
# first failed check.
set -euo pipefail

if [ "${1:-}" = "--inside" ]; then
    inside=yes
    shift
else
    inside=no
fi

new_deb=$(readlink -f "$1")
old_deb=$(readlink -f "${2:-$1}")

if [ "$inside" = no ]; then
    [ "$(id -u)" -eq 0 ] || { echo "check-lifecycle: needs root" >&2; exit 1; }
    for dependency in librdkafka1 libpcap0.8 adduser; do
        if ! dpkg-query -W -f='${Status}' "$dependency" 2>/dev/null | grep -q "install ok installed"; then
            echo "check-lifecycle: $dependency is not installed on this machine (scripts/install-deps.sh installs it)" >&2
            exit 1
        fi
    done
    exec unshare --mount --propagation private "$0" --inside "$new_deb" "$old_deb"
fi

# From here on: inside the private mount namespace.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vtap-lifecycle.XXXXXX")
# The mounts vanish with the namespace; the empty mount point is all there is to remove.
trap 'umount -R "$scratch" 2>/dev/null; rmdir "$scratch"' EXIT
mount -t tmpfs -o size=2g tmpfs "$scratch"
mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/root"
root="$scratch/root"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
# /run and /tmp are separate file systems on a booted machine: give the copy empty ones.
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
cp "$new_deb" "$root/tmp/new.deb"
cp "$old_deb" "$root/tmp/old.deb"

# systemd "runs": the maintainer scripts test for this directory.
mkdir -p "$root/run/systemd/system"
log=/tmp/systemctl.log
mv "$root/usr/bin/systemctl" "$root/usr/bin/systemctl.real"
cat >"$root/usr/bin/systemctl" <<'EOF'
#!/bin/sh
# Stub systemctl: records every call. Offline work on unit files (--root=, as deb-systemd-helper's
# presets) is the real systemctl's; is-enabled and is-active answer from the enablement links and
# from the starts and stops recorded so far.
echo "systemctl $*" >>/tmp/systemctl.log
case " $* " in
    *" --root="*) exec /usr/bin/systemctl.real "$@" ;;
esac
unit=""
for arg in "$@"; do
    case "$arg" in *.service) unit=$arg ;; esac
done
case " $* " in
    *" --version "*) echo "systemd 252 (252)"; exit 0 ;;
    *" list-units "*) exit 0 ;;
    *" is-enabled "*)
        if [ -e "/etc/systemd/system/multi-user.target.wants/$unit" ]; then echo enabled; exit 0; fi
        echo disabled; exit 1 ;;
    *" is-active "*) [ -e "/run/stub-active-$unit" ]; exit $? ;;
    *" start "*|*" restart "*) touch "/run/stub-active-$unit" ;;
    *" stop "*) rm -f "/run/stub-active-$unit" ;;
esac
exit 0
EOF
cat >"$root/usr/sbin/sysctl" <<'EOF'
#!/bin/sh
echo "sysctl $*" >>/tmp/systemctl.log
exit 0
EOF
chmod 0755 "$root/usr/bin/systemctl" "$root/usr/sbin/sysctl"
# Container images forbid starting services with a policy-rc.d; a VM has none.
rm -f "$root/usr/sbin/policy-rc.d"

in_root() {
    chroot "$root" "$@"
}

fail() {
    echo "FAILED: $*" >&2
    if [ -f "$root$log" ]; then
        echo "--- systemctl and sysctl calls:" >&2
        cat "$root$log" >&2
    fi
    exit 1
}

ok() {
    echo "ok: $*"
}

status() {
    # shellcheck disable=SC2016 # ${Status} is dpkg-query's field, not the shell's.
    in_root dpkg-query -W -f='${Status} ${Version}' vtap-collector 2>/dev/null || echo "not-installed"
}

calls() {
    cat "$root$log" 2>/dev/null || true
}

# A vtap-collector already on this machine would turn the first install into an upgrade.
if in_root dpkg-query -W vtap-collector >/dev/null 2>&1; then
    in_root dpkg --purge vtap-collector >/dev/null
fi

# 1. First installation.
in_root dpkg -i /tmp/old.deb >/tmp/dpkg-install.log 2>&1 || { cat /tmp/dpkg-install.log >&2; fail "dpkg -i of the first package"; }
old_version=$(dpkg-deb -f "$old_deb" Version)
new_version=$(dpkg-deb -f "$new_deb" Version)
[ "$(status)" = "install ok installed $old_version" ] || fail "status after install: $(status)"
ok "installed $old_version"

entry=$(in_root getent passwd vtap-collector) || fail "no user vtap-collector"
uid=$(echo "$entry" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "vtap-collector is not a system user (uid $uid)"
[ "$(echo "$entry" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "vtap-collector can log in: $entry"
in_root getent group vtap-collector >/dev/null || fail "no group vtap-collector"
ok "system user vtap-collector (uid $uid, no login shell) and its group"

[ "$(in_root stat -c '%U:%G %a' /var/lib/vtap-collector)" = "vtap-collector:vtap-collector 750" ] ||
    fail "state directory: $(in_root stat -c '%U:%G %a' /var/lib/vtap-collector)"
ok "state directory /var/lib/vtap-collector, vtap-collector:vtap-collector 750"

[ "$(in_root stat -c '%U:%G %a' /etc/vtap-collector/vtap-collector.json)" = "root:vtap-collector 640" ] ||
    fail "configuration file: $(in_root stat -c '%U:%G %a' /etc/vtap-collector/vtap-collector.json)"
ok "configuration root:vtap-collector 640"

version_line=$(in_root /usr/bin/vtap-collector --version) || fail "vtap-collector --version"
ok "/usr/bin/vtap-collector --version: $version_line"
in_root runuser -u vtap-collector -- /usr/bin/vtap-collector run --check >/tmp/check.log 2>&1 ||
    { cat /tmp/check.log >&2; fail "run --check as the service user"; }
ok "run --check as vtap-collector: $(tail -n 1 /tmp/check.log)"

[ -L "$root/etc/systemd/system/multi-user.target.wants/vtap-collector.service" ] || fail "the service is not enabled"
calls | grep -qx "systemctl --system daemon-reload" || fail "no daemon-reload at install"
calls | grep -q "^systemctl --quiet --system start vtap-collector.service$" || fail "the service was not started"
calls | grep -q "^sysctl -q -p /usr/lib/sysctl.d/60-vtap-collector.conf$" || fail "the sysctl drop-in was not applied"
ok "enabled, daemon-reload, started, sysctl drop-in applied"

# The installed units, with their real paths, user and helper in place.
in_root systemd-analyze verify --man=no /lib/systemd/system/vtap-collector.service \
    /lib/systemd/system/vtap-collector-tune-nic@.service >/tmp/verify.log 2>&1 ||
    { cat /tmp/verify.log >&2; fail "systemd-analyze verify of the installed units"; }
[ ! -s /tmp/verify.log ] || { cat /tmp/verify.log >&2; fail "systemd-analyze verify complained"; }
ok "systemd-analyze verify: the installed units are clean"

# 2. The administrator's changes, then the upgrade.
sed -i 's|"SourceCidrs": \[\]|"SourceCidrs": [ "10.1.0.0/16" ]|' "$root/etc/vtap-collector/vtap-collector.json"
grep -q '10.1.0.0/16' "$root/etc/vtap-collector/vtap-collector.json" || fail "could not edit the configuration"
echo '{"kept":true}' >"$root/var/lib/vtap-collector/flows.jsonl"
# As the administrator would, with systemctl disable.
in_root systemctl.real --root=/ disable vtap-collector.service >/tmp/disable.log 2>&1 || { cat /tmp/disable.log >&2; fail "disable"; }
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/vtap-collector.service" ] || fail "disable left the link"
: >"$root$log"

in_root env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/new.deb >/tmp/dpkg-upgrade.log 2>&1 ||
    { cat /tmp/dpkg-upgrade.log >&2; fail "dpkg -i of the upgrade"; }
[ "$(status)" = "install ok installed $new_version" ] || fail "status after upgrade: $(status)"
grep -q '10.1.0.0/16' "$root/etc/vtap-collector/vtap-collector.json" || fail "the upgrade lost the configuration change"
[ -f "$root/var/lib/vtap-collector/flows.jsonl" ] || fail "the upgrade lost the state directory"
[ "$(in_root id -u vtap-collector)" = "$uid" ] || fail "the upgrade changed the user"
[ "$(in_root stat -c '%U:%G %a' /etc/vtap-collector/vtap-collector.json)" = "root:vtap-collector 640" ] ||
    fail "the upgrade reset the configuration's mode"
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/vtap-collector.service" ] || fail "the upgrade re-enabled a disabled service"
if calls | grep -q " stop "; then fail "the upgrade stopped the service in prerm"; fi
ok "upgraded $old_version -> $new_version: configuration change, records, user, mode and disabled state kept"

# The disabled service is not restarted; an enabled one is, with the new binary.
in_root systemctl.real --root=/ enable vtap-collector.service >/dev/null 2>&1 || fail "enable"
: >"$root$log"
in_root env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/new.deb >/tmp/dpkg-reinstall.log 2>&1 ||
    { cat /tmp/dpkg-reinstall.log >&2; fail "dpkg -i reinstall"; }
calls | grep -q "^systemctl --quiet --system restart vtap-collector.service$" || fail "an upgrade did not restart the enabled service"
ok "an upgrade restarts the enabled service"

# 3. Removal: the service stops, the program goes, the configuration and records stay.
: >"$root$log"
in_root dpkg -r vtap-collector >/tmp/dpkg-remove.log 2>&1 || { cat /tmp/dpkg-remove.log >&2; fail "dpkg -r"; }
[ "$(status)" = "deinstall ok config-files $new_version" ] || fail "status after remove: $(status)"
calls | grep -q "stop vtap-collector.service" || fail "remove did not stop the service"
if [ -e "$root/usr/lib/vtap-collector/vtap-collector" ] || [ -L "$root/usr/bin/vtap-collector" ]; then fail "remove left the program"; fi
[ ! -e "$root/lib/systemd/system/vtap-collector.service" ] || fail "remove left the unit"
[ -f "$root/etc/vtap-collector/vtap-collector.json" ] || fail "remove deleted the configuration"
[ -f "$root/var/lib/vtap-collector/flows.jsonl" ] || fail "remove deleted the records"
in_root getent passwd vtap-collector >/dev/null || fail "remove deleted the user"
ok "removed: stopped, program and unit gone, configuration, records and user kept"

# 4. Purge: nothing of the package is left.
in_root dpkg -P vtap-collector >/tmp/dpkg-purge.log 2>&1 || { cat /tmp/dpkg-purge.log >&2; fail "dpkg -P"; }
[ "$(status)" = "not-installed" ] || [ "$(status)" = "unknown ok not-installed " ] || fail "status after purge: $(status)"
[ ! -e "$root/etc/vtap-collector" ] || fail "purge left /etc/vtap-collector"
[ ! -e "$root/var/lib/vtap-collector" ] || fail "purge left /var/lib/vtap-collector"
if in_root getent passwd vtap-collector >/dev/null; then fail "purge left the user"; fi
if in_root getent group vtap-collector >/dev/null; then fail "purge left the group"; fi
if in_root dpkg-statoverride --list /etc/vtap-collector/vtap-collector.json >/dev/null; then fail "purge left the statoverride"; fi
leftovers=$(find "$root/etc/systemd/system" "$root/var/lib/systemd" -name 'vtap-collector*' 2>/dev/null || true)
[ -z "$leftovers" ] || fail "purge left systemd state: $leftovers"
ok "purged: configuration, records, user, group, statoverride and systemd state gone"
