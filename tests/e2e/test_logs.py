"""Console logs: rotation by size with a retention count from the consoledb,
reopen on SIGHUP (logrotate), and a full disk that never stalls the zone."""
import contextlib
import os
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import VCON, process_alive, wait_for


def rotated(vcon, zone):
    log_dir = os.path.dirname(vcon.log_path(zone))
    return sorted(name for name in os.listdir(log_dir) if name.startswith(f"{zone}.log."))


def test_rotation_keeps_logkeep_files_of_about_logsize(vcon):
    vcon.write_consoledb("console=z1 zone=z1 logsize=8K logkeep=2\n")
    vcon.zone_up("z1")
    vcon.exec("z1", "sh", "-c", "seq 1 12000 > /dev/console")
    wait_for(lambda: rotated(vcon, "z1") == ["z1.log.1", "z1.log.2"] and "12000" in vcon.log_text("z1", raw=True),
             what="two rotated logs and the last line")
    assert not os.path.exists(vcon.log_path("z1") + ".3")
    for path in (vcon.log_path("z1") + ".1", vcon.log_path("z1") + ".2"):
        assert 8192 <= os.path.getsize(path) <= 8192 + 200, (path, os.path.getsize(path))  # a line and the notes
    newest = open(vcon.log_path("z1")).read()
    assert re.search(rf"[*~] log rotated: earlier output in {re.escape(vcon.log_path('z1'))}\.1", newest), newest
    # The three files hold the newest lines, whole and in order.
    lines = []
    for path in (vcon.log_path("z1") + ".2", vcon.log_path("z1") + ".1", vcon.log_path("z1")):
        lines += [line.split(" | ", 1)[1] for line in open(path).read().splitlines() if " | " in line]
    numbers = [int(text.strip()) for text in lines if text.strip().isdigit()]
    assert numbers == list(range(numbers[0], 12001)) and numbers[0] > 1


def read_lines_until(process, last, timeout=15.0):
    """Lines process printed (\\r\\n ends them) up to and with one that ends with `last`, or a failure after
    timeout seconds."""
    got, pending = [], b""
    deadline = time.monotonic() + timeout
    while not any(line.endswith(last) for line in got):
        left = deadline - time.monotonic()
        assert left > 0 and select.select([process.stdout], [], [], left)[0], f"no {last!r} after {got[-3:]}"
        chunk = os.read(process.stdout.fileno(), 65536)
        assert chunk, f"ended before {last!r}, after {got[-3:]}"
        *lines, pending = (pending + chunk).split(b"\r\n")
        got += [line.decode() for line in lines]
    return got


@contextlib.contextmanager
def following(vcon, make_user, reader, consoledb=""):
    """Zone z1 booted with `consoledb` settings, its console's first line
    "first", and `vcon log z1 -f --raw -n 1` run by `reader` (root, or a
    read-only user, who gets each file from the monitor). Yields the
    follower and what it showed so far (the line ending "first"); ends it."""
    user = make_user("ro")
    vcon.write_consoledb(f"console=z1 zone=z1 {consoledb} ro={user.name}\n")
    vcon.zone_up("z1")
    vcon.exec("z1", "sh", "-c", "echo first > /dev/console")
    wait_for(lambda: "first" in vcon.log_text("z1"), what="the first line in the log")
    command = [VCON, "log", "z1", "-f", "--raw", "-n", "1"]
    follower = subprocess.Popen(user.command(*command) if reader != "root" else command, env=vcon.env,
                                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        yield follower, read_lines_until(follower, "first")[-1:]  # after the shell's prompt
    finally:
        follower.kill()
        follower.wait()


def say_in_batches(vcon, follower, last):
    """Lines 1..last onto z1's console, 100 at a time (some 3.5 KiB of log:
    no batch rotates an 8K log twice), each batch shown before the next."""
    got = []
    for first in range(1, last + 1, 100):
        vcon.exec("z1", "sh", "-c", f"seq {first} {first + 99} > /dev/console")
        got += read_lines_until(follower, str(first + 99))
    return got


def logrotate_create(vcon, follower, moved):
    """What logrotate's `create` does to z1's log: moves it to `moved` and
    makes a new one; returns once the follower has opened the new one."""
    path = vcon.log_path("z1")
    os.rename(path, moved)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))
    wait_for(lambda: path in held_files(follower.pid), what="the follower opening the new file")


