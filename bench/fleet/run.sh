#!/usr/bin/env bash
# bench/fleet: a host full of idle zones (ZONES, default 1,000): the time to
# create them (JOBS vcon processes at a time, default the CPU count) and
# boot them (BOOT=one: one `vcon boot` naming them all, the default;
# BOOT=each: `vcon boot NAME`, JOBS at a time), the PSS of all their
# monitors and keepers, and `ls -l` of a consolefs mount that lists them
# all, each against its goal (issue 13).
# Needs root. Uses a temporary directory and removes it, and every zone.
set -euo pipefail
build=$(realpath "${VCON_BUILD:-build}")
work=$(mktemp -d /tmp/vcon-bench-fleet.XXXXXX)
export VCON_STATE_DIR=$work/state VCON_RUN_DIR=$work/run VCON_LOG_DIR=$work/log VCON_CONSOLEDB=$work/consoledb
cleanup() {
  mountpoint -q "$work/mnt" 2>/dev/null && umount -l "$work/mnt"
  if [ -d "$work/state/zones" ]; then
    ls "$work/state/zones" | xargs -r -P "$(nproc)" -n 20 sh -c \
      'for z; do "$0" destroy --force "$z" >/dev/null 2>&1; done' "$build/vcon"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
/usr/bin/python3 "$(dirname "$0")/fleet.py" "$build/vcon" "$work" "${ZONES:-1000}" "${JOBS:-$(nproc)}"
