"""The console file system end to end: a real FUSE mount (vcon fs), real
zones, cat, tail -f, echo, poll, signals, and users made in the test."""
import errno
import json
import os
import re
import select
import signal
import subprocess
import time

import pexpect
import pytest

from conftest import VCON, attached, said, wait_for


class Server:
    """`vcon fs MOUNTPOINT --foreground`, stopped (and the mount checked gone) after the test."""

    def __init__(self, vcon):
        self.vcon = vcon
        self.mountpoint = os.path.join(vcon.top, "mnt")
        self.log = os.path.join(vcon.top, "fs.stderr")
        self.process = None

    def start(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([VCON, "fs", self.mountpoint, "--foreground"], env=self.vcon.env,
                                            stdout=log, stderr=log)
        serving = f"serving consoles on {self.mountpoint} (PID {self.process.pid})"
        wait_for(lambda: serving in self.stderr() or self.process.poll() is not None, what="the file system mounted")
        assert self.mounted() and self.process.poll() is None, self.stderr()
        return self

    def stderr(self):
        return open(self.log).read() if os.path.exists(self.log) else ""

    def mounted(self):
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == self.mountpoint for line in f)

    def path(self, name):
        return os.path.join(self.mountpoint, name)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)
        if self.mounted():
            subprocess.run(["umount", "-l", self.mountpoint])
            return False
        return True


@pytest.fixture
def fs(vcon):
    server = Server(vcon).start()
    yield server
    assert server.stop(), "vcon fs left its mount behind after SIGTERM"


class Reader:
    """A program reading a console file into a file of its own (so the test never blocks on it)."""

    def __init__(self, vcon, argv):
        self.out = os.path.join(vcon.top, f"reader-{time.monotonic_ns()}")
        with open(self.out, "wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=vcon.env)

    def text(self):
        return open(self.out, "rb").read().decode("utf-8", "replace")

    def wait_for(self, pattern, what=None):
        return wait_for(lambda: re.search(pattern, self.text()), what=what or f"{pattern!r} in {self.out}")

    def token(self):
        """The token on vcon's lines in this reader's data, from the line that opens them."""
        return self.wait_for(r"\[vcon (#[0-9a-f]{12})\] \[\S+, read-(?:only|write); vcon's own lines in this file "
                             r"start with \[vcon \1\]\]\r\n", what="the reader's first vcon line").group(1)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=15)


def say(vcon, zone, text):
    vcon.exec(zone, "sh", "-c", f"echo '{text}' > /dev/console")


def test_cat_and_tail_follow_the_console(vcon, zone, fs):
    cat = Reader(vcon, ["cat", fs.path(zone)])
    tail = Reader(vcon, ["tail", "-f", fs.path(zone)])
    try:
        cat.wait_for(r"\[vcon #[0-9a-f]{12}\] \[\+root")  # attached: the join notice is in the file
        tail.wait_for(r"\[vcon #[0-9a-f]{12}\] \[\+root")
        say(vcon, zone, "seen-by-cat-and-tail")
        cat.wait_for("seen-by-cat-and-tail")
        tail.wait_for("seen-by-cat-and-tail")
        assert "file truncated" not in tail.text()
        # tail's first look is the last lines of what was there.
        assert ":/# " in tail.text()
    finally:
        cat.stop()
        tail.stop()


def test_echo_into_the_file_is_console_input(vcon, zone, fs):
    subprocess.run(["sh", "-c", f"echo 'echo typed-via-fs-$((6*7))' > {fs.path(zone)}"], check=True, timeout=15)
    wait_for(lambda: "typed-via-fs-42" in vcon.log_text(zone, raw=True), what="the command's output")
    assert re.search(r"[*~] root \(PID \d+, file system\) attached read-write", vcon.log_text(zone))


def test_two_readers_see_everything_in_order(vcon, zone, fs):
    readers = [Reader(vcon, ["cat", fs.path(zone)]) for _ in range(2)]
    try:
        for reader in readers:
            reader.wait_for(r"\[vcon #[0-9a-f]{12}\] \[\+root")
        vcon.exec(zone, "sh", "-c", "seq 1 3000 > /dev/console")
        expected = "\r\n".join(str(i) for i in range(1, 3001)) + "\r\n"
        for reader in readers:
            reader.wait_for("\r\n3000\r\n")
            assert expected in reader.text()
    finally:
        for reader in readers:
            reader.stop()


