#!/usr/bin/env bash
# bench/serial: how fast a served serial line drains, against a bare reader
# of the same line, in the same run. The line is a socat pty pair (raw); the
# "machine" writes MIB MiB (default 32) into its end with dd, which waits
# whenever the reader falls behind (the pty buffer is small), so dd's time is
# the reader's pace. Limit: `cat` of the device into /dev/null. vcon: the
# line's monitor (ring, timestamped log) with one `vcon console -r` client
# attached. Median of ROUNDS interleaved rounds (default 3). Needs root.
set -euo pipefail
build=$(realpath "${VCON_BUILD:-build}")
mib=${MIB:-32}
rounds=${ROUNDS:-3}
work=$(mktemp -d /tmp/vcon-bench.XXXXXX)
tag=vcb$$
device=/dev/$tag machine=/dev/${tag}m
export VCON_STATE_DIR=$work/state VCON_RUN_DIR=$work/run VCON_LOG_DIR=$work/log VCON_CONSOLEDB=$work/consoledb \
  VCON_LOCK_DIR=$work/lock
mkdir -p "$VCON_LOCK_DIR"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
socat pty,raw,echo=0,link=$device pty,raw,echo=0,link=$machine &
pids+=($!)
for _ in $(seq 100); do [ -e "$device" ] && [ -e "$machine" ] && break; sleep 0.05; done
now() { date +%s%N; }
write_ms() {
  local start end
  start=$(now)
  dd if=/dev/zero of="$machine" bs=64k count=$((mib * 16)) 2>/dev/null
  end=$(now)
  echo $(( (end - start) / 1000000 ))
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

bare=() served=()
for _ in $(seq "$rounds"); do
  cat "$device" >/dev/null &
  reader=$!
  sleep 0.2
  bare+=("$(write_ms)")
  kill "$reader"; wait "$reader" 2>/dev/null || true

  echo "console=$tag dev=$device" >"$VCON_CONSOLEDB"
  "$build/vcon" serve --foreground 2>>"$work/serve.log" &
  serve=$!
  for _ in $(seq 100); do grep -qs "open:" "$work/log/lines/$tag.log" && break; sleep 0.05; done
  "$build/vcon" console "$tag" -r -E --replay=0 </dev/null >/dev/null 2>&1 &
  client=$!
  sleep 0.2
  served+=("$(write_ms)")
  kill "$client"; wait "$client" 2>/dev/null || true
  kill "$serve"; wait "$serve" 2>/dev/null || true
  rm -f "$work/log/lines/$tag.log"
done
b=$(echo "${bare[*]}" | median)
s=$(echo "${served[*]}" | median)
printf 'serial: %d MiB through a pty line, median of %d interleaved rounds\n' "$mib" "$rounds"
printf '  bare cat of the line:             %6d ms  %6.1f MB/s\n' "$b" "$(awk -v m="$mib" -v t="$b" 'BEGIN {print m * 1.048576 / (t / 1000)}')"
printf '  vcon monitor + 1 console client:  %6d ms  %6.1f MB/s  = %.2f x the bare reader'"'"'s speed\n' "$s" \
  "$(awk -v m="$mib" -v t="$s" 'BEGIN {print m * 1.048576 / (t / 1000)}')" "$(awk -v b="$b" -v s="$s" 'BEGIN {print b / s}')"
