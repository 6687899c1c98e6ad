"""Fixtures for vcon's end-to-end tests: real zones, as root.

Every test gets its own short temporary directory (unix socket paths must stay
under 108 bytes) holding the state, run and log directories, and a Vcon helper
bound to it. Teardown halts every zone still running there, checks that no
monitor or zone process survived, and removes the directory: tests clean up
after themselves even when they fail.
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("VCON_BUILD", os.path.join(ROOT, "build"))
VCON = os.path.join(BUILD, "vcon")


# Under `make test-asan` memory is ASan's: shadow memory, redzones and a
# quarantine of freed blocks. Memory bounds there get this much slack (they
# still catch growth without bound).
MEMORY_SLACK_KIB = 96 * 1024 if os.environ.get("VCON_SANITIZED") else 0


def wait_for(condition, timeout=15.0, what="condition"):
    """Polls `condition` until it returns something truthy; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


# vcon console marks its own lines with a token made for each attach:
# "[#3fa9c01b5d2e attached to web, ...]", "[#3fa9c01b5d2e zone web halted]". A zone cannot
# print the token of an attach it never saw.
TOKEN = r"#[0-9a-f]{12}"


def attached(child, what="attached to "):
    """Waits for `vcon console`'s attach line (`what` a regex after the
    token) and remembers the attach's token on `child`."""
    child.expect(rf"\[({TOKEN}) {what}")
    child.token = child.match.group(1)
    return child


def said(child, text):
    """A regex for vcon's own line `text` ("[...]") as `child` shows it."""
    assert text.startswith("["), text
    return re.escape(f"[{child.token} {text[1:]}")


def process_alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone before the open, or between open and read
        return False