def test_join_and_leave_notices(vcon, zone, fs, make_user):
    alice = make_user("alice")
    vcon.write_consoledb(f"console={zone} zone={zone} ro={alice.name}\n")
    watcher = Reader(vcon, ["cat", fs.path(zone)])
    try:
        watcher.wait_for(r"\[vcon #[0-9a-f]{12}\] \[\+root\]")
        visitor = Reader(vcon, alice.command("cat", fs.path(zone)))
        watcher.wait_for(rf"\r\n\[vcon #[0-9a-f]{{12}}\] \[\+{alice.name}, root\]\r\n")
        visitor.stop()
        watcher.wait_for(rf"\r\n\[vcon #[0-9a-f]{{12}}\] \[-{alice.name}, root\]\r\n")
        clients = json.loads(vcon.run("who", zone, "--json").stdout)
        assert [(c["user"], c["via"]) for c in clients] == [("root", "fs")]
    finally:
        watcher.stop()


def test_poll_and_an_interrupted_read(vcon, zone, fs):
    fd = os.open(fs.path(zone), os.O_RDONLY)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while poller.poll(500):  # take what is there (replay, notices)
            os.read(fd, 65536)
        assert poller.poll(300) == [], "poll said readable with nothing to read"
        say(vcon, zone, "wakes-poll")
        assert poller.poll(15000) == [(fd, select.POLLIN)]
        got = b""
        while b"wakes-poll" not in got and poller.poll(5000):
            got += os.read(fd, 65536)
        assert b"wakes-poll" in got

        class Alarm(Exception):
            pass

        def ring(*_):
            raise Alarm()

        previous = signal.signal(signal.SIGALRM, ring)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            with pytest.raises(Alarm):
                os.read(fd, 100)  # nothing comes: only the signal can end this read
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        # The descriptor still works after the interruption.
        say(vcon, zone, "after-interrupt")
        got = b""
        while b"after-interrupt" not in got and poller.poll(5000):
            got += os.read(fd, 65536)
        assert b"after-interrupt" in got
    finally:
        os.close(fd)


def test_write_is_ebusy_while_another_client_writes(vcon, zone, fs):
    holder = pexpect.spawn(VCON, ["console", zone], env=vcon.env, encoding="utf-8", timeout=15)
    attached(holder)
    fd = os.open(fs.path(zone), os.O_WRONLY)
    try:
        with pytest.raises(OSError) as refused:
            os.write(fd, b"echo should-not-run\n")
        assert refused.value.errno == errno.EBUSY
    finally:
        os.close(fd)
        holder.kill(signal.SIGKILL)
        holder.close()
    wait_for(lambda: json.loads(vcon.run("who", zone, "--json").stdout) == [], what="the holder gone")
    fd = os.open(fs.path(zone), os.O_WRONLY)
    try:
        assert os.write(fd, b"echo now-$((2+3))-it-runs\n") > 0
    finally:
        os.close(fd)
    wait_for(lambda: "now-5-it-runs" in vcon.log_text(zone, raw=True), what="the write after the lock was free")
    assert "should-not-run" not in vcon.log_text(zone, raw=True)


def test_ctl_commands_and_stat(vcon, zone, fs):
    with open(fs.path(zone + "ctl"), "w") as ctl:
        ctl.write("resize 33 101\n")
    out = vcon.exec(zone, "stty", "-F", "/dev/console", "size").stdout
    assert out.strip() == "33 101"
    # hangup: SIGHUP to the console's foreground job; init starts a new getty.
    prompts = vcon.log_text(zone, raw=True).count(":/# ")
    with open(fs.path(zone + "ctl"), "w") as ctl:
        ctl.write("hangup\n")
    wait_for(lambda: vcon.log_text(zone, raw=True).count(":/# ") > prompts, what="a new shell after the hangup")
    assert re.search(r"[*~] root \(PID \d+, file system\): hangup", vcon.log_text(zone))
    for bad, reason in (("resize 0 0\n", "usage: resize ROWS COLS"), ("reboot\n", "unknown command 'reboot'"),
                        ("b9600\n", "bSPEED is for serial lines")):
        fd = os.open(fs.path(zone + "ctl"), os.O_WRONLY)
        try:
            with pytest.raises(OSError) as refused:
                os.write(fd, bad.encode())
            assert refused.value.errno == errno.EINVAL
        finally:
            os.close(fd)
        assert reason in vcon.log_text(zone), (reason, vcon.log_text(zone)[-500:])
    watcher = Reader(vcon, ["cat", fs.path(zone)])
    try:
        watcher.wait_for(r"\[vcon #[0-9a-f]{12}\]")
        stat = open(fs.path(zone + "stat")).read()
        assert f"console: {zone}\nkind: zone {zone}\nstate: running\n" in stat
        assert re.search(r"^client: root pid=\d+ mode=ro via=fs ", stat, re.M), stat
        assert re.search(r"^bytes_out: [1-9]\d*$", stat, re.M), stat
        assert "writer: -\n" in stat
    finally:
        watcher.stop()
    with pytest.raises(OSError):
        open(fs.path(zone + "stat"), "w")


