#!/usr/bin/env bash
# bench/guests: Debian guests under vcon against the same root file systems
# under systemd-nspawn, in the same run: boot to "login: " on the console,
# halt, and reboot to "login: " again, for the debian (systemd) and
# debian-sysvinit templates. Each zone's rootfs is what nspawn boots too
# (while the zone is halted), so both sides start the same files. Medians of
# ROUNDS interleaved rounds (default 3), after one boot not counted. Needs
# root and the templates (built on first use, a minute each, from apt).
set -euo pipefail
build=${VCON_BUILD:-build}
rounds=${ROUNDS:-3}
work=$(mktemp -d /tmp/vcon-bench-guests.XXXXXX)
export VCON_STATE_DIR=$work/state VCON_RUN_DIR=$work/run VCON_LOG_DIR=$work/log VCON_CONSOLEDB=$work/consoledb
zones=(debian=bench-debian debian-sysvinit=bench-sysvinit)
# nspawn --keep-unit moves the container into payload/ and itself into
# supervisor/ under its own cgroup (the root one when PID 1 is not systemd)
# and leaves them behind, empty, when it exits: remove those this run made.
# A container whose nspawn was killed outright lives on in payload/.
nspawn_cgroups=()
while IFS=: read -r _ controllers path; do
  case $controllers in
    name=systemd) base=/sys/fs/cgroup/systemd$path ;;
    '') base=/sys/fs/cgroup/unified$path; [ -d /sys/fs/cgroup/unified ] || base=/sys/fs/cgroup$path ;;
    *) continue ;;
  esac
  for d in "${base%/}/payload" "${base%/}/supervisor"; do [ -e "$d" ] || nspawn_cgroups+=("$d"); done
done </proc/self/cgroup
cleanup() {
  set +e  # clean up all that can be, whatever fails
  # measure.py ends its own nspawns; this is for when it was killed itself.
  # Checked by command line, since a PID may have been reused since.
  if [ -f "$work/nspawn.pids" ]; then
    while read -r pid; do
      grep -qs systemd-nspawn "/proc/$pid/cmdline" || continue
      kill -TERM "$pid"; sleep 2; kill -TERM "$pid"; sleep 1; kill -KILL "$pid"
    done <"$work/nspawn.pids" 2>/dev/null
  fi
  for d in "${nspawn_cgroups[@]}"; do
    [ -d "$d" ] || continue
    for _ in $(seq 50); do
      pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
      [ -z "$pids" ] && break
      kill -KILL $pids 2>/dev/null; sleep 0.1
    done
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  for pair in "${zones[@]}"; do
    # and a killed nspawn leaves its lock on the image (named by its inode) behind
    inode=$(stat -c %d:%i "$work/state/zones/${pair#*=}/rootfs" 2>/dev/null) &&
      rm -f "/run/systemd/nspawn/locks/inode-$inode"
    "$build/vcon" destroy --force --purge "${pair#*=}" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
# A password, so that the getty's prompt is one a person could answer; never used here.
echo "bench-$$" >"$work/password"
for pair in "${zones[@]}"; do
  "$build/vcon" create "${pair#*=}" --template "${pair%%=*}" --root-password-file "$work/password" >/dev/null
done
/usr/bin/python3 "$(dirname "$0")/measure.py" "$build/vcon" "$work" "$rounds" "${zones[@]}"
if ! command -v lxc-start >/dev/null; then
  echo "lxc: not installed (apt install lxc to compare)"
elif [ "${LXC_BENCH:-}" = 1 ]; then
  echo "lxc: LXC_BENCH=1, but this bench does not measure LXC yet"
else
  echo "lxc: installed, not measured (LXC_BENCH=1 to compare, once implemented)"
fi
