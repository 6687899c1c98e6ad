#!/usr/bin/env bash
# bench/consolefs: what a reader of /mnt/consoles/NAME costs and gets,
# against a `vcon console -r` reader, in the same run. A zone writes MIB
# MiB (default 64) to its console with busybox dd, ROUNDS times (default 3)
# for each of: no reader, one `vcon console -r` reader, one `cat` of the
# console file. Reported: the zone's write time (median) against the
# no-reader case, and the share of the output each reader received (a
# reader that falls behind skips ahead; the zone never waits). Needs root.
set -euo pipefail
build=$(realpath "${VCON_BUILD:-build}")
mib=${MIB:-64}
rounds=${ROUNDS:-3}
work=$(mktemp -d /tmp/vcon-bench.XXXXXX)
export VCON_STATE_DIR=$work/state VCON_RUN_DIR=$work/run VCON_LOG_DIR=$work/log VCON_CONSOLEDB=$work/consoledb
fs_pid=
cleanup() {
  [ -n "$fs_pid" ] && kill "$fs_pid" 2>/dev/null && wait "$fs_pid" 2>/dev/null
  mountpoint -q "$work/mnt" && umount -l "$work/mnt"
  "$build/vcon" halt flood --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# A large ring keeps nothing interesting; the default is what users get.
"$build/vcon" create flood -- /bin/sh -c 'stty -F /dev/console raw -echo; exec sleep 1000000' >/dev/null
"$build/vcon" boot flood >/dev/null
"$build/vcon" fs "$work/mnt" --foreground 2>"$work/fs.log" &
fs_pid=$!
for _ in $(seq 100); do mountpoint -q "$work/mnt" && break; sleep 0.05; done

now() { date +%s%N; }
# One round: prints "seconds received_bytes".
round() {
  local reader=$1 out=$work/received pid=
  : >"$out"
  case $reader in
    socket) "$build/vcon" console flood -r -d -E --replay=0 </dev/null >"$out" 2>/dev/null & pid=$! ;;
    file) cat "$work/mnt/flood" >"$out" & pid=$! ;;
  esac
  sleep 0.3  # attached
  local start end
  start=$(now)
  "$build/vcon" exec flood -- dd if=/dev/zero of=/dev/console bs=64k count=$((mib * 16)) 2>/dev/null
  end=$(now)
  sleep 0.5  # what is in flight arrives
  if [ -n "$pid" ]; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  echo "$(( (end - start) / 1000 )) $(stat -c %s "$out")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A times received
for r in $(seq "$rounds"); do
  for reader in none socket file; do
    read -r us bytes < <(round "$reader")
    times[$reader]+="$us "
    received[$reader]+="$bytes "
  done
done
total=$((mib * 1048576))
base=$(echo ${times[none]} | tr ' ' '\n' | median)
printf 'consolefs: %d MiB into a zone console, median of %d interleaved rounds\n' "$mib" "$rounds"
printf '%-28s %12s %14s %12s\n' reader "write ms" "× no reader" received
for reader in none socket file; do
  t=$(echo ${times[$reader]} | tr ' ' '\n' | median)
  b=$(echo ${received[$reader]} | tr ' ' '\n' | median)
  name=$reader; [ "$reader" = socket ] && name="vcon console -r"; [ "$reader" = file ] && name="cat /mnt/consoles/NAME"
  share=-; [ "$reader" != none ] && share=$(awk -v b="$b" -v t="$total" 'BEGIN {printf "%.0f %%", 100 * b / t}')
  printf '%-28s %12.1f %14.2f %12s\n' "$name" "$(awk -v t="$t" 'BEGIN {print t / 1000}')" \
    "$(awk -v t="$t" -v b="$base" 'BEGIN {print t / b}')" "$share"
done
