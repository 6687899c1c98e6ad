#!/usr/bin/env bash
# `make demo`: the demo zone on the embedded default (busybox template). Boots
# it (fresh each time), shows its console output, its processes from inside
# and from the host, and leaves it running for you to explore.
set -euo pipefail
vcon=${VCON_BUILD:-build}/vcon
# One demo zone per user who asked for it (sudo keeps who that was), so two
# people on one machine do not reboot each other's: demo-alice, demo-bob.
who=${SUDO_USER:-$(id -un)}
zone=${DEMO_ZONE:-demo-$(printf '%s' "$who" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_.-' '-' | cut -c1-40)}
if [ "$(id -u)" -ne 0 ]; then
  echo "make demo: zones need root (namespaces, mounts); run: sudo make demo" >&2
  exit 1
fi
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if "$vcon" ls --json | grep -q "\"name\": \"$zone\""; then
  "$vcon" ls --json | grep -A1 "\"name\": \"$zone\"" | grep -q running && "$vcon" halt "$zone" --force >/dev/null
else
  step "vcon create $zone   (root file system from Debian's busybox-static)"
  "$vcon" create "$zone"
fi
step "vcon boot $zone"
start=$(date +%s%N)
"$vcon" boot "$zone"
echo "booted in $(( ($(date +%s%N) - start) / 1000000 )) ms"

step "its console log: every line stamped as it arrived ('*' lines are vcon's own events;
   the zone's control characters shown as ^X: ash asks the terminal for the cursor with ^[[6n)"
for _ in $(seq 100); do "$vcon" log "$zone" --raw | grep -q ':/# ' && break; sleep 0.05; done
"$vcon" log "$zone" -n 12

step "a process in the zone writes to /dev/console, its own"
"$vcon" exec "$zone" -- sh -c 'echo "hello from $(hostname), PID $$ in the zone" > /dev/console'
sleep 0.1
"$vcon" log "$zone" -n 1

step "ps inside the zone: it sees only itself, init is PID 1"
"$vcon" exec "$zone" -- ps

step "vcon ps from the host: both PIDs"
"$vcon" ps "$zone"

step "vcon ls"
"$vcon" ls

if [ -t 0 ] && [ -t 1 ]; then
  step "vcon console $zone --replay   (its boot replayed, then live; ~. leaves, the zone keeps running)"
  "$vcon" console "$zone" --replay || true
fi
cat <<EOF2

The zone keeps running. Try:
  $vcon console $zone           its console (~. to leave; -r to watch only)
  $vcon exec $zone -- sh        a shell in the zone (its own pty, never your tty)
  $vcon log $zone -f            follow its console log
  $vcon fs; tail -f /mnt/consoles/$zone   every console as files (also ${zone}ctl, ${zone}stat)
  $vcon reboot $zone            reboot; the console and its log stay
  $vcon halt $zone              power it off
EOF2
