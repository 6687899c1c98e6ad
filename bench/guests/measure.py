"""bench/guests' measurements (see run.sh): boot to "login: ", halt and reboot
of the same Debian root file systems under vcon and under systemd-nspawn."""
import os
import pty
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

PROMPT = b"login: "
BOOT_TIMEOUT = float(os.environ.get("BOOT_TIMEOUT", "60"))
HALT_TIMEOUT = 10  # as `vcon halt --timeout 10`: after that, init is killed
POLL = 0.005       # how often vcon's log is read: the error it adds to vcon's times is below this


class Failed(Exception):
    pass


def now():
    return time.monotonic()


def last_line(data, width=100):
    """The last non-empty line of some console output, printable, for an error message."""
    lines = [l.strip() for l in data.decode(errors="replace").replace("\r", "\n").split("\n") if l.strip()]
    text = "".join(c if c.isprintable() else "?" for c in (lines[-1] if lines else "(no output)"))
    return text[:width]


class LogWatch:
    """Counts the prompts in a zone's growing console log, reading each byte once
    (the log keeps every boot, so "the next login" is "one more prompt")."""

    def __init__(self, path):
        self.path, self.pos, self.tail, self.count = path, 0, b"", 0

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return self.count
        self.pos += len(data)
        # A prompt may straddle two reads; the kept tail is too short to hold a whole one,
        # so nothing is counted twice.
        buf = self.tail + data
        self.count += buf.count(PROMPT)
        self.tail = buf[-(len(PROMPT) - 1):]
        return self.count

    def wait_for(self, count, what):
        deadline = now() + BOOT_TIMEOUT
        while self.poll() < count:
            if now() > deadline:
                with open(self.path, "rb") as f:
                    f.seek(max(0, self.pos - 2000))
                    tail = f.read()
                raise Failed(f"{what}: no {PROMPT.decode()!r} on the console within {BOOT_TIMEOUT:g} s; "
                             f"log ends with: {last_line(tail)}")
            time.sleep(POLL)


