#!/usr/bin/env bash
# Installs the console servers that bench/peers compares vcon with (tmux,
# screen, dtach, conserver and its client) and systemd-nspawn. Idempotent
# like install-deps.sh: nothing is fetched when all are there, and apt's
# lists are refreshed only when something is missing. Called by
# bench/peers/run.sh.
set -euo pipefail

packages=(tmux screen dtach conserver-server conserver-client systemd-container)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-bench-deps: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
  exit 1
fi

# conserver-server's maintainer script starts a system-wide conserver through
# invoke-rc.d. The benchmark runs its own on a port of its choosing and wants
# no daemon left listening on 782 after an install, so for the time of the
# install a policy-rc.d tells invoke-rc.d "no service may start" (exit code
# 101). A policy-rc.d that is already there (container images ship one) is
# someone else's and stays untouched.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# bench/peers: no daemons during this install\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
