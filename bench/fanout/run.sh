#!/usr/bin/env bash
# bench/fanout: console throughput with 1/10/100 clients against a bare pty,
# and keystroke echo through vcon console against a bare pty. Needs root.
# Uses a temporary directory and removes it, halting its zones.
set -euo pipefail
build=$(realpath "${VCON_BUILD:-build}")
work=$(mktemp -d /tmp/vcon-bench.XXXXXX)
export VCON_STATE_DIR=$work/state VCON_RUN_DIR=$work/run VCON_LOG_DIR=$work/log
cleanup() {
  for zone in flood echo; do "$build/vcon" halt "$zone" --force >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# Both zones idle with their console in its default cooked mode.
"$build/vcon" create flood -- /bin/sh -c 'exec sleep 1000000' >/dev/null
"$build/vcon" create echo -- /bin/sh -c 'exec sleep 1000000' >/dev/null
"$build/vcon" boot flood >/dev/null
"$build/vcon" boot echo >/dev/null
"$build/bench_fanout" "$build/vcon" "$work/run/flood/console.sock" flood echo "${MIB:-256}" "${ECHOES:-2000}"
