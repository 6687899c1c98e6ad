#!/usr/bin/env python3
"""bench/peers: vcon beside conserver, tmux, screen and dtach (see README.md).

Usage: compare.py WORK BIN VCON. WORK is an empty scratch directory, BIN holds
the helpers run.sh compiled (pump, viewers, keyecho). Settings come from the
environment: ROUNDS, MIB, KS, ECHOES, TIMEOUT, STALL_PAIRS, ONE_CLIENT_RUNS, TOOLS, VCON_BASE.
Tables go to stdout,
progress to stderr.
"""
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time

WORK, BIN, VCON = (os.path.abspath(a) for a in sys.argv[1:4])
ROUNDS = int(os.environ.get("ROUNDS", "3"))
MIB = int(os.environ.get("MIB", "64"))
KS = [int(k) for k in os.environ.get("KS", "1,10,100").split(",")]
ECHOES = int(os.environ.get("ECHOES", "1000"))
TIMEOUT = float(os.environ.get("TIMEOUT", "30"))
STALL_PAIRS = int(os.environ.get("STALL_PAIRS", "3"))
ONE_CLIENT_RUNS = int(os.environ.get("ONE_CLIENT_RUNS", "3"))
DATA = os.path.join(WORK, "data.txt")
LINES = 0  # numbered lines in DATA (make_data)
PUMP, VIEWERS, KEYECHO = (os.path.join(BIN, x) for x in ("pump", "viewers", "keyecho"))
IDLE = ["sleep", "1000000"]  # what holds every console: never reads, never writes
CLIENT_ENV = dict(os.environ, TERM="xterm")


def log(*words):
    print(*words, file=sys.stderr, flush=True)


# --- processes -------------------------------------------------------------