def test_access_and_modes_per_user(vcon, zone, fs, make_user):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    vcon.write_consoledb(f"console={zone} zone={zone} uid={alice.name} ro={bob.name}\n")

    def as_user(user, *argv):
        return subprocess.run(user.command(*argv), capture_output=True, text=True, timeout=15)

    def modes(user):
        out = as_user(user, "ls", "-l", fs.mountpoint).stdout
        return {line.split()[-1]: (line.split()[0], line.split()[2]) for line in out.splitlines()[1:]}

    assert modes(alice)[zone] == ("-rw-------", alice.name)
    assert modes(alice)[zone + "ctl"] == ("--w-------", alice.name)
    assert modes(bob)[zone] == ("-r--------", bob.name)
    assert modes(bob)[zone + "ctl"] == ("----------", bob.name)
    assert modes(carol)[zone] == ("----------", "root")
    assert as_user(alice, "sh", "-c", f"echo 'echo by-alice-$((1+1))' > {fs.path(zone)}").returncode == 0
    wait_for(lambda: "by-alice-2" in vcon.log_text(zone, raw=True), what="alice's command")
    refused = as_user(bob, "sh", "-c", f"echo 'echo by-bob' > {fs.path(zone)}")
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
    assert as_user(bob, "cat", fs.path(zone + "stat")).returncode == 0
    bob_reads = Reader(vcon, bob.command("cat", fs.path(zone)))
    try:
        say(vcon, zone, "bob-may-read")
        bob_reads.wait_for("bob-may-read")
    finally:
        bob_reads.stop()
    for name in (zone, zone + "stat", zone + "ctl"):
        denied = as_user(carol, "cat", fs.path(name))
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, (name, denied)
    assert as_user(carol, "test", "-r", fs.path(zone)).returncode != 0
    assert as_user(bob, "test", "-r", fs.path(zone)).returncode == 0
    # Attributes are the consoledb's: a reader's truncate or anyone's chmod
    # is refused, not answered with a success that did nothing.
    for user, argv in ((bob, ["truncate", "-s", "0", fs.path(zone)]), (bob, ["touch", fs.path(zone)]),
                       (alice, ["chmod", "666", fs.path(zone)]), (bob, ["chmod", "666", fs.path(zone)])):
        result = as_user(user, *argv)
        assert result.returncode != 0 and ("Permission denied" in result.stderr or "not permitted" in result.stderr), \
            (argv, result)
    assert as_user(alice, "truncate", "-s", "0", fs.path(zone)).returncode == 0, "a writer's is taken"
    reader_truncates = as_user(bob, "/usr/bin/python3", "-c", "import os,sys; os.open(sys.argv[1], os.O_RDONLY | os.O_TRUNC)",
                               fs.path(zone))
    assert reader_truncates.returncode != 0 and "Permission denied" in reader_truncates.stderr, reader_truncates


OPEN_AND_CLOSE = ["/usr/bin/python3", "-c", "import os, sys; os.close(os.open(sys.argv[1], os.O_RDONLY))"]