def vcon(vcon_bin, *args, ok=(0,)):
    """Run a vcon command; its wall time and exit status."""
    start = now()
    try:
        done = subprocess.run([vcon_bin, *args], capture_output=True, text=True, timeout=BOOT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failed(f"vcon {' '.join(args)}: no answer within {BOOT_TIMEOUT:g} s")
    took = now() - start
    if done.returncode not in ok:
        raise Failed(f"vcon {' '.join(args)}: exit {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return took, done.returncode


def vcon_round(vcon_bin, name, log):
    """boot, reboot, halt of one zone under vcon."""
    r = {}
    start = now()
    vcon(vcon_bin, "boot", name)
    log.wait_for(log.poll() + 1, f"vcon boot {name}")
    r["boot"] = now() - start
    seen = log.poll()
    start = now()
    r["reboot_cmd"], _ = vcon(vcon_bin, "reboot", name)
    log.wait_for(seen + 1, f"vcon reboot {name}")
    r["reboot"] = now() - start
    # Exit status 3 (init did not stop by itself and was killed) is a result, not an error.
    r["halt"], r["halt_status"] = vcon(vcon_bin, "halt", name, "--timeout", str(HALT_TIMEOUT), ok=(0, 3))
    return r


class Nspawn:
    """One systemd-nspawn on a pty of its own, so that its console is interactive
    and the guest's getty prompts on it. Its output has to be drained all along,
    or a full pty would stall the guest."""

    def __init__(self, cmd, pidfile):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvp(cmd[0], cmd)
            finally:
                os._exit(127)
        with open(pidfile, "a") as f:  # for run.sh's cleanup, should this script die
            f.write(f"{self.pid}\n")
        self.out, self.status, self.eof = bytearray(), None, False

    def pump(self, timeout):
        if not self.eof and select.select([self.fd], [], [], timeout)[0]:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: nspawn and all its children have closed the pty
                data = b""
            self.out += data
            self.eof = not data
        elif self.eof:
            time.sleep(timeout)
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)

    def wait(self, done, what, timeout):
        deadline = now() + timeout
        while not done():
            if now() > deadline:
                raise Failed(f"{what}: not within {timeout:g} s; console ends with: {last_line(self.out)}")
            if self.status is not None and self.eof:
                raise Failed(f"{what}: nspawn exited with {self.status}: {last_line(self.out)}")
            self.pump(0.05)

    def wait_login(self, what):
        self.wait(lambda: PROMPT in self.out, what, BOOT_TIMEOUT)

    def wait_exit(self, what, timeout):
        self.wait(lambda: self.status is not None, what, timeout)

    def init_pid(self):
        """The container's PID 1: the descendant of nspawn whose PID in its own namespace is 1."""
        todo = [self.pid]
        while todo:
            parent = todo.pop()
            try:
                tasks = os.listdir(f"/proc/{parent}/task")
            except FileNotFoundError:
                continue
            for task in tasks:
                try:
                    with open(f"/proc/{parent}/task/{task}/children") as f:
                        children = [int(c) for c in f.read().split()]
                except FileNotFoundError:
                    continue
                for child in children:
                    try:
                        with open(f"/proc/{child}/status") as f:
                            nspid = next(l.split()[1:] for l in f if l.startswith("NSpid:"))
                    except (FileNotFoundError, StopIteration):
                        continue
                    if len(nspid) > 1 and nspid[-1] == "1":
                        return child
                    todo.append(child)
        raise Failed("cannot find the container's init among nspawn's descendants")

    def close(self):
        """Make sure nothing is left running: a second SIGTERM makes nspawn end the
        container at once. A container outlives an nspawn killed with SIGKILL, so
        then its init is killed too (which ends every process in its namespace)."""
        if self.status is None:
            try:
                init = self.init_pid()
            except Failed:
                init = None
            for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    pass
                deadline = now() + 5
                while self.status is None and now() < deadline:
                    self.pump(0.05)
                if self.status is not None:
                    break
            if sig == signal.SIGKILL and init:
                try:
                    os.kill(init, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        os.close(self.fd)


def nspawn_round(cmd, pidfile):
    """boot, reboot, halt of one root file system under systemd-nspawn: what a
    systemd-nspawn@.service user gets (the unit starts nspawn again on exit 133)."""
    r, live = {}, []
    try:
        start = now()
        first = Nspawn(cmd, pidfile)
        live.append(first)
        first.wait_login("nspawn boot")
        r["boot"] = now() - start

        init = first.init_pid()
        start = now()
        os.kill(init, signal.SIGINT)  # systemd: reboot; the sysvinit template: ctrlaltdel
        first.wait_exit("nspawn reboot (old container ending)", HALT_TIMEOUT + 5)
        r["reboot_cmd"], r["reboot_status"] = now() - start, first.status
        second = Nspawn(cmd, pidfile)
        live.append(second)
        second.wait_login("nspawn reboot (new container)")
        r["reboot"] = now() - start

        # nspawn passes SIGTERM on to init as --kill-signal; like vcon halt --timeout 10,
        # give init 10 s and then end the container (a second SIGTERM), reporting it.
        start = now()
        os.kill(second.pid, signal.SIGTERM)
        try:
            second.wait_exit("nspawn halt", HALT_TIMEOUT)
            r["halt_status"] = second.status
        except Failed:
            os.kill(second.pid, signal.SIGTERM)
            second.wait_exit("nspawn halt, after the second SIGTERM", 10)
            r["halt_status"] = f"killed({second.status})"
        r["halt"] = now() - start
        return r
    finally:
        for n in live:
            n.close()


def fmt(values):
    return f"{statistics.median(values):.3f}" if values else "-"


def main():
    vcon_bin, work, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    zones = sys.argv[4:]  # template=zone pairs
    pidfile = os.path.join(work, "nspawn.pids")
    have_nspawn = shutil.which("systemd-nspawn")
    version = subprocess.run(["systemd-nspawn", "--version"], capture_output=True, text=True).stdout.split("\n")[0] \
        if have_nspawn else "not installed"
    print(f"guests: {rounds} round(s), interleaved; kernel {os.uname().release}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f} at start; systemd-nspawn: {version}", flush=True)

    results = {}
    for pair in zones:
        template, name = pair.split("=")
        rootfs = os.path.join(work, "state", "zones", name, "rootfs")
        log = LogWatch(os.path.join(work, "log", f"{name}.log"))
        # systemd's default kill signal (SIGRTMIN+3) halts systemd; the sysvinit template's
        # inittab halts on SIGPWR (powerfail), as vcon halt sends it.
        extra = ["--kill-signal=SIGPWR"] if "sysvinit" in template else []
        cmd = ["systemd-nspawn", "--register=no", "--keep-unit", *extra, "-b", "-D", rootfs, "-M", name]
        # The first boot of a fresh copy does one-time work (machine-id, journal files) and
        # reads the files from disk; neither side should pay for that, so one boot first, not counted.
        vcon_round(vcon_bin, name, log)
        results[template] = {"vcon": [], "nspawn": [], "cmd": cmd, "log": log, "name": name,
                             "failed": None if have_nspawn else "systemd-nspawn not installed (apt install systemd-container)"}

    for i in range(rounds):
        for template, res in results.items():
            # Alternate who goes first, so neither always runs on a machine the other just warmed.
            order = ("vcon", "nspawn") if i % 2 == 0 else ("nspawn", "vcon")
            for who in order:
                if who == "vcon":
                    res["vcon"].append(vcon_round(vcon_bin, res["name"], res["log"]))
                elif not res["failed"]:
                    try:
                        res["nspawn"].append(nspawn_round(res["cmd"], pidfile))
                    except (Failed, OSError) as e:
                        res["failed"] = f"{e} (round {i + 1})"
                        res["nspawn"] = []
            print(f"  round {i + 1} {template}: done", file=sys.stderr, flush=True)

    print(f"\nmedians of {rounds} round(s), seconds; load {os.getloadavg()[0]:.2f} at the end\n")
    print("| template | metric | vcon s | nspawn s | vcon/nspawn |")
    print("| --- | --- | --- | --- | --- |")
    metrics = (("boot", "boot to login:"),
               ("halt", "halt (vcon halt / SIGTERM to nspawn exit)"),
               ("reboot", "reboot to login: again"),
               ("reboot_cmd", "reboot: vcon reboot returns / nspawn exits"))
    for template, res in results.items():
        for row, (key, label) in enumerate(metrics):
            v = [r[key] for r in res["vcon"]]
            n = [r[key] for r in res["nspawn"]]
            if res["failed"]:  # the whole reason is printed below the table
                nspawn, ratio = f"did not run: {res['failed'][:100]}" if row == 0 else "did not run (above)", "-"
            else:
                nspawn = fmt(n)
                ratio = f"{statistics.median(v) / statistics.median(n):.2f}" if v and n else "-"
            print(f"| {template} | {label} | {fmt(v)} | {nspawn} | {ratio} |")
    print()
    for template, res in results.items():
        statuses = " ".join(str(r["halt_status"]) for r in res["vcon"])
        line = f"{template}: vcon halt exit status per round: {statuses} (3: init was killed)"
        if res["nspawn"]:
            line += ("; nspawn exit on halt: " + " ".join(str(r["halt_status"]) for r in res["nspawn"]) +
                     ", on reboot: " + " ".join(str(r["reboot_status"]) for r in res["nspawn"]) + " (133: reboot)")
        print(line)
        print(f"  nspawn: {' '.join(res['cmd'])}")
        if res["failed"]:
            print(f"  nspawn did not run: {res['failed']}")


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        sys.exit(f"bench/guests: {e}")
