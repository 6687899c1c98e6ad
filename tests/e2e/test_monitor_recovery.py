"""A zone outlives its monitor: kill -9 or an upgrade, and a new monitor
serves the same console within a second, clients come back on their own and
see no gap, the log says what happened. And the audit log, which console
output cannot rotate away."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pexpect

from conftest import VCON, attached, close, process_alive, said, wait_for


def state(vcon, zone):
    with open(os.path.join(vcon.run_dir(zone), "state.json")) as f:
        return json.load(f)


def new_monitor(vcon, zone, old):
    """Waits for a monitor other than `old` to serve the zone; returns its PID."""
    def changed():
        try:
            pid = state(vcon, zone)["monitor_pid"]
        except (OSError, ValueError, KeyError):
            return None
        return pid if pid != old and process_alive(pid) else None
    return wait_for(changed, timeout=10, what="a new monitor")


def counter(vcon, zone, name):
    """A zone process writing numbered lines to its console, every 5 ms."""
    return subprocess.Popen([VCON, "exec", zone, "--", "sh", "-c",
                             f"i=0; while :; do i=$((i+1)); echo {name}-$i > /dev/console; usleep 5000; done"],
                            env=vcon.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def numbers(text, name):
    return [int(n) for n in re.findall(rf"{name}-(\d+)\r?\n", text)]


def contiguous(values):
    return values == list(range(values[0], values[0] + len(values))) if values else False


def test_kill_9_of_a_monitor_loses_nothing(vcon, zone, tmp_path):
    mount = str(tmp_path / "consoles")
    os.mkdir(mount)
    fs = subprocess.Popen([VCON, "fs", mount, "--foreground"], env=vcon.env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    viewer = reader = writer = None
    try:
        wait_for(lambda: os.path.exists(os.path.join(mount, zone)), what="the file system")
        init = vcon.ls()[zone]["init_pid"]
        old = state(vcon, zone)["monitor_pid"]
        viewer = pexpect.spawn(VCON, ["console", zone, "-r"], env=vcon.env, encoding="utf-8", timeout=20)
        attached(viewer)
        reader = subprocess.Popen(["cat", os.path.join(mount, zone)], stdout=subprocess.PIPE)
        writer = counter(vcon, zone, "tick")
        viewer.expect(r"tick-20\r\n")
        os.kill(old, signal.SIGKILL)
        new = new_monitor(vcon, zone, old)
        attached(viewer, r"back on ")
        viewer.expect(r"tick-\d+\r\n")
        mark = numbers(vcon.log_text(zone), "tick")[-1]
        viewer.expect(rf"tick-{mark + 50}\r\n")
        writer.kill()
        writer.wait()
        # The zone never noticed beyond a pause: the same init, and every line in the log, in order.
        assert vcon.ls()[zone]["init_pid"] == init and state(vcon, zone)["init_pid"] == init
        log = vcon.log_text(zone)
        assert contiguous(numbers(log, "tick")), "a gap in the log"
        assert re.search(rf"[*~] monitor PID {old} was killed by SIGKILL; keeper PID \d+ starts another", log), log
        assert re.search(rf"[*~] monitor PID {new} took over the console of zone {zone} \(init is host PID {init}\)", log)
        # The viewer came back by itself and missed nothing.
        seen = numbers(viewer.before + viewer.after, "tick")
        assert seen and contiguous(seen), seen
        # So did the file system's reader.
        wait_for(lambda: vcon.run("who", zone, "--json").stdout.count('"fs"') >= 1, what="the reader back")
        reader.terminate()
        got = reader.stdout.read().decode(errors="replace")
        assert contiguous(numbers(got, "tick")), "a gap for the file system's reader"
        assert re.search(r"\[vcon #[0-9a-f]{12}\] \[the monitor of", got), got[-500:]
        # Everything still works.
        assert vcon.exec(zone, "echo", "fine").stdout.strip() == "fine"
        vcon.run("halt", zone)
        assert vcon.monitor_pids() == [] and vcon.monitor_pids("vcon-keeper") == []
    finally:
        for process in (writer, reader):
            if process and process.poll() is None:
                process.kill()
                process.wait()
        if viewer:
            close(viewer)
        fs.terminate()
        fs.wait(timeout=10)


def test_upgrade_hands_the_console_to_a_new_binary(vcon, zone, tmp_path):
    copy = str(tmp_path / "vcon-next")
    shutil.copy(VCON, copy)
    old = state(vcon, zone)["monitor_pid"]
    viewer = pexpect.spawn(VCON, ["console", zone], env=vcon.env, encoding="utf-8", timeout=20)
    try:
        attached(viewer, r"attached to .*read-write")
        done = vcon.run("upgrade", zone, "--binary", copy)
        new = state(vcon, zone)["monitor_pid"]
        assert f"monitor PID {old} handed over to PID {new} ({copy})" in done.stdout
        assert os.readlink(f"/proc/{new}/exe") == copy
        attached(viewer, r"back on .*read-write")  # the writer writes again
        viewer.sendline("echo typed-after-$((2*21))")
        viewer.expect("typed-after-42")
        log = vcon.log_text(zone)
        assert f"monitor PID {old} hands the console of zone {zone} over to {copy}" in log
        assert re.search(rf"monitor PID {old} handed over to {re.escape(copy)}; keeper PID \d+ starts another", log)
        assert vcon.run("upgrade", "--all").returncode == 0
    finally:
        close(viewer)


def test_a_new_monitor_takes_over_a_zone_that_halted_meanwhile(vcon, zone):
    keeper = vcon.monitor_pids("vcon-keeper")[0]
    monitor = state(vcon, zone)["monitor_pid"]
    init = vcon.ls()[zone]["init_pid"]
    os.kill(monitor, signal.SIGSTOP)  # no monitor to hear it while init ends
    try:
        os.kill(init, signal.SIGKILL)
        wait_for(lambda: not process_alive(init), what="init gone")
    finally:
        os.kill(monitor, signal.SIGKILL)  # a stopped process dies of it too
    # The next monitor is told init ended, and halts the zone properly.
    wait_for(lambda: vcon.ls()[zone]["state"] == "halted", what="halted")
    wait_for(lambda: not process_alive(keeper), what="the keeper done")
    assert "zone halted: init was killed by SIGKILL" in vcon.log_text(zone)
    assert not os.path.exists(vcon.run_dir(zone))


def test_without_its_keeper_the_monitor_carries_on(vcon, zone):
    keeper = vcon.monitor_pids("vcon-keeper")[0]
    os.kill(keeper, signal.SIGKILL)
    wait_for(lambda: "the keeper" in vcon.log_text(zone) and "is gone" in vcon.log_text(zone), what="the log line")
    assert vcon.exec(zone, "echo", "fine").stdout.strip() == "fine"
    vcon.run("halt", zone)
    assert vcon.ls()[zone]["state"] == "halted"
    assert not os.path.exists(vcon.run_dir(zone)), "the last one out cleans up"


def test_an_orphaned_zone_is_shown_refused_and_halted(vcon, zone):
    keeper, monitor = vcon.monitor_pids("vcon-keeper")[0], state(vcon, zone)["monitor_pid"]
    init = vcon.ls()[zone]["init_pid"]
    os.kill(keeper, signal.SIGKILL)
    os.kill(monitor, signal.SIGKILL)
    wait_for(lambda: vcon.ls()[zone]["state"] == "orphaned", what="orphaned")
    assert "orphaned" in vcon.run("ls").stdout
    for command in (["console", zone], ["exec", zone, "--", "true"], ["boot", zone]):
        refused = vcon.run(*command, check=False, input="")
        assert refused.returncode != 0 and "orphaned" in refused.stderr, (command, refused.stderr)
    halted = vcon.run("halt", zone)
    assert "its processes were killed" in halted.stdout
    assert not process_alive(init) and vcon.ls()[zone]["state"] == "halted"
    assert "zone halted: it ran with neither keeper nor monitor" in vcon.log_text(zone)
    vcon.boot(zone)
    assert vcon.ls()[zone]["state"] == "running"


def test_console_output_cannot_rotate_the_audit_trail_away(vcon, make_user):
    alice = make_user("alice")
    vcon.create("z1")
    vcon.write_consoledb(f"console=z1 zone=z1 uid={alice.name} logsize=64K logkeep=1 auditinput=\n")
    vcon.boot("z1")
    wait_for(lambda: ":/# " in vcon.log_text("z1", raw=True), what="prompt")
    command = f"{VCON} console z1"
    writer = pexpect.spawn(alice.command("script", "-qfec", command, "/dev/null")[0],
                           alice.command("script", "-qfec", command, "/dev/null")[1:], env=vcon.env,
                           encoding="utf-8", timeout=20)
    try:
        attached(writer)
        writer.sendline("echo secret-typed")
        writer.expect("secret-typed")
        # Two seconds of yes: the console log rotates many times over.
        vcon.exec("z1", "sh", "-c", "timeout 2 yes > /dev/console; true", timeout=60)
    finally:
        close(writer)
    wait_for(lambda: f"{alice.name} (PID" in vcon.run("log", "--audit", "z1").stdout and "detached" in
             vcon.run("log", "--audit", "z1").stdout, what="the detach in the audit log")
    console_log = vcon.log_text("z1")
    assert not re.search(rf"{alice.name} \(PID \d+\) attached", console_log), "the flood rotated the attach out"
    audit = vcon.run("log", "--audit", "z1").stdout
    assert re.search(rf"[*~] {alice.name} \(PID \d+\) attached read-write", audit), audit
    assert re.search(rf"[*~] {alice.name} \(PID \d+\) typed: echo secret-typed", audit), audit
    assert "| y" not in audit, "no console output in the audit log"


def test_the_keeper_is_its_own_small_program_and_restarts_the_binary_it_was_booted_with(vcon, tmp_path):
    """The keeper is vcon-keeper (exec'd, not a fork of vcon boot), and a monitor it restarts runs the vcon
    binary that booted the zone, even once that file is gone from disk."""
    copies = tmp_path / "bin"
    copies.mkdir()
    for name in ("vcon", "vcon-keeper"):
        shutil.copy(os.path.join(os.path.dirname(VCON), name), copies / name)
    vcon.create("z1")
    booted = subprocess.run([str(copies / "vcon"), "boot", "z1"], env=vcon.env, capture_output=True, text=True,
                            timeout=60)
    assert booted.returncode == 0, booted.stderr
    keeper = vcon.monitor_pids("vcon-keeper")[0]
    assert os.readlink(f"/proc/{keeper}/exe") == str(copies / "vcon-keeper")
    old = state(vcon, "z1")["monitor_pid"]
    assert state(vcon, "z1")["keeper_pid"] == keeper
    (copies / "vcon").unlink()
    os.kill(old, signal.SIGKILL)
    new = new_monitor(vcon, "z1", old)
    assert os.readlink(f"/proc/{new}/exe") == str(copies / "vcon") + " (deleted)"
    assert vcon.exec("z1", "echo", "still-here").stdout.strip() == "still-here"
    log = vcon.log_text("z1")
    assert re.search(rf"[*~] monitor PID {old} was killed by SIGKILL; keeper PID {keeper} starts another", log), log
    vcon.run("halt", "z1")
    wait_for(lambda: not process_alive(keeper), what="the keeper done")


def test_a_boot_without_its_keeper_program_says_so_and_starts_nothing(vcon, tmp_path):
    lone = tmp_path / "vcon"
    shutil.copy(VCON, lone)
    vcon.create("z1")
    done = subprocess.run([str(lone), "boot", "z1"], env=vcon.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"cannot boot zone z1: the zone keeper vcon-keeper is neither next to {lone}" in done.stderr, done.stderr
    assert "make install" in done.stderr
    assert vcon.ls()["z1"]["state"] == "halted"
    assert vcon.monitor_pids() == [] and vcon.monitor_pids("vcon-keeper") == []
    vcon.boot("z1")  # with its keeper, as ever
    assert vcon.ls()["z1"]["state"] == "running"
