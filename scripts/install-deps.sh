#!/usr/bin/env bash
# Installs every Debian package that building, testing and the demo need.
# Idempotent: packages already present are not fetched again, and apt's lists
# are refreshed only when something is missing. Called by `make deps`, which
# `make demo` and `make test` depend on.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config make
  libasio-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev
  libfuse3-dev fuse3
  # zones: the syscall filter
  libseccomp-dev
  # tests and benchmarks; clang with libFuzzer and the sanitizer runtimes (make fuzz, make test-asan)
  clang libclang-rt-14-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  python3 python3-pytest python3-pexpect tmux procps util-linux iproute2
  # serial line peers in the tests: pty pairs, and the two programs vcon shares lines with
  socat picocom minicom
  # the embedded default root file system
  busybox-static
  # the Debian templates (vcon create --template debian, debian-sysvinit)
  mmdebstrap
)

. "$(dirname "$0")/apt-packages.sh"
mapfile -t missing < <(missing_packages "${packages[@]}")
[ ${#missing[@]} -eq 0 ] && exit 0
install_packages install-deps "${missing[@]}"