READERS = pytest.mark.parametrize("reader", ["root", "a read-only user"])


@READERS
def test_log_follow_goes_on_from_one_file_to_the_next(vcon, make_user, reader):
    # `vcon log -f` is tail -F: when the log rotates, it goes on in the
    # fresh file. A user who may not open the log gets each file from the
    # monitor.
    with following(vcon, make_user, reader, "logsize=8K logkeep=2") as (follower, got):
        got += say_in_batches(vcon, follower, 800)
        assert got[0].endswith("first") and got[1:] == [str(n) for n in range(1, 801)], got[:3]
        assert rotated(vcon, "z1") == ["z1.log.1", "z1.log.2"], "the log rotated at least twice"


@READERS
def test_log_follow_reads_the_moved_log_until_the_monitor_reopens(vcon, make_user, reader):
    # logrotate's way: move the log, make a new one (`create`), then SIGHUP.
    # Until its reopen the monitor writes the moved file: a follower that
    # went on to the new one must not lose that.
    with following(vcon, make_user, reader) as (follower, got):
        path = vcon.log_path("z1")
        logrotate_create(vcon, follower, path + ".moved")
        vcon.exec("z1", "sh", "-c", "echo into-the-moved-file > /dev/console")
        got += read_lines_until(follower, "into-the-moved-file")
        [monitor] = vcon.monitor_pids()
        os.kill(monitor, signal.SIGHUP)
        wait_for(lambda: "log reopened" in open(path).read(), what="the reopen")
        vcon.exec("z1", "sh", "-c", "echo into-the-new-file > /dev/console")
        got += read_lines_until(follower, "into-the-new-file")
        assert got[1:] == ["into-the-moved-file", "into-the-new-file"], got


@READERS
def test_log_moved_and_never_reopened_goes_on_at_the_limit_and_is_followed(vcon, make_user, reader):
    # logrotate without its postrotate SIGHUP: the monitor writes the moved
    # file until the size limit, then goes on in the name's file, leaving
    # the files beside it alone. A follower shows every line throughout.
    with following(vcon, make_user, reader, "logsize=8K logkeep=2") as (follower, got):
        path = vcon.log_path("z1")
        logrotate_create(vcon, follower, path + "-20261130")
        got += say_in_batches(vcon, follower, 600)  # past the limit, and on
        assert got[0].endswith("first") and got[1:] == [str(n) for n in range(1, 601)], got[:3]
        moved = open(path + "-20261130").read().splitlines()
        assert "log rotated: continued in" in moved[-1], moved[-1]  # the monitor wrote it up to the limit
        kept = [open(name).read() for name in (path, path + ".1", path + ".2") if os.path.exists(name)]
        assert any(f"log reopened: {path} had been moved or deleted" in text for text in kept)


def held_files(pid):
    """The paths of what process pid holds open."""
    held = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            held.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return held


def deleted_logs(pid, log_dir):
    """The deleted files under log_dir that process pid holds open."""
    return [target for target in held_files(pid) if target.startswith(log_dir + "/") and target.endswith(" (deleted)")]


def channel_queue(keeper):
    """Bytes waiting at the keeper's end of its channel to the monitor."""
    out = subprocess.run(["ss", "-x", "-p", "-H"], capture_output=True, text=True, check=True).stdout
    [queued] = [int(line.split()[2]) for line in out.splitlines() if f"pid={keeper}," in line]
    return queued