def stat(pid):
    """(ppid, comm, start time) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    rest = text[text.rindex(")") + 2:].split()
    return int(rest[1]), comm, rest[19]


def descendants(pid):
    """pid and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            s = stat(int(entry))
            if s:
                children.setdefault(s[0], []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


STARTED = {}  # pid -> start time of the processes we started and may have to end


def remember(pid):
    """Notes a process we started, with its start time, so that end() and
    run.sh (if this script is killed) can end it: the start time tells a
    reused PID."""
    s = stat(pid)
    if s:
        STARTED[pid] = s[2]
        with open(os.path.join(WORK, "pids"), "a") as f:
            f.write(f"{pid} {s[2]}\n")


def end(pid):
    """Kills a process we started, if it is still the one."""
    s = stat(pid)
    if s and s[2] == STARTED.get(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def cpu_seconds(pids):
    """User and system CPU time the processes have used so far (all their
    threads; a process already gone counts nothing)."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def pss_kib(pids):
    """Proportional set size: shared pages count a share each, so a library
    that many processes map costs each its part, not all of it."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            total += sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
    return total


def wait_for(what, find, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = find()
        if found:
            return found
        time.sleep(0.05)
    raise RuntimeError(f"gave up waiting for {what}")


def tty_of(pid):
    return os.readlink(f"/proc/{pid}/fd/0")


def child_named(pid, comm):
    """The first process called comm below pid (the idle console holder)."""
    return next((p for p in descendants(pid)[1:] if (stat(p) or (0, ""))[1] == comm), None)


# --- the tools ---------------------------------------------------------------
# Each tool holds a session whose console is a pty with `sleep` on it. A tool
# gives: `tty` (the console's pty, where the writer writes), client(rw) (the
# command of one client), env (for its clients), servers() (the processes that
# are the tool, for memory) and stop().

class Vcon:
    def __init__(self, name, zone, binary=None, **client_env):
        self.name, self.zone, self.binary = name, zone, binary or VCON
        self.env = dict(CLIENT_ENV, **client_env)
        self.vcon("create", zone, "--", "/bin/sh", "-c", "exec " + " ".join(IDLE))
        self.vcon("boot", zone)
        zones = json.loads(self.vcon("ls", "--json"))
        init = next(z["init_pid"] for z in zones if z["name"] == zone)
        # The zone's /dev/console is the slave of the pty the monitor holds.
        self.tty = f"/proc/{init}/root/dev/console"

    def vcon(self, *args):
        return subprocess.run([self.binary, *args], check=True, capture_output=True, text=True).stdout

    def client(self, rw):
        return [self.binary, "console", self.zone] + ([] if rw else ["-r"])

    def servers(self):
        with open(os.path.join(os.environ["VCON_RUN_DIR"], self.zone, "state.json")) as f:
            monitor = json.load(f)["monitor_pid"]
        keeper = stat(monitor)[0]  # the keeper is the monitor's parent
        assert stat(keeper)[1] == "vcon-keeper", f"monitor {monitor}'s parent is {stat(keeper)}"
        return [monitor, keeper]

    def writes_to(self, tty):
        """Whether the monitor holds this client's terminal (direct output and input)."""
        mine = os.stat(tty)
        fds = f"/proc/{self.servers()[0]}/fd"
        return any(os.path.samestat(os.stat(f"{fds}/{fd}"), mine) for fd in os.listdir(fds))

    def stop(self):
        subprocess.run([self.binary, "destroy", "--force", "--purge", self.zone], capture_output=True)


class Tmux:
    name = "tmux"

    def __init__(self):
        self.env = CLIENT_ENV
        self.cmd = ["tmux", "-S", os.path.join(WORK, "tmux.sock"), "-f", "/dev/null"]
        # -D: the server stays our child (no daemon to chase), and we reap it.
        self.server = subprocess.Popen(self.cmd + ["-D"], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        remember(self.server.pid)
        wait_for("the tmux server", lambda: os.path.exists(self.cmd[2]))
        subprocess.run(self.cmd + ["new-session", "-d", "-s", "c", "-x", "80", "-y", "24", " ".join(IDLE)], check=True)
        self.idle = int(subprocess.run(self.cmd + ["display", "-p", "-t", "c", "#{pane_pid}"],
                                       check=True, capture_output=True, text=True).stdout)
        remember(self.idle)
        self.tty = tty_of(self.idle)

    def client(self, rw):
        return self.cmd + ["attach", "-t", "c"] + ([] if rw else ["-r"])

    def servers(self):
        return [self.server.pid]

    def stop(self):
        subprocess.run(self.cmd + ["kill-server"], capture_output=True)
        stop_child(self.server)
        end(self.idle)


class ChildServer:
    """A tool whose server runs in the foreground as our child, with `sleep`
    as the program in its one window: the server's command is `argv`."""
    name = ""

    def __init__(self, argv, env):
        self.env = env
        self.server = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        remember(self.server.pid)
        self.idle = wait_for(f"{self.name}'s program", lambda: child_named(self.server.pid, "sleep"))
        remember(self.idle)
        self.tty = tty_of(self.idle)

    def servers(self):
        return [self.server.pid]

    def stop(self):
        stop_child(self.server)
        end(self.idle)


class Screen(ChildServer):
    name = "screen"

    def __init__(self):
        screendir = os.path.join(WORK, "screen")
        os.mkdir(screendir, 0o700)  # screen insists on a private directory
        # -D -m: detached, but no fork: the server is our child.
        super().__init__(["screen", "-D", "-m", "-S", "c", *IDLE], dict(CLIENT_ENV, SCREENDIR=screendir))

    def client(self, rw):
        return ["screen", "-x", "c"]  # screen has no read-only attach; viewers never type


class Dtach(ChildServer):
    name = "dtach"

    def __init__(self):
        self.sock = os.path.join(WORK, "dtach.sock")
        # -N: the session without a client, dtach in the foreground (our child).
        super().__init__(["dtach", "-N", self.sock, "-z", *IDLE], CLIENT_ENV)

    def client(self, rw):
        # -E: no detach key, -r none: no redraw request sent to the program.
        return ["dtach", "-a", self.sock, "-E", "-z", "-r", "none"]


class Conserver:
    name = "conserver"

    def __init__(self):
        self.env = CLIENT_ENV
        d = os.path.join(WORK, "conserver")
        os.mkdir(d)
        with socket.socket() as s:  # a free port for its master (a system conserver may hold 782)
            s.bind(("127.0.0.1", 0))
            self.port = str(s.getsockname()[1])
        # A console of type exec: conserver runs the command on a pty it holds,
        # as vcon's monitor holds a zone's. It logs, as vcon does.
        with open(os.path.join(d, "conserver.cf"), "w") as f:
            f.write(f'default * {{ logfile {d}/&.log; timestamp ""; rw *; master 127.0.0.1; }}\n'
                    f'console c {{ type exec; exec "exec {" ".join(IDLE)}"; }}\n'
                    "access * { trusted 127.0.0.1; }\n")
        with open(os.path.join(d, "passwd"), "w") as f:
            f.write("*any*:\n")
        with open(os.path.join(d, "stderr"), "w") as errors:
            self.server = subprocess.Popen(
                ["conserver", "-C", f"{d}/conserver.cf", "-P", f"{d}/passwd", "-p", self.port, "-M", "127.0.0.1"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
        self.idle = wait_for("conserver's console", lambda: child_named(self.server.pid, "sleep"))
        # It listens only once its consoles are up: a client that comes too
        # early is told "Unable to connect" and ends.
        wait_for("conserver's port", self.listening)
        # Its group child and the console's command would outlive a killed master.
        self.started = descendants(self.server.pid)
        for pid in self.started:
            remember(pid)
        self.tty = tty_of(self.idle)

    def listening(self):
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", int(self.port))) == 0

    def client(self, rw):
        # -f: force read-write, -s: spy (read-only).
        return ["console", "-M", "127.0.0.1", "-p", self.port, "-l", "root", "-f" if rw else "-s", "c"]

    def servers(self):
        return [p for p in descendants(self.server.pid) if stat(p)[1] == "conserver"]

    def stop(self):
        stop_child(self.server)
        for pid in self.started[1:]:
            end(pid)


def stop_child(process):
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- measurements --------------------------------------------------------------

def pump(tty):
    """Seconds the writer needs for DATA into tty; None if it hit TIMEOUT."""
    try:
        out = subprocess.run([PUMP, DATA, tty], check=True, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:  # run() has killed it
        return None
    return float(out.stdout)


def start_viewers(k, argv, env, stall=False):
    """k clients running argv, each on its own pty; returns once they are
    attached: (the process, the first client's pty)."""
    env = dict(env, VIEWERS_LINES=str(LINES))
    viewers = subprocess.Popen([VIEWERS] + (["-s"] if stall else []) + [str(k)] + argv,
                               env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    _, attached, tty = viewers.stdout.readline().split()
    if argv != IDLE and int(attached) < k:
        log(f"  only {attached} of {k} clients showed anything before the writer started")
    return viewers, tty


def finish(viewers):
    """Ends a viewers run (it ends its clients): (bytes, lines) per client."""
    try:
        out, _ = viewers.communicate(timeout=30)  # closes its stdin: the signal to end
    except subprocess.TimeoutExpired:
        viewers.kill()
        out, _ = viewers.communicate()
    numbers = [int(n) for n in out.split()]
    return list(zip(numbers[::2], numbers[1::2]))


def bare():
    """The limit: DATA into a pty with sleep on it, drained by one reader.
    (seconds, bytes the reader got)."""
    viewers, tty = start_viewers(1, IDLE, dict(os.environ, VIEWERS_WAIT="0"))
    try:
        seconds = pump(tty)
    finally:
        got = finish(viewers)
    return seconds, got[0][0]


def watched(tool, k, stall=False):
    """DATA into the tool's console with k clients attached (stall: one client
    that never reads). (seconds or None, [(bytes, lines)] per client, CPU
    seconds its servers and clients used meanwhile, None with no client)."""
    cpu = None
    if k == 0:
        seconds, got = pump(tool.tty), []
    else:
        viewers, _ = start_viewers(k, tool.client(rw=False), tool.env, stall)
        try:
            # The tool's processes: its servers and its clients (below
            # `viewers`, which is the terminals' side, the same for all).
            mine = tool.servers() + descendants(viewers.pid)[1:]
            before = cpu_seconds(mine)
            seconds = pump(tool.tty)
            cpu = cpu_seconds(mine) - before
        finally:
            got = finish(viewers)
    # Let the tool catch up with what it held back, and the machine with
    # the flood (its log's writeback). After every run alike: the stalled
    # runs came right after a run with no client, which had no pause, and
    # paid for its writeback against runs that had one.
    time.sleep(0.5 if seconds else 2)
    return seconds, got, cpu


def echo(argv, env):
    """(median, p99, every key's µs) from keyecho, or None if keys were lost."""
    samples = os.path.join(WORK, "echo-samples")
    if os.path.exists(samples):
        os.unlink(samples)
    out = subprocess.run([KEYECHO, str(ECHOES), *argv], env=dict(env, KEYECHO_SAMPLES=samples),
                         capture_output=True, text=True)
    count, median, p99 = out.stdout.split()
    if int(count) < ECHOES:
        log(f"  echo: {out.stderr.strip()}")
        return None
    with open(samples) as f:
        took = [float(line) for line in f]
    if len(took) != int(count):
        raise RuntimeError(f"keyecho timed {count} keys but wrote {len(took)} to {samples}")
    return float(median), float(p99), took


def memory(tool):
    """PSS (KiB) of the tool's servers with one client attached, idle; and
    how many processes that is."""
    viewers, tty = start_viewers(1, tool.client(rw=False), tool.env)
    try:
        time.sleep(1)
        if isinstance(tool, Vcon):  # say which path the row measured
            tool.direct = tool.writes_to(tty)
        servers = tool.servers()
        return pss_kib(servers), len(servers)
    finally:
        finish(viewers)


# --- the run -----------------------------------------------------------------

def make_data():
    """About MIB MiB of numbered text lines, as a chatty boot would print.
    The "@" numbers let viewers count which lines a client showed."""
    global LINES
    words = "the zone keeps talking whether or not anyone is reading it: "
    with open(DATA, "w") as f:
        size, n = 0, 0
        while size < MIB << 20:
            line = f"@{n:09d} {words}{(words * 2)[n % len(words):][:8]}\n"
            f.write(line)
            size += len(line)
            n += 1
    LINES = n


def main():
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))  # so that `finally` stops the tools
    started_at, load_start = time.monotonic(), open("/proc/loadavg").read().split()[:3]
    make_data()
    wanted = os.environ.get("TOOLS", "vcon,vcon-direct,conserver,tmux,screen,dtach").split(",")
    makers = {"vcon": lambda: Vcon("vcon", "peers-vcon"),
              "vcon-direct": lambda: Vcon("vcon (direct)", "peers-direct", VCON_DIRECT="1"),
              "vcon-socket": lambda: Vcon("vcon (socket)", "peers-socket-only", VCON_DIRECT="0"),
              # Another build of vcon, to compare a change with what it changes.
              "vcon-base": lambda: Vcon("vcon (base)", "peers-base", os.path.abspath(os.environ["VCON_BASE"])),
              "conserver": Conserver, "tmux": Tmux, "screen": Screen, "dtach": Dtach}
    tools = []
    try:
        for key in wanted:
            tool = makers[key]()
            tools.append(tool)
            # Every console in the same cooked mode (conserver's pty comes with
            # kill=@ and erase=^H): kernel echo, ^U kills the line.
            subprocess.run(["stty", "-F", tool.tty, "sane"], check=True)
        fresh = {tool.name: memory(tool) for tool in tools}
        speed, echoes = measure(tools)
        after = {tool.name: memory(tool) for tool in tools}
    finally:
        for tool in tools:
            tool.stop()
    took = time.monotonic() - started_at
    report(tools, speed, echoes, fresh, after, load_start, open("/proc/loadavg").read().split()[:3], took)


def measure(tools):
    """Interleaved rounds. Each tool's measurement comes right after one of the
    bare pty, so both see the machine in the same state (other jobs, caches)."""
    speed = {}  # (tool, scenario) -> [(seconds or None, bare seconds, bare bytes, [(bytes, lines)],
    #                                 stall only: the median with no client around it,
    #                                 with clients: CPU seconds of the tool's processes)]
    echoes = {}  # tool -> per round: (the tool's echo(), the bare pty's right before it) or None
    for r in range(ROUNDS):
        # A different tool goes first each round.
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for scenario in [0] + KS + ["stall"]:
            log(f"round {r + 1}/{ROUNDS}, {scenario if scenario != 'stall' else '1 stalled'} client(s)")
            for tool in order:
                limit, limit_bytes = bare()
                stall = scenario == "stall"
                quiet = None
                cpu = None
                if stall:
                    seconds, got, quiet = stalled(tool)
                else:
                    seconds, got, cpu = watched(tool, scenario)
                speed.setdefault((tool.name, scenario), []).append((seconds, limit, limit_bytes, got, quiet, cpu))
                share = f", clients got {min(b for b, _ in got) / limit_bytes:.0%}" if got and not stall else ""
                log(f"  {tool.name}: " + (f"{seconds:.3f} s" if seconds else f"timeout ({TIMEOUT:.0f} s)") +
                    f" (bare pty {limit:.3f} s" + (f", no client {quiet:.3f} s" if quiet else "") + f"){share}" +
                    (f", its processes {cpu:.2f} s CPU" if cpu is not None else ""))
                # One client is the case a single pair decides least well
                # (the bare pty alone moved by 10 % and more from run to
                # run here): more pairs, each counted.
                for _ in range(ONE_CLIENT_RUNS - 1 if scenario == 1 and seconds else 0):
                    limit, limit_bytes = bare()
                    seconds, got, cpu = watched(tool, scenario)
                    speed[(tool.name, scenario)].append((seconds, limit, limit_bytes, got, None, cpu))
                    log(f"  {tool.name}: " + (f"{seconds:.3f} s" if seconds else f"timeout ({TIMEOUT:.0f} s)") +
                        f" (bare pty {limit:.3f} s), its processes {cpu:.2f} s CPU")
        # The floods left hundreds of MiB of logs (vcon's, conserver's) to
        # write back; echoes are measured after that, not in its noise (it
        # moved every tool's p99 by tens of µs from round to round).
        os.sync()
        for tool in order:
            limit = echo(IDLE, dict(CLIENT_ENV, KEYECHO_WAIT="0"))
            e = echo(tool.client(rw=True), tool.env)
            log(f"round {r + 1}/{ROUNDS}, echo µs (median, p99): {tool.name} {e and e[:2]}, "
                f"bare pty {limit and limit[:2]}")
            echoes.setdefault(tool.name, []).append(e and limit and (e, limit))
    return speed, echoes


def stalled(tool):
    """A stalled client's runs and their own limit: the same tool with no
    client, run before, between and after them (not the run minutes
    earlier), STALL_PAIRS stalled runs, each figure the median: one run
    against its neighbours moves with the machine by 10 % and more here.
    A tool that blocks is not asked again. (seconds or None, got, quiet)"""
    quiets, stalls, got = [watched(tool, 0)[0]], [], []
    for _ in range(STALL_PAIRS):
        seconds, got, _ = watched(tool, 1, True)
        stalls.append(seconds)
        quiets.append(watched(tool, 0)[0])
        if seconds is None:
            return None, got, statistics.median(quiets)
    return statistics.median(stalls), got, statistics.median(quiets)


def quantile(values, q):
    """The nearest-rank quantile, as keyecho computes its own."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.999999) - 1))]


def percent(x):
    return f"{x:.0%}" if x < 10 else f"{x:.0f}×"


def report(tools, speed, echoes, fresh, after, load_start, load_end, took):
    med = statistics.median
    print(f"# Console servers side by side\n\nLinux {platform.release()}, {os.cpu_count()} CPUs; MIB={MIB}, "
          f"ROUNDS={ROUNDS}, ECHOES={ECHOES}, TIMEOUT={TIMEOUT:.0f} s; load average {' '.join(load_start)} "
          f"at the start, {' '.join(load_end)} at the end; the run took {took / 60:.1f} min.")
    print()
    print("Throughput: the bare pty's time ÷ the tool's time for the same writer, each run paired with a "
          f"bare run right before it, median of the runs (one a round; {ONE_CLIENT_RUNS} a round with 1 "
          "client) (1.00: as fast as a pty with one reader that keeps up; a timeout counts "
          "as 0). Last column: the stalled runs against the same tool with no client (the median of "
          f"{STALL_PAIRS} stalled runs against the median of runs before, between and after them).")
    print()
    heads = ["no client"] + [f"{k} client{'s' * (k != 1)}" for k in KS] + ["1 stalled client", "stalled ÷ no client"]
    print("| tool | " + " | ".join(heads) + " |")
    print("|---" * (len(heads) + 1) + "|")
    for tool in tools:
        cells = []
        for scenario in [0] + KS + ["stall"]:
            runs = speed[(tool.name, scenario)]
            timeouts = sum(1 for run in runs if not run[0])
            cell = "timeout" if timeouts == len(runs) else f"{med(run[1] / run[0] if run[0] else 0 for run in runs):.2f}"
            if 0 < timeouts < len(runs):
                cell += f" ({timeouts}/{len(runs)} timeout)"
            cells.append(cell)
        own = [run[4] / run[0] if run[0] and run[4] else 0 for run in speed[(tool.name, "stall")]]
        cells.append(f"{med(own):.2f}")
        print(f"| {tool.name} | " + " | ".join(cells) + " |")
    print()
    print("What the clients got in those runs: bytes ÷ the bytes the bare pty's reader got, and the "
          "different data lines they showed ÷ all lines; median over clients (median of the rounds), "
          "min over all clients and rounds. Not counted in a run that timed out.")
    print()
    print("| tool | " + " | ".join(f"{k} client{'s' * (k != 1)}: bytes · lines" for k in KS) + " |")
    print("|---" * (len(KS) + 1) + "|")
    for tool in tools:
        cells = []
        for k in KS:
            runs = [run for run in speed[(tool.name, k)] if run[0] and run[3]]
            if not runs:
                cells.append("–")
                continue
            byte_shares = [[b / run[2] for b, _ in run[3]] for run in runs]
            line_shares = [[n / LINES for _, n in run[3]] for run in runs]
            cells.append(" · ".join(f"{percent(med(med(s) for s in shares))} (min {percent(min(min(s) for s in shares))})"
                                    for shares in (byte_shares, line_shares)))
        print(f"| {tool.name} | " + " | ".join(cells) + " |")
    print()
    if 1 in KS:
        print(f"CPU the tool's own processes (servers and clients; not the writer, not the terminals' reader, not "
              f"the kernel's workers) used while the writer wrote {MIB} MiB with 1 client: median of the runs, "
              "and that per second of the run (how much of a CPU the tool took from the zone and the rest).")
        print()
        print("| tool | CPU s | CPU s ÷ run s |")
        print("|---|---|---|")
        for tool in tools:
            runs = [run for run in speed[(tool.name, 1)] if run[0] and run[5] is not None]
            if runs:
                print(f"| {tool.name} | {med(run[5] for run in runs):.2f} | {med(run[5] / run[0] for run in runs):.2f} |")
            else:
                print(f"| {tool.name} | – | – |")
        print()
    print(f"Echo: one key typed into a read-write client's terminal until it shows there, µs; median and p99 "
          f"of all the rounds' keys together ({ECHOES} a round; a round's own p99 moved by tens of µs from "
          "round to round here: their range is shown). Added: the tool minus the bare pty (key into the "
          "master of a pty with sleep on it, cooked mode), measured right before the tool in each round, "
          "its keys pooled alike. Memory: PSS of the tool's server processes with "
          "one client attached, idle, before the rounds and after them.")
    print()
    print("| tool | echo median | echo p99 | added median | added p99 | rounds' p99 | PSS KiB before | "
          "PSS KiB after | processes |")
    print("|---|---|---|---|---|---|---|---|---|")
    pairs = [e for tool in tools for e in echoes[tool.name] if e]
    if pairs:
        bare_keys = [t for e in pairs for t in e[1][2]]
        print(f"| bare pty | {quantile(bare_keys, 0.5):.0f} | {quantile(bare_keys, 0.99):.0f} | | | "
              f"{min(e[1][1] for e in pairs):.0f}–{max(e[1][1] for e in pairs):.0f} | | | |")
    for tool in tools:
        ok = [e for e in echoes[tool.name] if e]
        if ok:
            keys = [t for e in ok for t in e[0][2]]
            bare_keys = [t for e in ok for t in e[1][2]]
            median, p99 = quantile(keys, 0.5), quantile(keys, 0.99)
            cells = [f"{median:.0f}", f"{p99:.0f}", f"{median - quantile(bare_keys, 0.5):+.0f}",
                     f"{p99 - quantile(bare_keys, 0.99):+.0f}",
                     f"{min(e[0][1] for e in ok):.0f}–{max(e[0][1] for e in ok):.0f}"]
        else:
            cells = ["failed"] * 5
        if 0 < len(ok) < len(echoes[tool.name]):
            cells[0] += f" ({len(echoes[tool.name]) - len(ok)} round(s) failed)"
        cells += [str(fresh[tool.name][0]), str(after[tool.name][0]), str(after[tool.name][1])]
        print(f"| {tool.name} | " + " | ".join(cells) + " |")
    print()
    print("Direct output (the monitor held the client's terminal, checked in /proc): " +
          ", ".join(f"{t.name}: {'yes' if t.direct else 'no'}" for t in tools if isinstance(t, Vcon)) + ".")


if __name__ == "__main__":
    main()
