#!/usr/bin/env bash
# Installs the console servers that bench/peers compares vcon with (tmux,
# screen, dtach, conserver and its client) and systemd-nspawn. Idempotent
# like install-deps.sh: nothing is fetched when all are there, and apt's
# lists are refreshed only when something is missing. Called by
# bench/peers/run.sh.
set -euo pipefail

packages=(tmux screen dtach conserver-server conserver-client systemd-container)

. "$(dirname "$0")/apt-packages.sh"
mapfile -t missing < <(missing_packages "${packages[@]}")
[ ${#missing[@]} -eq 0 ] && exit 0

# conserver-server's maintainer script starts a system-wide conserver through
# invoke-rc.d. The benchmark runs its own on a port of its choosing and wants
# no daemon left listening on 782 after an install, so for the time of the
# install a policy-rc.d tells invoke-rc.d "no service may start" (exit code
# 101). A policy-rc.d that is already there (container images ship one) is
# someone else's and stays untouched.
policy=/usr/sbin/policy-rc.d
if [ "$(id -u)" -eq 0 ] && [ ! -e "$policy" ]; then  # (as a user, install_packages says what to do)
  printf '#!/bin/sh\n# bench/peers: no daemons during this install\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

install_packages install-bench-deps "${missing[@]}"