def test_files_a_user_opens_count_against_their_connection_limit(vcon, zone, fs, make_user):
    """The file system server connects to the monitor for every console file
    opened, as root, for the caller: those connections count for the caller,
    or one read-only user could take all of a console's 1,024 connections
    (and every other user would be refused)."""
    bob, carol = make_user("bob"), make_user("carol")
    vcon.write_consoledb(f"console={zone} zone={zone} ro={bob.name} ro={carol.name}\n")
    # bob opens the console file 40 times and holds them open until told.
    script = ("import errno,os,sys\n"
              "fds, refused = [], ''\n"
              "for _ in range(40):\n"
              "    try: fds.append(os.open(sys.argv[1], os.O_RDONLY))\n"
              "    except OSError as e: refused = errno.errorcode[e.errno]; break\n"
              "for _ in range(300):\n"  # and on, refused each time
              "    try: os.close(os.open(sys.argv[1], os.O_RDONLY))\n"
              "    except OSError: pass\n"
              "print(len(fds), refused, flush=True)\n"
              "sys.stdin.read()\n")
    holder = subprocess.Popen(bob.command("/usr/bin/python3", "-c", script, fs.path(zone)), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        said = holder.stdout.readline().split() + [""]
        assert (int(said[0]), said[1]) == (32, "EMFILE"), f"bob's 33rd open is refused, too many open: {said}"
        # Logged in a burst, then counted: refusals in a loop cannot fill
        # the file system's log, which is never rotated.
        logged = fs.stderr().count("too many connections for user " + bob.name)
        assert 0 < logged <= 40, logged
        # The count is logged on its own at the next line's time: a user
        # who stops refusing is on record too.
        counted = wait_for(lambda: re.search(rf"uid {bob.uid}: (\d+) more lines not logged one by one",
                                             fs.stderr()), what="the count of refusals not logged")
        assert logged + int(counted.group(1)) >= 300 - 40, (logged, counted.group(1))
        # carol, and bob's own socket connections past his limit, are not.
        carol_opens = subprocess.run(carol.command(*OPEN_AND_CLOSE, fs.path(zone)), capture_output=True, timeout=15)
        assert carol_opens.returncode == 0, carol_opens.stderr
        refused = subprocess.run(bob.command(VCON, "console", "-r", zone), env=vcon.env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=15)
        assert refused.returncode != 0 and "too many connections for user" in refused.stderr, refused.stderr
    finally:
        holder.stdin.close()
        holder.wait(timeout=15)
    # Closed, they count no more.
    again = subprocess.run(bob.command(*OPEN_AND_CLOSE, fs.path(zone)), capture_output=True, timeout=15)
    assert again.returncode == 0, again.stderr


def test_consoles_come_and_go_with_the_consoledb_and_zones(vcon, zone, fs):
    assert sorted(os.listdir(fs.mountpoint)) == [zone, zone + "ctl", zone + "stat"]
    vcon.write_consoledb(f"console=web zone={zone}\nconsole=ttyX dev=/dev/ttyS9\n")
    assert sorted(os.listdir(fs.mountpoint)) == ["ttyX", "ttyXctl", "ttyXstat", "web", "webctl", "webstat"]
    assert "kind: serial /dev/ttyS9\nstate: down" in open(fs.path("ttyXstat")).read()
    with pytest.raises(OSError) as down:
        open(fs.path("ttyX"))
    assert down.value.errno == errno.ENXIO
    vcon.write_consoledb("")
    vcon.create("z2")
    assert sorted(os.listdir(fs.mountpoint)) == [zone, zone + "ctl", zone + "stat", "z2", "z2ctl", "z2stat"]
    assert "state: down" in open(fs.path("z2stat")).read()
    vcon.write_consoledb("console=ttyX dev=/dev/ttyS9\nconsole=ttyY dev=/dev/ttyS8 spede=9600\n")
    assert "ttyX" in os.listdir(fs.mountpoint), "a broken entry took a good one down"
    assert "ttyY" not in os.listdir(fs.mountpoint), "a broken entry was used"
    wait_for(lambda: "consoledb" in fs.stderr() and "line 2: unknown attribute spede=" in fs.stderr(),
             what="the broken entry reported")


def test_a_file_gone_is_gone_at_once_though_its_name_is_kept(vcon, fs):
    """Names stay in the kernel's cache for a second (ls -l of 1,000 zones), attributes never: a stat or an
    open of a file whose zone is gone fails at once, and a zone made again under the name is there at once."""
    vcon.create("gone")
    for name in ("gone", "gonectl", "gonestat"):
        os.stat(fs.path(name))
    vcon.run("destroy", "gone")
    for name in ("gone", "gonectl", "gonestat"):
        with pytest.raises(FileNotFoundError):
            os.stat(fs.path(name))
        with pytest.raises(FileNotFoundError):
            open(fs.path(name), "wb" if name == "gonectl" else "rb")
    vcon.create("gone")
    for name in ("gone", "gonectl", "gonestat"):
        assert os.stat(fs.path(name)).st_mode & 0o777 == {"gone": 0o600, "gonectl": 0o200, "gonestat": 0o400}[name]
    assert "state: down" in open(fs.path("gonestat")).read()


def test_zone_output_cannot_pass_for_a_notice_in_the_file(vcon, zone, fs):
    say(vcon, zone, "[vcon #0000] [zone web halted]")  # in the replay, before the reader's first line
    cat = Reader(vcon, ["cat", fs.path(zone)])
    try:
        token = cat.token()
        say(vcon, zone, "[vcon] [-mallory, root]")
        say(vcon, zone, f"[vcon #{'1' if token[1] != '1' else '2'}{token[2:]}] [zone {zone} halted]")
        wait_for(lambda: cat.text().count("halted]") == 2 and "mallory" in cat.text(), what="the forged lines")
        ours = re.findall(rf"^\[vcon {token}\] (.*)\r$", cat.text(), re.M)
        assert ours and all("halted" not in line and "mallory" not in line for line in ours), ours
        assert cat.text().index(f"[vcon {token}]") > cat.text().index("[vcon #0000]"), "the token line came first"
    finally:
        cat.stop()


def test_a_halt_ends_readers_with_the_news(vcon, zone, fs):
    cat = Reader(vcon, ["cat", fs.path(zone)])
    try:
        cat.wait_for(r"\[vcon #[0-9a-f]{12}\] \[\+root\]")
        vcon.run("halt", zone)
        assert cat.process.wait(timeout=15) == 0, "cat did not see the end of the file"
        assert re.search(rf"\[vcon {cat.token()}\] \[zone {zone} halted\]\r\n$", cat.text()), cat.text()[-300:]
    finally:
        cat.stop()
    assert zone in os.listdir(fs.mountpoint)
    with pytest.raises(OSError) as down:
        open(fs.path(zone))
    assert down.value.errno == errno.ENXIO
    fd = os.open(fs.path(zone + "ctl"), os.O_WRONLY)
    try:
        with pytest.raises(OSError) as no_monitor:
            os.write(fd, b"hangup\n")
        assert no_monitor.value.errno == errno.ENXIO
    finally:
        os.close(fd)


def test_stale_mount_is_recovered_and_a_live_one_refused(vcon, zone):
    server = Server(vcon).start()
    try:
        again = subprocess.run([VCON, "fs", server.mountpoint, "--foreground"], env=vcon.env, capture_output=True,
                               text=True, timeout=15)
        assert again.returncode == 1
        assert f"vcon: {server.mountpoint} already has a fuse.consoles file system mounted" in again.stderr
        server.process.kill()  # a crash: the mount stays, dead
        server.process.wait()
        with pytest.raises(OSError) as dead:
            os.listdir(server.mountpoint)
        assert dead.value.errno == errno.ENOTCONN
        server.start()
        assert "detached a stale console file system" in server.stderr()
        assert zone in os.listdir(server.mountpoint)
    finally:
        assert server.stop()


def test_background_server_and_unmount_on_sigterm(vcon, zone):
    mountpoint = os.path.join(vcon.top, "bg")
    out = vcon.run("fs", mountpoint).stdout
    pid = int(re.search(r"served by PID (\d+)", out).group(1))
    try:
        assert zone in os.listdir(mountpoint)
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not os.path.ismount(mountpoint), what="the unmount")
    assert "unmounting" in open(os.path.join(vcon.top, "log", "consolefs.log")).read()


