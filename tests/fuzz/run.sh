#!/usr/bin/env bash
# make fuzz: each libFuzzer target for SECONDS, over its corpus in
# tests/fuzz/corpus/TARGET (seeds, read only; what the run finds new stays
# in a temporary directory). Crashes are kept under build-fuzz/crashes and
# fail the run.
#   tests/fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/vcon-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/crashes"
failed=()
for corpus in "$here"/corpus/*/; do
  target=$(basename "$corpus")
  mkdir -p "$work/$target"
  echo "fuzz $target: ${seconds}s"
  if ! "$build/fuzz_$target" -max_total_time="$seconds" -print_final_stats=0 \
        -artifact_prefix="$build/crashes/$target-" "$work/$target" "$corpus" >"$work/$target.log" 2>&1; then
    tail -30 "$work/$target.log"
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]} (inputs in $build/crashes)" >&2
  exit 1
fi
echo "fuzz: no crash in $(ls "$here/corpus" | wc -l) targets"
