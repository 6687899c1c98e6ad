"""bench/fleet's driver (see run.sh): N idle zones on one host.

  fleet.py VCON WORKDIR N JOBS

Creates and boots N zones (JOBS `vcon` processes at a time), then measures
the total PSS of every zone's monitor and keeper (PSS shares each page
among the processes mapping it, so the sum counts shared pages once), the
time of `ls -l` on a consolefs mount listing them all, and halts and
destroys them. Each goal is checked in this one run and shown as a ratio
to its limit. The caller (run.sh) sets VCON_STATE_DIR and friends to a
temporary directory and destroys whatever is left.
"""
import concurrent.futures
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time

PSS_LIMIT_KIB = 256 * 1024      # the whole fleet's monitors and keepers, for 1,000 zones
BOOT_LIMIT_S = 10.0             # 1,000 zones created and booted
LS_LIMIT_S = 0.2                # ls -l of the consolefs mount
INIT = ["/bin/sh", "-c", "exec sleep 1000000"]
PROCESSES_PER_ZONE = 3          # keeper, monitor, init (sleep)


def host_limits(n):
    """Why N zones cannot run here, or None."""
    def read(path):
        with open(path) as f:
            return int(f.read().split()[0])
    pid_max = read("/proc/sys/kernel/pid_max")
    threads = read("/proc/sys/kernel/threads-max")
    running = len([p for p in os.listdir("/proc") if p.isdigit()])
    need = n * PROCESSES_PER_ZONE + 2 * 64  # and the vcon commands in flight
    if running + need > min(pid_max, threads):
        return f"{n} zones need about {need} processes; {running} run and pid_max is {pid_max}, threads-max {threads}"
    for name in ("user", "pid", "mnt", "net", "ipc", "uts", "cgroup"):
        limit = read(f"/proc/sys/user/max_{name}_namespaces")
        if limit < n + 64:
            return f"/proc/sys/user/max_{name}_namespaces is {limit}: {n} zones need {n} of them"
    with open("/proc/meminfo") as f:
        available = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    if available < n * 4096:  # a zone's processes and kernel objects, with margin
        return f"{available // 1024} MiB of memory available; {n} zones want about {n * 4} MiB"
    return None


def run(args, check=True):
    done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done


def parallel(jobs, commands):
    """Runs every command, JOBS at a time; the wall time in seconds."""
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for future in [pool.submit(run, c) for c in commands]:
            future.result()
    return time.monotonic() - start


def smaps(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    values[parts[0].rstrip(":")] = int(parts[1])
    except FileNotFoundError:
        pass
    return values


def fleet_memory(run_dir, names):
    total = {"Pss": 0, "Pss_Anon": 0, "Pss_File": 0, "Rss": 0}
    processes = 0
    for name in names:
        with open(os.path.join(run_dir, name, "state.json")) as f:
            state = json.load(f)
        for key in ("monitor_pid", "keeper_pid"):
            values = smaps(state[key])
            if not values:
                raise RuntimeError(f"zone {name}: no {key} {state[key]}")
            processes += 1
            for k in total:
                total[k] += values.get(k, 0)
    return total, processes


def time_ls(args, rounds=5):
    times = []
    for _ in range(rounds):
        start = time.monotonic()
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append(time.monotonic() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {done.stderr.decode().strip()}")
    return times, done.stdout.decode().count("\n")


def ratio(value, limit):
    return f"{value / limit:5.2f}x of the limit ({'met' if value <= limit else 'MISSED'})"


def main():
    vcon, work, n, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    why = host_limits(n)
    if why:
        print(f"fleet: cannot run {n} zones here: {why}")
        return 1
    run_dir = os.environ["VCON_RUN_DIR"]
    names = [f"z{i:04d}" for i in range(n)]
    print(f"fleet: {n} idle zones (init: {' '.join(INIT)}), {jobs} vcon processes at a time, "
          f"{os.cpu_count()} CPUs, RLIMIT_NOFILE {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}, "
          f"load average {os.getloadavg()[0]:.2f} at the start")

    create_s = parallel(jobs, [[vcon, "create", name, "--"] + INIT for name in names])
    if os.environ.get("BOOT", "one") == "one":  # one command: vcon boot z0000 ... (a few at a time inside)
        how = "one vcon boot naming them all"
        boot_s = parallel(1, [[vcon, "boot", *names]])
    else:  # BOOT=each: vcon boot NAME, JOBS at a time
        how = f"vcon boot NAME, {jobs} at a time"
        boot_s = parallel(jobs, [[vcon, "boot", name] for name in names])
    scale = n / 1000  # the limits are for 1,000 zones
    print(f"{'':<44} {'measured':>12} {'limit':>10}   ratio")
    print(f"{'create (busybox template each)':<44} {create_s:>10.2f} s")
    print(f"booted with {how}")
    print(f"{'boot (full isolation)':<44} {boot_s:>10.2f} s {BOOT_LIMIT_S * scale:>8.2f} s   "
          f"{ratio(boot_s, BOOT_LIMIT_S * scale)}")
    print(f"{'create + boot':<44} {create_s + boot_s:>10.2f} s {BOOT_LIMIT_S * scale:>8.2f} s   "
          f"{ratio(create_s + boot_s, BOOT_LIMIT_S * scale)}")

    time.sleep(2)  # idle: every boot's last writes done
    memory, processes = fleet_memory(run_dir, names)
    limit = PSS_LIMIT_KIB * scale
    print(f"{'PSS of all monitors + keepers':<44} {memory['Pss'] / 1024:>8.1f} MiB {limit / 1024:>6.1f} MiB   "
          f"{ratio(memory['Pss'], limit)}")
    print(f"{'  per zone (monitor + keeper)':<44} {memory['Pss'] / n:>8.0f} KiB {limit / n:>6.0f} KiB")
    print(f"{'  anonymous / files (PSS)':<44} {memory['Pss_Anon'] / 1024:>8.1f} MiB / {memory['Pss_File'] / 1024:.1f} MiB"
          f"   ({processes} processes; RSS sum {memory['Rss'] / 1024:.0f} MiB)")

    mount = os.path.join(work, "mnt")
    os.mkdir(mount)
    fs = subprocess.Popen([vcon, "fs", mount, "--foreground"], stdout=subprocess.DEVNULL,
                          stderr=open(os.path.join(work, "fs.log"), "w"))
    try:
        deadline = time.monotonic() + 10
        while not os.path.ismount(mount):
            if time.monotonic() > deadline or fs.poll() is not None:
                raise RuntimeError("vcon fs did not mount")
            time.sleep(0.05)
        times, lines = time_ls(["ls", "-l", mount + "/"])
        print(f"{'ls -l MOUNT/ (' + str(lines - 1) + ' files), first':<44} {times[0]:>10.3f} s {LS_LIMIT_S:>8.2f} s   "
              f"{ratio(times[0], LS_LIMIT_S)}")
        median = statistics.median(times[1:])
        print(f"{'ls -l MOUNT/, median of the next ' + str(len(times) - 1):<44} {median:>10.3f} s {LS_LIMIT_S:>8.2f} s   "
              f"{ratio(median, LS_LIMIT_S)}")
    finally:
        fs.send_signal(signal.SIGTERM)
        fs.wait()

    halt_s = parallel(jobs, [[vcon, "halt", name, "--force"] for name in names])
    destroy_s = parallel(jobs, [[vcon, "destroy", name] for name in names])
    print(f"{'halt --force, then destroy':<44} {halt_s:>10.2f} s + {destroy_s:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
