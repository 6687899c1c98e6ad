#!/usr/bin/env bash
# bench/monitor: what hostile clients can make a monitor hold. A busybox zone
# with a full ring; 1,000 connections of each kind (connect and say nothing;
# half of a 1 MiB frame and no hello; a read-only hello with a full replay,
# then never read; a control hello, then never read), the monitor's RSS with
# them and after they left; and the keeper's memory. Needs root (the root
# user has no per-user connection limit, so one user can open 1,000).
set -euo pipefail
build=${VCON_BUILD:-build}
work=$(mktemp -d /tmp/vcon-bench-monitor.XXXXXX)
export VCON_STATE_DIR=$work/state VCON_RUN_DIR=$work/run VCON_LOG_DIR=$work/log VCON_CONSOLEDB=$work/consoledb
cleanup() {
  "$build/vcon" destroy --force bench >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$build/vcon" create bench >/dev/null
"$build/vcon" boot bench >/dev/null
/usr/bin/python3 "$(dirname "$0")/measure.py" "$build/vcon" "$work" "${CONNECTIONS:-1000}"