def test_rotation_hands_the_oldest_log_to_the_keeper_which_closes_it(vcon):
    # Deleting the oldest log may wait for the disk; the console must not.
    # The monitor sends it to its keeper (`release` + fd), keeping no copy;
    # the keeper closes it a moment later.
    vcon.write_consoledb("console=z1 zone=z1 logsize=8K logkeep=2\n")
    vcon.zone_up("z1")
    [monitor], [keeper] = vcon.monitor_pids(), vcon.monitor_pids("vcon-keeper")
    log_dir = os.path.dirname(vcon.log_path("z1"))
    os.kill(keeper, signal.SIGSTOP)  # what it is sent waits in its channel
    try:
        vcon.exec("z1", "sh", "-c", "seq 1 12000 > /dev/console")
        wait_for(lambda: "12000" in vcon.log_text("z1", raw=True), what="the last line in the log")
        # One on its way and no more: the channel carries what the zone
        # depends on too. The rest were deleted by the monitor, and it said so.
        assert channel_queue(keeper) == len("release")
        assert deleted_logs(monitor, log_dir) == []
        assert "deleted by the monitor itself" in vcon.monitor_log("z1")
    finally:
        os.kill(keeper, signal.SIGCONT)
    wait_for(lambda: channel_queue(keeper) == 0, what="the keeper reading its channel")
    wait_for(lambda: not deleted_logs(keeper, log_dir), what="the keeper closing what it was given")
    assert rotated(vcon, "z1") == ["z1.log.1", "z1.log.2"]
    assert vcon.ls()["z1"]["state"] == "running"
    vcon.run("halt", "z1")  # `down` still reaches the keeper: it ends with the zone
    wait_for(lambda: not process_alive(keeper), what="the keeper's end")


def test_sighup_reopens_the_log_after_logrotate_moved_it(vcon, zone):
    path = vcon.log_path(zone)
    os.rename(path, path + ".moved")
    vcon.exec(zone, "sh", "-c", "echo still-into-the-moved-file > /dev/console")
    wait_for(lambda: "still-into-the-moved-file" in open(path + ".moved").read(), what="output in the moved file")
    [monitor] = vcon.monitor_pids()
    os.kill(monitor, signal.SIGHUP)
    wait_for(lambda: os.path.exists(path) and "log reopened (SIGHUP)" in open(path).read(), what="the reopened log")
    vcon.exec(zone, "sh", "-c", "echo into-the-new-file > /dev/console")
    wait_for(lambda: "into-the-new-file" in open(path).read(), what="output in the new file")
    assert "into-the-new-file" not in open(path + ".moved").read()
    assert vcon.ls()[zone]["state"] == "running", "SIGHUP must not stop the zone"


@pytest.fixture
def small_log_dir(vcon):
    """The test's log directory on a 256 KiB tmpfs of its own, unmounted after."""
    path = os.path.join(vcon.top, "log")
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "vcon-test-log", path], check=True)
    yield path
    vcon.cleanup_zones()
    subprocess.run(["umount", path], check=True)


def test_a_full_disk_never_stalls_the_zone_and_the_gap_is_logged(vcon, small_log_dir):
    vcon.zone_up("z1")
    filler = os.path.join(small_log_dir, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError as full:
        assert full.errno == 28  # ENOSPC
    finally:
        os.close(fd)
    # The zone writes 200 KiB to its console while nothing can be logged.
    vcon.exec("z1", "sh", "-c", "seq 1 30000 > /dev/console; echo done-while-full > /dev/console", timeout=60)
    os.unlink(filler)
    vcon.exec("z1", "sh", "-c", "echo after-space-returned > /dev/console")
    text = wait_for(lambda: (lambda t: "after-space-returned" in t and t)(open(vcon.log_path("z1")).read()),
                    what="logging to resume")
    gap = re.search(r"[*~] log gap: (\d+) bytes of console output not logged since \S+ \(No space left on device\)", text)
    assert gap, text[-2000:]
    assert int(gap.group(1)) > 100000
    status = vcon.ls()["z1"]
    assert status["state"] == "running"
