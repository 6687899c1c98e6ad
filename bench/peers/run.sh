#!/usr/bin/env bash
# bench/peers: vcon beside conserver, tmux, screen and dtach, measured the
# same way in one run (see README.md beside this file). Needs root (zones).
#   VCON_BUILD=build ROUNDS=3 MIB=64 KS=1,10,100 ECHOES=1000 TIMEOUT=30
#   TOOLS=vcon,vcon-direct,conserver,tmux,screen,dtach
#   VCON_BASE=/path/to/another/build/vcon with TOOLS=vcon,vcon-base: a change
#   against what it changes, in the same interleaved rounds
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vcon=$(realpath "${VCON_BUILD:-build}/vcon")
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/peers: zones need root; run: sudo $0" >&2
  exit 1
fi
bash "$here/../../scripts/install-bench-deps.sh"

work=$(mktemp -d /tmp/vcon-bench-peers.XXXXXX)
export VCON_STATE_DIR=$work/state VCON_RUN_DIR=$work/run VCON_LOG_DIR=$work/log \
  VCON_CONSOLEDB=$work/consoledb VCON_LOCK_DIR=$work/lock
mkdir -p "$VCON_LOCK_DIR"
: > "$VCON_CONSOLEDB"  # empty: root may attach to any zone

# compare.py stops everything it started; this is for when it could not
# (killed, or failed half-way through starting a tool). It noted each server
# with its start time, so a PID that was reused since is left alone.
cleanup() {
  for zone in peers-vcon peers-direct peers-socket-only; do
    "$vcon" destroy --force --purge "$zone" >/dev/null 2>&1 || true
  done
  if [ -n "${VCON_BASE:-}" ]; then "$VCON_BASE" destroy --force --purge peers-base >/dev/null 2>&1 || true; fi
  if [ -f "$work/pids" ]; then
    while read -r pid start; do
      now=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20) || true
      if [ "$now" = "$start" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    done < "$work/pids"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/bin"
for helper in pump viewers keyecho; do
  gcc -O2 -Wall -o "$work/bin/$helper" "$here/$helper.c" -lutil
done
/usr/bin/python3 "$here/compare.py" "$work" "$work/bin" "$vcon"
