#!/usr/bin/env bash
# make test-asan: every test (unit and end to end) on a build with
# AddressSanitizer and UndefinedBehaviorSanitizer. Reports go to files, not
# only to stderr: a monitor that ASan aborts is restarted by its keeper,
# which would hide the report; any report fails the run.
#   tests/run_sanitized.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
reports=$(mktemp -d /tmp/vcon-sanitizers.XXXXXX)
chmod 1777 "$reports"  # processes run as the tests' users write here too
export ASAN_OPTIONS="log_path=$reports/asan:abort_on_error=1:detect_leaks=1:quarantine_size_mb=16:malloc_context_size=20"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp"  # ctest runs in the build directory
export VCON_BUILD="$build"
export VCON_SANITIZED=1  # memory bounds get ASan's slack (tests/e2e/conftest.py)
status=0
(cd "$build" && ctest --output-on-failure) || status=1
/usr/bin/python3 -m pytest -q ${PYTEST_ARGS:-} "$(dirname "$0")/e2e" || status=1
# (LeakSanitizer also writes a note of the suppressions it used: not a report.)
found=$(grep -l -E "ERROR: |runtime error" "$reports"/* 2>/dev/null)
if [ -n "$found" ]; then
  echo "sanitizers reported:" >&2
  for report in $found; do echo "== $report" >&2; head -60 "$report" >&2; done
  status=1
fi
rm -rf "$reports"
exit $status
