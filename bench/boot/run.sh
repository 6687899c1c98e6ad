#!/usr/bin/env bash
# bench/boot: vcon boot vs an isolation floor and a bare floor, idle monitor
# memory, zones per 10 s.
# Needs root. Uses a temporary directory and removes it.
set -euo pipefail
build=${VCON_BUILD:-build}
work=$(mktemp -d /tmp/vcon-bench.XXXXXX)
# Whatever bench_boot left running (it stopped half-way) goes first.
cleanup() {
  for zone in "$work"/state/zones/*; do
    [ -d "$zone" ] && VCON_STATE_DIR=$work/state VCON_RUN_DIR=$work/run VCON_LOG_DIR=$work/log \
      "$build/vcon" destroy --force "${zone##*/}" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT
rootfs=$work/rootfs
# A busybox root file system with the template's layout.
VCON_STATE_DIR=$work/template "$build/vcon" create template >/dev/null
mv "$work/template/zones/template/rootfs" "$rootfs"
# bare_floor binds the console and devpts onto these itself.
mkdir -p "$rootfs/dev/pts" && touch "$rootfs/dev/console"
"$build/bench_boot" "$build/vcon" "$build/boot_floor" "$build/bare_floor" "$rootfs" "$work" "${RUNS:-20}"