class Vcon:
    def __init__(self, top):
        self.top = top
        self.env = dict(os.environ)
        self.env.update(
            VCON_STATE_DIR=os.path.join(top, "state"),
            VCON_RUN_DIR=os.path.join(top, "run"),
            VCON_LOG_DIR=os.path.join(top, "log"),
            VCON_CONSOLEDB=os.path.join(top, "consoledb"),
        )
        self.booted = set()

    def write_consoledb(self, text):
        """Replaces the consoledb the way an editor saving it would (new file, rename)."""
        path = self.env["VCON_CONSOLEDB"]
        with open(path + ".new", "w") as f:
            f.write(text)
        os.rename(path + ".new", path)

    def monitor_log(self, name):
        path = os.path.join(self.top, "log", f"{name}.monitor.log")
        return open(path).read() if os.path.exists(path) else ""

    def run(self, *args, check=True, timeout=60, input=None, **kwargs):
        # Bytes in, text out by hand: text=True would turn the console's
        # "\r\n" (and a lone "\r") into "\n".
        result = subprocess.run([VCON, *args], env=self.env, capture_output=True, timeout=timeout,
                                input=input.encode() if isinstance(input, str) else input, **kwargs)
        result.stdout = result.stdout.decode("utf-8", "replace")
        result.stderr = result.stderr.decode("utf-8", "replace")
        if check and result.returncode != 0:
            pytest.fail(f"vcon {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def create(self, name, *args):
        return self.run("create", name, *args)

    def boot(self, name):
        self.booted.add(name)
        return self.run("boot", name)

    def zone_up(self, name, *create_args):
        """Creates and boots a busybox zone and waits until its shell prompt is on the console."""
        self.create(name, *create_args)
        self.boot(name)
        wait_for(lambda: ":/# " in self.log_text(name, raw=True), what=f"zone {name}'s prompt")

    def exec(self, name, *command, check=True, **kwargs):
        return self.run("exec", name, "--", *command, check=check, **kwargs)

    def ls(self):
        return {z["name"]: z for z in json.loads(self.run("ls", "--json").stdout)}

    def ps(self, name=None):
        return json.loads(self.run("ps", *([name] if name else []), "--json").stdout)

    def log_path(self, name):
        return os.path.join(self.top, "log", f"{name}.log")

    def log_text(self, name, raw=False):
        if not os.path.exists(self.log_path(name)):
            return ""
        return self.run("log", name, *(["--raw"] if raw else [])).stdout

    def private_dir(self, name):
        """A directory for a user-supplied root file system: below one other host users cannot enter
        (vcon refuses a rootfs they could reach)."""
        closed = os.path.join(self.top, "private")
        os.makedirs(closed, mode=0o700, exist_ok=True)
        path = os.path.join(closed, name)
        os.makedirs(path, exist_ok=True)
        return path

    def zone_dir(self, name):
        return os.path.join(self.top, "state", "zones", name)

    def run_dir(self, name):
        return os.path.join(self.top, "run", name)

    def monitor_pids(self, comm="vcon-monitor"):
        """PIDs of the monitors (comm vcon-monitor; or keepers: vcon-keeper) started with this test's run directory."""
        mine = f"VCON_RUN_DIR={self.top}/run".encode()
        pids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() != comm:
                        continue
                with open(f"/proc/{pid}/environ", "rb") as f:
                    environ = f.read().split(b"\0")
            except (FileNotFoundError, ProcessLookupError):
                continue
            if mine in environ and process_alive(pid):
                pids.append(int(pid))
        return pids

    def cleanup_zones(self):
        """Destroys every zone the test left (halting it first): its cgroup and its entry in the host's id
        range registry go too."""
        for name in self.ls():
            self.run("destroy", name, "--force", check=False)

    def cleanup(self):
        """Halts what the test left running; returns monitors that outlived a halt."""
        self.cleanup_zones()
        strays = self.monitor_pids() + self.monitor_pids("vcon-keeper")
        for pid in strays:
            os.kill(pid, 9)
        shutil.rmtree(self.top, ignore_errors=True)
        return strays


@pytest.fixture
def vcon():
    top = tempfile.mkdtemp(prefix="vcon-", dir="/tmp")
    os.chmod(top, 0o755)  # the users a test makes must reach the sockets
    helper = Vcon(top)
    yield helper
    strays = helper.cleanup()
    assert not strays, f"monitors or keepers survived halt --force: {strays}"


@pytest.fixture
def zone(vcon):
    """A booted busybox zone named 'z1'."""
    vcon.zone_up("z1")
    return "z1"


def close(*children):
    """Ends pexpect children (terminals) for good."""
    for child in children:
        if child.isalive():
            child.kill(9)
        child.close()


class User:
    """A real Unix user made for one test."""

    def __init__(self, name):
        import pwd
        entry = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, entry.pw_uid, entry.pw_gid

    def command(self, *argv):
        """argv run as this user (setpriv: real and effective ids, and its groups)."""
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", "--", *argv]

    def speak(self, socket_path, frames):
        """Sends raw monitor frames [(type, dict)] as this user; returns all the monitor sent until it closed
        (or 2 s passed), as text."""
        script = ("import json,socket,sys\n"
                  "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(2)\n"
                  "for t,p in json.loads(sys.argv[2]):\n"
                  "  b=json.dumps(p).encode(); s.sendall((len(b)+1).to_bytes(4,'big')+bytes([t])+b)\n"
                  "data=b''\n"
                  "try:\n"
                  "  while (c:=s.recv(65536)): data+=c\n"
                  "except socket.timeout: pass\n"
                  "sys.stdout.write(data.decode('latin1'))\n")
        result = subprocess.run(self.command("/usr/bin/python3", "-c", script, socket_path, json.dumps(frames)),
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture
def make_user():
    """make_user(role, groups=()) creates a user with a unique name; all are removed after the test."""
    made = []

    def make(role, groups=()):
        name = f"vct{secrets.token_hex(3)}{role}"[:32]
        args = ["useradd", "--no-create-home", "--shell", "/bin/sh"]
        if groups:
            args += ["--groups", ",".join(groups)]
        for attempt in range(50):  # another useradd may hold /etc/passwd's lock
            result = subprocess.run(args + [name], capture_output=True, text=True)
            if result.returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"useradd {name}: {result.stderr}")
        made.append(name)
        return User(name)

    yield make
    for name in made:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def make_group():
    """make_group(role) creates a Unix group for one test; removed after."""
    made = []

    def make(role):
        name = f"vcg{secrets.token_hex(3)}{role}"[:32]
        subprocess.run(["groupadd", name], check=True)
        made.append(name)
        return name

    yield make
    for name in made:
        subprocess.run(["groupdel", name], capture_output=True)


class FrameClient:
    """Speaks the monitor protocol over any byte stream (a socket or a pipe pair)."""
    HELLO, WELCOME, DATA, RESIZE, BREAK, NOTICE, ERROR, REQUEST, RESPONSE = range(1, 10)

    def __init__(self, read, write):
        self.read, self.write, self.buffer = read, write, b""

    @classmethod
    def unix(cls, path):
        import socket
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.settimeout(15)
        client = cls(sock.recv, sock.sendall)
        client.sock = sock
        return client

    def send(self, kind, payload=b""):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
        self.write(len(payload + b"x").to_bytes(4, "big") + bytes([kind]) + payload)

    def receive(self):
        while True:
            if len(self.buffer) >= 4:
                length = int.from_bytes(self.buffer[:4], "big")
                if len(self.buffer) >= 4 + length:
                    frame = self.buffer[4:4 + length]
                    self.buffer = self.buffer[4 + length:]
                    return frame[0], frame[1:]
            chunk = self.read(65536)
            if not chunk:
                raise EOFError("monitor closed the stream")
            self.buffer += chunk

    def receive_until(self, predicate, limit=10000):
        """Frames up to and including the first one `predicate(kind, payload)` accepts."""
        frames = []
        for _ in range(limit):
            frames.append(self.receive())
            if predicate(*frames[-1]):
                return frames
        pytest.fail("no matching frame")
