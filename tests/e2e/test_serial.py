"""Serial lines end to end: pty pairs made by socat and linked under /dev stand
in for lines (the test holds the machine's end), `vcon serve` serves them, and
picocom and minicom are the real peers vcon shares lines with."""
import json
import os
import re
import secrets
import select
import signal
import subprocess
import sys
import time

import pexpect
import pytest

from conftest import FrameClient, VCON, attached, close, said, wait_for

HOSTILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile.py")


class Line:
    """A pty pair from socat: `device` is the line vcon serves, `machine` the other end."""

    def __init__(self):
        tag = f"vct{secrets.token_hex(3)}"
        self.device, self.machine_path = f"/dev/{tag}", f"/dev/{tag}m"
        self.name = tag
        self.process = None
        self.fd = None

    def plug(self):
        self.process = subprocess.Popen(["socat", f"pty,raw,echo=0,link={self.device}",
                                         f"pty,raw,echo=0,link={self.machine_path}"], stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.device) and os.path.exists(self.machine_path), what="socat's ptys")
        self.fd = os.open(self.machine_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        return self

    def unplug(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.process and self.process.poll() is None:
            self.process.terminate()  # socat removes its links on SIGTERM: the device is gone
            self.process.wait()
        wait_for(lambda: not os.path.lexists(self.device), what="the line gone")

    def send(self, data):
        os.write(self.fd, data)

    def receive_until(self, wanted, timeout=15):
        got = b""
        deadline = time.monotonic() + timeout
        while wanted not in got and time.monotonic() < deadline:
            if select.select([self.fd], [], [], 0.1)[0]:
                try:
                    got += os.read(self.fd, 65536)
                except BlockingIOError:
                    pass
        assert wanted in got, (wanted, got)
        return got

    def lock_file(self, lock_dir):
        return os.path.join(lock_dir, f"LCK..{self.name}")


@pytest.fixture
def line():
    plugged = Line().plug()
    yield plugged
    plugged.unplug()
    for leftover in ("/var/lock/LCK.." + plugged.name,):
        if os.path.exists(leftover):
            os.unlink(leftover)


class Serve:
    """`vcon serve --foreground` for one test; stopped (and checked to leave no monitor) after."""

    def __init__(self, vcon, lock_dir=None, user=None):
        self.vcon = vcon
        self.lock_dir = lock_dir or os.path.join(vcon.top, "lock")
        os.makedirs(self.lock_dir, exist_ok=True)
        self.env = dict(vcon.env, VCON_LOCK_DIR=self.lock_dir)
        self.out = os.path.join(vcon.top, "serve.out")
        argv = [VCON, "serve", "--foreground"]
        with open(self.out, "ab") as out:
            self.process = subprocess.Popen(user.command(*argv) if user else argv, env=self.env, stdout=out,
                                            stderr=out)
        wait_for(lambda: "serving the serial lines" in self.text(), what="vcon serve")

    def text(self):
        return open(self.out).read() if os.path.exists(self.out) else ""

    def line_log(self, name):
        path = os.path.join(self.vcon.top, "log", "lines", f"{name}.log")
        return open(path).read() if os.path.exists(path) else ""

    def monitor_pid(self, name):
        found = re.findall(rf"{name}: monitor started, PID (\d+)", self.text())
        return int(found[-1]) if found else None

    def socket(self, name):
        return os.path.join(self.vcon.top, "run", ".lines", name, "console.sock")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        return "every line's monitor has stopped" in self.text()


@pytest.fixture
def serve(vcon):
    started = []

    def start(**kwargs):
        started.append(Serve(vcon, **kwargs))
        return started[-1]

    yield start
    for server in started:
        assert server.stop(), server.text()


def attach_frames(path, mode="ro"):
    client = FrameClient.unix(path)
    client.send(FrameClient.HELLO, {"version": 1, "mode": mode})
    kind, payload = client.receive()
    assert kind == FrameClient.WELCOME, payload
    return client


def opens(server, name):
    return len(re.findall(r"[*~] open: ", server.line_log(name)))


def wait_open(server, name, before=0):
    """Waits for the line to be opened again after `before` opens."""
    wait_for(lambda: opens(server, name) > before, what=f"line {name} open")


def serve_line(vcon, serve, line, settings="", **kwargs):
    """A consoledb with this one line (and its settings), served, the line open."""
    vcon.write_consoledb(f"console={line.name} dev={line.device} {settings}\n")
    server = serve(**kwargs)
    wait_open(server, line.name)
    return server


def test_a_line_carries_output_input_and_its_log(vcon, line, serve):
    server = serve_line(vcon, serve, line, "speed=115200")
    child = pexpect.spawn(VCON, ["console", line.name], env=vcon.env, encoding="utf-8", timeout=15)
    try:
        attached(child)
        line.send(b"login: ")
        child.expect("login: ")
        child.send("root\r")
        line.receive_until(b"root\r")
        wait_for(lambda: "login: " in vcon.run("log", line.name, "--raw").stdout, what="the line's log")
        # The lock file holds the monitor's PID, as minicom writes it.
        assert open(line.lock_file(server.lock_dir)).read() == f"{server.monitor_pid(line.name):>10}\n"
        assert "speed 115200 baud" in subprocess.run(["stty", "-F", line.device], capture_output=True,
                                                     text=True).stdout
    finally:
        close(child)


def test_a_line_named_as_the_kernel_names_it_works_with_every_command(vcon, line, serve):
    """The README's own example: console ttyS0 (capitals), not a zone's name."""
    vcon.write_consoledb(f"console=ttyS0 dev={line.device}\n")
    server = serve()
    wait_open(server, "ttyS0")
    child = pexpect.spawn(VCON, ["console", "ttyS0"], env=vcon.env, encoding="utf-8", timeout=15)
    try:
        attached(child, "attached to ttyS0, read-write")
        line.send(b"ttyS0-login: ")
        child.expect("ttyS0-login: ")
        assert [c["mode"] for c in json.loads(vcon.run("who", "ttyS0", "--json").stdout)] == ["rw"]
    finally:
        close(child)
    proxy = subprocess.Popen([VCON, "proxy", "ttyS0"], env=vcon.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        client = FrameClient(proxy.stdout.read1, lambda b: (proxy.stdin.write(b), proxy.stdin.flush()))
        client.send(FrameClient.HELLO, {"version": 1, "mode": "ro"})
        assert client.receive()[0] == FrameClient.WELCOME
    finally:
        proxy.stdin.close()
        proxy.wait(timeout=15)
    vcon.run("ctl", "ttyS0", "break")
    wait_for(lambda: "ttyS0-login: " in vcon.run("log", "ttyS0", "--raw").stdout, what="the line's log")
    for command in (["console"], ["proxy"], ["who"], ["log"], ["ctl", "x"]):
        refused = vcon.run(command[0], "tty/S0", *command[1:], check=False, stdin=subprocess.DEVNULL)
        assert refused.returncode == 1 and "invalid console name 'tty/S0': character '/' is not allowed" \
            in refused.stderr, (command, refused.stderr)


def test_speed_follows_ctl_and_consoledb_edits(vcon, line, serve):
    server = serve_line(vcon, serve, line, "speed=115200")

    def speed():
        return subprocess.run(["stty", "-F", line.device, "speed"], capture_output=True, text=True).stdout.strip()

    assert speed() == "115200"
    vcon.run("ctl", line.name, "b9600")
    assert speed() == "9600"
    vcon.write_consoledb(f"console={line.name} dev={line.device} speed=57600\n")
    wait_for(lambda: speed() == "57600", what="the consoledb's new speed on the line")
    bad = vcon.run("ctl", line.name, "b12345", check=False)
    assert bad.returncode == 1 and "12345 is not a standard line speed" in bad.stderr


def test_cronly_turns_typed_newlines_into_returns(vcon, line, serve):
    server = serve_line(vcon, serve, line, "cronly=")
    client = attach_frames(server.socket(line.name), "rw")
    client.send(FrameClient.DATA, b"ls\nuptime\n")
    got = line.receive_until(b"uptime\r")
    assert got.endswith(b"ls\ruptime\r") and b"\n" not in got


def test_open_on_demand_holds_the_line_while_attached_and_a_moment_after(vcon, line, serve):
    vcon.write_consoledb(f"console={line.name} dev={line.device} openondemand=\n")
    server = serve()
    lock = line.lock_file(server.lock_dir)
    wait_for(lambda: os.path.exists(server.socket(line.name)), what="the line's monitor")
    time.sleep(0.3)
    assert not os.path.exists(lock), "the line was taken with nobody attached"
    client = attach_frames(server.socket(line.name))
    wait_for(lambda: os.path.exists(lock), what="the lock while a client is attached")
    line.send(b"seen-on-demand\r\n")
    client.receive_until(lambda kind, payload: b"seen-on-demand" in payload)
    client.sock.close()
    wait_for(lambda: not os.path.exists(lock), what="the lock released after the last client left")


def test_a_loop_of_attaches_does_not_open_and_close_an_on_demand_line_each_time(vcon, line, serve, make_user):
    # Each attach opened the line (DTR up) and each detach closed it, with a
    # line in the log and the audit log both times: a read-only user's loop
    # wrote the audit log full (red-team review). The line stays open a
    # moment after the last client left.
    viewer = make_user("ro")
    vcon.write_consoledb(f"console={line.name} dev={line.device} openondemand= ro={viewer.name}\n")
    server = serve()
    lock = line.lock_file(server.lock_dir)
    wait_for(lambda: os.path.exists(server.socket(line.name)), what="the line's monitor")
    churn = subprocess.run(viewer.command(sys.executable, HOSTILE, "churn", "100", server.socket(line.name), "ro"),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert churn.returncode == 0, churn.stderr
    wait_for(lambda: not os.path.exists(lock), what="the lock released a moment after the loop")
    audit = open(os.path.join(vcon.top, "log", "lines", f"{line.name}.audit.log")).read()
    assert audit.count(" * open: ") == 1, audit[-2000:]
    assert audit.count("no client attached, line closed") == 1, audit[-2000:]


def test_a_line_no_longer_open_on_demand_is_not_closed_by_its_last_clients_linger(vcon, line, serve):
    vcon.write_consoledb(f"console={line.name} dev={line.device} openondemand=\n")
    server = serve()
    lock = line.lock_file(server.lock_dir)
    wait_for(lambda: os.path.exists(server.socket(line.name)), what="the line's monitor")
    client = attach_frames(server.socket(line.name))
    wait_for(lambda: os.path.exists(lock), what="the lock while a client is attached")
    client.sock.close()  # the line lingers open...
    vcon.write_consoledb(f"console={line.name} dev={line.device}\n")  # ...and is now always open
    time.sleep(7)  # past the linger
    assert os.path.exists(lock), "the line was closed though it is no longer open on demand"
    line.send(b"still-served\r\n")
    wait_for(lambda: "still-served" in server.line_log(line.name), what="the line still served")


def test_break_by_escape_and_by_ctl(vcon, line, serve, zone):
    server = serve_line(vcon, serve, line)
    child = pexpect.spawn(VCON, ["console", line.name], env=vcon.env, encoding="utf-8", timeout=15)
    try:
        attached(child)
        child.send("\r~#")
        child.expect(said(child, "[break sent]"))
    finally:
        close(child)
    vcon.run("ctl", line.name, "break")
    assert len(re.findall(r"[*~] root \(PID \d+\): break sent", server.line_log(line.name))) == 2
    refused = vcon.run("ctl", zone, "break", check=False)
    assert refused.returncode == 1 and "break is for serial lines" in refused.stderr
    # A pty has no modem lines: hangup (DTR) says so rather than pretending.
    no_dtr = vcon.run("ctl", line.name, "hangup", check=False)
    assert no_dtr.returncode == 1 and "hangup: drop DTR: Inappropriate ioctl for device" in no_dtr.stderr


def test_a_line_that_goes_away_comes_back(vcon, line, serve):
    server = serve_line(vcon, serve, line)
    client = attach_frames(server.socket(line.name))
    line.unplug()
    frames = client.receive_until(lambda kind, payload: kind == FrameClient.NOTICE and b"lost" in payload)
    assert any(b"line %s: lost" % line.name.encode() in payload for _, payload in frames)
    assert not os.path.exists(line.lock_file(server.lock_dir)), "a lost line keeps no lock"
    line.plug()
    client.receive_until(lambda kind, payload: kind == FrameClient.NOTICE and b"open: " in payload)
    line.send(b"back-again\r\n")
    client.receive_until(lambda kind, payload: b"back-again" in payload)


def test_serve_follows_the_consoledb(vcon, serve):
    first, second = Line().plug(), Line().plug()
    try:
        vcon.write_consoledb(f"console={first.name} dev={first.device}\n")
        server = serve()
        wait_open(server, first.name)
        vcon.write_consoledb(f"console={first.name} dev={first.device}\nconsole={second.name} dev={second.device}\n")
        wait_open(server, second.name)
        assert os.path.exists(second.lock_file(server.lock_dir))
        vcon.write_consoledb(f"console={second.name} dev={second.device}\n")
        wait_for(lambda: not os.path.exists(server.socket(first.name)), what="the removed line's monitor gone")
        assert not os.path.exists(first.lock_file(server.lock_dir))
        assert os.path.exists(second.lock_file(server.lock_dir))
        gone = vcon.run("console", first.name, check=False)
        assert gone.returncode == 1 and "not running, or does not exist" in gone.stderr or "does not exist" in gone.stderr
    finally:
        first.unplug()
        second.unplug()


def picocom(device):
    return pexpect.spawn("picocom", ["-b", "9600", device], encoding="utf-8", timeout=15)


def test_picocom_and_vcon_never_share_a_line(vcon, line, serve):
    server = serve_line(vcon, serve, line)
    refused = picocom(line.device)
    refused.expect(pexpect.EOF)
    assert "cannot lock" in refused.before
    close(refused)
    vcon.write_consoledb("")
    wait_for(lambda: not os.path.exists(server.socket(line.name)), what="vcon to let go of the line")
    holder = picocom(line.device)
    try:
        holder.expect("Terminal ready")
        vcon.write_consoledb(f"console={line.name} dev={line.device}\n")
        wait_for(lambda: re.search(rf"busy: picocom \(PID {holder.pid}\) holds it \(flock\)",
                                   server.line_log(line.name)), what="vcon to name picocom")
        assert not os.path.exists(line.lock_file(server.lock_dir)), "a busy line must not keep vcon's lock file"
        before = opens(server, line.name)
    finally:
        close(holder)
    wait_open(server, line.name, before)


def minicom(device):
    env = {"TERM": "xterm", "PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C"}
    return pexpect.spawn("minicom", ["-D", device, "-b", "9600"], encoding="utf-8", timeout=15, env=env)


def test_minicom_and_vcon_never_share_a_line(vcon, line, serve):
    vcon.write_consoledb(f"console={line.name} dev={line.device}\n")
    server = serve(lock_dir="/var/lock")  # where minicom looks
    wait_open(server, line.name)
    refused = minicom(line.device)
    refused.expect(pexpect.EOF)
    assert f"Device {line.device} is locked." in refused.before
    close(refused)
    vcon.write_consoledb("")
    wait_for(lambda: not os.path.exists(line.lock_file("/var/lock")), what="vcon's lock file gone")
    holder = minicom(line.device)
    try:
        wait_for(lambda: os.path.exists(line.lock_file("/var/lock")), what="minicom's lock file")
        vcon.write_consoledb(f"console={line.name} dev={line.device}\n")
        wait_for(lambda: re.search(rf"busy: minicom \(PID {holder.pid}\) holds it \(lock file /var/lock/LCK..",
                                   server.line_log(line.name)), what="vcon to name minicom")
        before = opens(server, line.name)
        holder.kill(signal.SIGKILL)  # minicom dies and leaves its lock file behind: stale
        holder.wait()
    finally:
        close(holder)
    wait_open(server, line.name, before)
    assert open(line.lock_file("/var/lock")).read() == f"{server.monitor_pid(line.name):>10}\n"


@pytest.mark.parametrize("content", ["dead", "garbage\n"])
def test_stale_and_garbage_lock_files_are_taken_over(vcon, line, serve, content):
    lock_dir = os.path.join(vcon.top, "lock")
    os.makedirs(lock_dir)
    if content == "dead":
        gone = subprocess.Popen(["true"])
        gone.wait()
        content = f"{gone.pid:>10}\n"
    with open(line.lock_file(lock_dir), "w") as f:
        f.write(content)
    server = serve_line(vcon, serve, line, lock_dir=lock_dir)
    assert open(line.lock_file(lock_dir)).read() == f"{server.monitor_pid(line.name):>10}\n"


def test_an_unwritable_lock_dir_is_checked_but_not_needed(vcon, line, serve, make_user):
    user = make_user("serial")
    lock_dir = os.path.join(vcon.top, "lock")
    os.makedirs(lock_dir)
    os.chmod(lock_dir, 0o755)  # root's: the user may look, not write
    for path in ("run", "log"):
        os.makedirs(os.path.join(vcon.top, path), exist_ok=True)
        os.chown(os.path.join(vcon.top, path), user.uid, user.gid)
    os.chmod(os.path.realpath(line.device), 0o666)
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        with open(line.lock_file(lock_dir), "w") as f:
            f.write(f"{sleeper.pid:>10}\n")  # a live holder: respected even without write access
        vcon.write_consoledb(f"console={line.name} dev={line.device}\n")
        server = serve(lock_dir=lock_dir, user=user)
        wait_for(lambda: re.search(rf"busy: sleep \(PID {sleeper.pid}\) holds it", server.line_log(line.name)),
                 what="the live lock respected")
        os.unlink(line.lock_file(lock_dir))
        wait_for(lambda: "no lock file (the lock directory is not writable)" in server.line_log(line.name),
                 what="the line opened without a lock file")
        assert os.listdir(lock_dir) == []
        line.send(b"as-a-user\r\n")
        wait_for(lambda: "as-a-user" in server.line_log(line.name), what="output from the line")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_served_line_in_the_file_system(vcon, line, serve):
    from test_fs import Reader, Server
    server = serve_line(vcon, serve, line, "speed=57600")
    fs = Server(vcon).start()
    try:
        stat = open(os.path.join(fs.mountpoint, line.name + "stat")).read()
        assert f"kind: serial {line.device}\nstate: open\n" in stat and "speed: 57600 8N1\n" in stat, stat
        reader = Reader(vcon, ["cat", os.path.join(fs.mountpoint, line.name)])
        try:
            reader.wait_for(r"\[vcon #[0-9a-f]{12}\] \[\+root\]")
            line.send(b"from-the-machine\r\n")
            reader.wait_for("from-the-machine")
        finally:
            reader.stop()
        with open(os.path.join(fs.mountpoint, line.name + "ctl"), "w") as ctl:
            ctl.write("break\n")
        assert re.search(r"[*~] root \(PID \d+, file system\): break sent", server.line_log(line.name))
    finally:
        assert fs.stop()


def test_a_second_serve_is_refused(vcon, serve):
    vcon.write_consoledb("")
    server = serve()
    again = subprocess.run([VCON, "serve", "--foreground"], env=server.env, capture_output=True, text=True, timeout=15)
    assert again.returncode == 1
    assert f"vcon serve already runs for {vcon.top}/run (PID {server.process.pid}); stop it first" in again.stderr