def test_a_reader_that_does_not_read_loses_old_data_and_blocks_nobody(vcon, zone, fs):
    fd = os.open(fs.path(zone), os.O_RDONLY | os.O_NONBLOCK)
    try:
        # About 2 MiB while this reader reads nothing: the zone finishes all the same.
        vcon.exec(zone, "sh", "-c", "seq 1 300000 > /dev/console; echo all-written > /dev/console", timeout=60)
        wait_for(lambda: "all-written" in vcon.log_text(zone, raw=True), what="the zone's output")
        # The file system gets it a little after the log does: read once its
        # size holds still, so the reads below race no arrivals.
        sizes = [-1]

        def settled():
            sizes.append(os.fstat(fd).st_size)
            time.sleep(0.1)
            return sizes[-1] == sizes[-2]
        wait_for(settled, what="the file system to have it all")
        got = b""
        deadline = time.monotonic() + 15
        while b"all-written" not in got and time.monotonic() < deadline:
            try:
                got += os.read(fd, 1 << 20)
            except BlockingIOError:
                time.sleep(0.05)
        assert b"all-written" in got
        assert len(got) < 600 * 1024, "kept more than its window"
        lines = got.split(b"\r\n")
        numbers = [int(line) for line in lines[1:-2] if line.isdigit()]
        assert numbers[0] > 1 and numbers == list(range(numbers[0], 300001)), "not the newest output, in order"
    finally:
        os.close(fd)
