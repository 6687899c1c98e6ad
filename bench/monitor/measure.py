"""bench/monitor's measurements (see run.sh)."""
import json
import os
import subprocess
import sys
import time

HOSTILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e", "hostile.py")


def kib(pid, key):
    with open(f"/proc/{pid}/smaps_rollup" if key.startswith("Pss") else f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def settle(pid, seconds=1.0):
    """RSS once it stops moving (replies still being written)."""
    last, deadline = -1, time.monotonic() + 10
    while time.monotonic() < deadline:
        now = kib(pid, "VmRSS")
        if now == last:
            return now
        last = now
        time.sleep(seconds / 4)
    return last


def main():
    vcon, work, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    socket_path = os.path.join(work, "run", "bench", "console.sock")
    with open(os.path.join(work, "run", "bench", "state.json")) as f:
        state = json.load(f)
    monitor, keeper = state["monitor_pid"], state["keeper_pid"]
    # A full ring: every replay is a whole one.
    subprocess.run([vcon, "exec", "bench", "--", "sh", "-c",
                    "dd if=/dev/zero bs=65536 count=20 2>/dev/null | tr '\\0' x > /dev/console"], check=True)
    idle = settle(monitor)
    print(f"monitor RSS idle, full 1 MiB ring: {idle} KiB; keeper PSS {kib(keeper, 'Pss')} KiB "
          f"({kib(keeper, 'Pss_Anon')} KiB its own)")
    print(f"{'kind of connection':<44} {'held':>6} {'RSS with them':>14} {'after they left':>16}")
    for mode, arg, what in (("silent", "", "connect, say nothing"),
                            ("half", str(512 * 1024), "half of a 1 MiB frame, no hello"),
                            ("hold", "ro", "read-only, full replay, never read"),
                            ("hold", "control", "control, never read")):
        process = subprocess.Popen([sys.executable, HOSTILE, mode, str(count), socket_path, arg],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        words = process.stdout.readline().split()
        with_them = settle(monitor)
        process.stdin.write("quit\n")
        process.stdin.close()
        process.wait()
        after = settle(monitor)
        print(f"{count} x {what:<38} {words[1]:>6} {with_them:>10} KiB {after:>12} KiB")
    print(f"limits: 32 connections per user (root: none), {count if count < 1024 else 1024} in all at most "
          f"(fd limit permitting); see docs/protocol.md")


if __name__ == "__main__":
    main()
