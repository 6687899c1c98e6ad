"""What a new user hits first: the command line's own help and errors, vcon log
(exact raw bytes, nothing raw to a terminal, -n), piped input, in-session
commands, ls and log as a non-root user, the demo's name, destroy --purge,
and a zone's first console lines under load."""
import json
import os
import re
import subprocess
import time

import pexpect
import pytest

from conftest import ROOT, VCON, FrameClient, attached, close, said, wait_for


def console_says(vcon, zone, printf_format):
    """The zone writes printf's output to its console (no newline unless asked)."""
    vcon.exec(zone, "sh", "-c", f"printf '{printf_format}' > /dev/console")


def ring(vcon, zone):
    """Every byte of the console the monitor holds (its replay ring), as a client is given it."""
    client = FrameClient.unix(os.path.join(vcon.run_dir(zone), "console.sock"))
    client.send(FrameClient.HELLO, {"version": 1, "mode": "ro", "replay": 1 << 30})
    kind, payload = client.receive()
    assert kind == FrameClient.WELCOME, payload
    welcome = json.loads(payload)
    data = b""
    while len(data) < welcome["replay_to"] - welcome["replay_from"]:
        kind, payload = client.receive()
        if kind == FrameClient.DATA:
            data += payload
    client.sock.close()
    return data


# -- the command line ---------------------------------------------------------

def test_version_help_and_bare_vcon():
    assert re.fullmatch(r"vcon \d+\.\d+\.\d+\n", subprocess.run([VCON, "--version"], capture_output=True,
                                                                   text=True).stdout)
    bare = subprocess.run([VCON], capture_output=True, text=True)
    assert bare.returncode == 0 and "Usage: vcon [OPTIONS] SUBCOMMAND" in bare.stdout and "console" in bare.stdout
    halt = subprocess.run([VCON, "help", "halt"], capture_output=True, text=True)
    assert halt.returncode == 0 and "Usage: vcon halt" in halt.stdout and "--timeout" in halt.stdout
    unknown = subprocess.run([VCON, "help", "hlat"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "no command 'hlat'" in unknown.stderr
    internal = subprocess.run([VCON, "help", "monitor"], capture_output=True, text=True)
    assert internal.returncode == 2, "internal commands stay out of help"
    console = subprocess.run([VCON, "console", "--help"], capture_output=True, text=True).stdout
    for command in ("w  who is attached", "f  take write access", "r  go read-only", "p  the last screenful",
                    "# or b  send a break"):
        assert command in console, console


def test_errors_name_what_the_user_typed(vcon, zone):
    exec_ = vcon.run("exec", zone, "ls", "-l", check=False)
    assert exec_.returncode == 2
    assert f"put the command after --, as in: vcon exec {zone} -- ls -l" in exec_.stderr, exec_.stderr
    halt = vcon.run("halt", zone, "--timeout", "-1", check=False)
    assert halt.returncode == 2 and "--timeout: Value -1 not in range 0 to 86400" in halt.stderr, halt.stderr
    assert vcon.ls()[zone]["state"] == "running"
    escape = vcon.run("console", zone, "-e", "ab", check=False, stdin=subprocess.DEVNULL)
    assert escape.returncode == 2 and "the escape must be one character, or ^X" in escape.stderr, escape.stderr


def test_create_checks_the_hostname_and_zone_toml_its_keys(vcon):
    long = vcon.run("create", "h1", "--hostname", "x" * 100, check=False)
    assert long.returncode == 1 and "hostname" in long.stderr and "64" in long.stderr, long.stderr
    assert "h1" not in vcon.ls(), "a refused create left a zone behind"
    bad = vcon.run("create", "h2", "--hostname", "a b", check=False)
    assert bad.returncode == 1 and "hostname" in bad.stderr
    vcon.create("h3")
    toml = os.path.join(vcon.zone_dir("h3"), "zone.toml")
    with open(toml, "a") as f:
        f.write("memroy_max = 1000000\n")
    boot = vcon.run("boot", "h3", check=False)
    assert boot.returncode == 1 and "memroy_max" in boot.stderr and toml in boot.stderr, boot.stderr
    check = vcon.run("check", check=False)
    assert check.returncode == 1 and "memroy_max" in check.stdout


def test_serve_as_a_user_in_roots_run_directory_says_what_to_do(vcon, make_user):
    alice = make_user("alice")
    env = dict(vcon.env)
    env["VCON_RUN_DIR"] = "/run/vcon-test-nobody-may-write-here"
    served = subprocess.run(alice.command(VCON, "serve", "--foreground"), env=env, capture_output=True, text=True,
                            timeout=30)
    assert served.returncode == 1
    assert "Permission denied" in served.stderr and "--run-dir" in served.stderr, served.stderr
    assert not os.path.exists(env["VCON_RUN_DIR"])


def test_demo_zone_is_named_for_whoever_ran_it():
    script = open(os.path.join(ROOT, "scripts", "demo.sh")).read()
    naming = re.search(r"^who=.*\nzone=.*$", script, re.M).group(0)
    for user, zone in (("alice", "demo-alice"), ("Bob.Smith", "demo-bob.smith"), ("x y", "demo-x-y")):
        got = subprocess.run(["bash", "-c", naming + '\nprintf %s "$zone"'], capture_output=True, text=True,
                             env={"SUDO_USER": user, "PATH": "/usr/bin:/bin"}).stdout
        assert got == zone, (user, got)


def test_destroy_purge_removes_the_logs_and_only_those(vcon, zone):
    vcon.create("z10")  # its name starts like z1's logs would: z10.log is not z1's
    log_dir = os.path.join(vcon.top, "log")
    for extra in (f"{zone}.log.1", f"{zone}.log.2.gz", f"{zone}.log-20261130", f"{zone}.audit.log.1"):
        open(os.path.join(log_dir, extra), "w").close()
    open(os.path.join(log_dir, "z10.log"), "w").close()
    open(os.path.join(log_dir, f"{zone}.log.notes"), "w").close()  # not a log vcon or logrotate makes
    vcon.run("halt", zone)
    kept = vcon.run("destroy", zone)
    assert f"its logs stay in {log_dir}" in kept.stdout and "--purge" in kept.stdout
    assert os.path.exists(os.path.join(log_dir, f"{zone}.log"))
    purged = vcon.run("destroy", zone, "--purge")
    assert "removed" in purged.stdout, purged.stdout
    left = sorted(os.listdir(log_dir))
    assert left == sorted([f"{zone}.log.notes", "z10.log"] + [f for f in left if f.startswith("lines")]), left
    again = vcon.run("destroy", zone, "--purge", check=False)
    assert again.returncode == 1 and "has no logs of it" in again.stderr


# -- vcon log -----------------------------------------------------------------

def test_log_raw_gives_back_exactly_the_bytes_the_zone_wrote(vcon, zone):
    console_says(vcon, zone, "AAA\\nBBB")
    watcher = pexpect.spawn(VCON, ["console", zone, "-r"], env=vcon.env, timeout=15)  # its join cuts the line
    try:
        attached(watcher)
        wait_for(lambda: "attached read-only" in vcon.log_text(zone), what="the join event")
        console_says(vcon, zone, "\\rCCC")
        wait_for(lambda: "CCC" in vcon.log_text(zone), what="CCC")
    finally:
        close(watcher)
    raw = subprocess.run([VCON, "log", zone, "--raw"], env=vcon.env, capture_output=True).stdout
    assert raw == ring(vcon, zone), "--raw differs from what the zone wrote"
    assert raw.endswith(b"AAA\r\nBBB\rCCC"), raw[-100:]
    assert subprocess.run([VCON, "log", zone, "--raw", "-n", "1"], env=vcon.env,
                          capture_output=True).stdout == b"BBB\rCCC"


def test_log_writes_nothing_of_the_zone_raw_to_a_terminal(vcon, zone):
    # OSC 0 (title), OSC 52 (clipboard), a window report request and a
    # cursor query, on a complete line and on the last, unfinished one.
    evil = "\\033]0;pwned\\007\\033]52;c;cHduZWQ=\\007\\033[21t\\033[6n"
    console_says(vcon, zone, f"done{evil}\\nprompt{evil}")
    wait_for(lambda: vcon.log_text(zone).count("pwned") == 2, what="the sequences in the log")
    for args in ([], ["-n", "2"], ["-n", "1"]):
        shown = pexpect.run(f"{VCON} log {zone} {' '.join(args)}", env=vcon.env, encoding="utf-8")
        assert "\x1b" not in shown and "\x07" not in shown, (args, repr(shown[-300:]))
        assert "prompt^[]0;pwned^G^[]52;c;cHduZWQ=^G^[[21t^[[6n" in shown, (args, repr(shown[-300:]))
    follow = pexpect.spawn(VCON, ["log", zone, "-f", "-n", "1"], env=vcon.env, encoding="utf-8", timeout=15)
    try:
        follow.expect(re.escape("prompt^[]0;pwned"))
        console_says(vcon, zone, f"more{evil}\\n")
        follow.expect(re.escape("more^[]0;pwned"))
        assert "\x1b" not in follow.before + follow.after
    finally:
        close(follow)


def test_log_n_counts_lines_as_shown(vcon, zone):
    console_says(vcon, zone, "one\\ntwo\\nthree")
    wait_for(lambda: "three" in vcon.log_text(zone), what="the lines")
    two = vcon.run("log", zone, "-n", "2").stdout
    assert re.fullmatch(r"\S+Z \| two\r\n\S+Z \| three\n", two), repr(two)
    assert vcon.run("log", zone, "--raw", "-n", "2").stdout == "two\r\nthree"
    assert vcon.run("log", zone, "-n", "0").stdout == ""
    negative = vcon.run("log", zone, "-n", "-5", check=False)
    assert negative.returncode == 2 and "--lines: give a number of lines, 0 or more, not -5" in negative.stderr, \
        negative.stderr
    assert negative.stdout == ""


# -- vcon console -------------------------------------------------------------

def test_piped_input_is_sent_and_vcon_leaves_at_its_end(vcon, zone):
    result = subprocess.run([VCON, "console", zone], input="echo piped-$((6*7))\n", env=vcon.env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "piped-42" in result.stdout, result.stdout
    assert re.search(r"\[#[0-9a-f]{12} attached to", result.stdout)
    assert "piped-42" in vcon.log_text(zone)


def test_watching_without_a_terminal_lasts_until_the_zone_halts(vcon, zone, tmp_path):
    out = tmp_path / "watched"
    with open(out, "wb") as f:
        watcher = subprocess.Popen([VCON, "console", "-r", "-d", zone], stdin=subprocess.DEVNULL, stdout=f,
                                   env=vcon.env)
    try:
        wait_for(lambda: b"attached to" in out.read_bytes(), what="the attach")
        console_says(vcon, zone, "watched-1\\n")
        wait_for(lambda: b"watched-1" in out.read_bytes(), what="output")
        console_says(vcon, zone, "watched-2\\n")
        wait_for(lambda: b"watched-2" in out.read_bytes(), what="more output")
        assert watcher.poll() is None, "left at the end of an empty stdin"
        vcon.run("halt", zone)
        assert watcher.wait(timeout=15) == 0
        assert re.search(rb"\[#[0-9a-f]{12} zone \S+ halted\]", out.read_bytes())
    finally:
        if watcher.poll() is None:
            watcher.kill()
        watcher.wait()


def test_in_session_commands(vcon, zone):
    first = pexpect.spawn(VCON, ["console", zone], env=vcon.env, encoding="utf-8", timeout=15)
    second = None
    try:
        attached(first, "attached to .*read-write")
        second = pexpect.spawn(VCON, ["console", zone, "--force"], env=vcon.env, encoding="utf-8", timeout=15)
        attached(second, "attached to .*read-write")
        first.expect(said(first, f"[forced to read-only by root (PID {second.pid})]"))
        first.send("~w")  # who
        first.expect(said(first, f"[attached: root (PID {first.pid}, ro), root (PID {second.pid}, rw)]"))
        first.send("~f")  # force: take it back
        second.expect(said(second, f"[forced to read-only by root (PID {first.pid})]"))
        first.expect(said(first, f"[took write access from root (PID {second.pid})]"))
        first.send("echo typed-after-force\r")
        wait_for(lambda: "typed-after-force" in vcon.log_text(zone), what="input after ~f")
        first.send("\r~r")  # read-only: the one who wanted it writes again
        first.expect(said(first, "[read-only now: you watch]"))
        second.expect(said(second, "[write access is yours again]"))
        second.send("echo back-to-second\r")
        wait_for(lambda: "back-to-second\r\nback-to-second" in vcon.log_text(zone, raw=True), what="its input")
        second.send("\r~p")  # the last screenful again
        second.expect(said(second, "[the last screenful again]"))
        second.expect("back-to-second")
        second.send("\r~b")  # a break: for serial lines, so a zone's monitor says so
        second.expect(said(second, f"[break is for serial lines; {zone} is a zone's console]"))
        first.send("~b")
        first.expect(said(first, "[read-only: no break sent]"))
    finally:
        close(first, *(c for c in [second] if c))


def test_caret_notation_for_the_escape(vcon, zone):
    child = pexpect.spawn(VCON, ["console", zone, "-e", "^]"], env=vcon.env, encoding="utf-8", timeout=15)
    try:
        attached(child, r"attached to .*\^\]\? for help")
        child.send("\x1d?")
        child.expect(said(child, "[^]. detach"))
        child.send("\x1d.")
        child.expect(said(child, "[detached]"))
        child.expect(pexpect.EOF)
    finally:
        close(child)
    assert child.exitstatus == 0


# -- users --------------------------------------------------------------------

def test_ls_and_log_for_a_user_the_consoledb_lets_read(vcon, zone, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    vcon.write_consoledb(f"console={zone} zone={zone} ro={alice.name}\n")
    console_says(vcon, zone, "for-alice\\n")
    wait_for(lambda: "for-alice" in vcon.log_text(zone), what="the line")

    def run(user, *args):
        return subprocess.run(user.command(VCON, *args), env=vcon.env, capture_output=True, text=True, timeout=30)

    listed = run(alice, "ls")
    assert listed.returncode == 0 and re.search(rf"^{zone}\s+running", listed.stdout, re.M), listed
    assert "you see the running zones whose console the consoledb lets you use" in listed.stderr, listed.stderr
    log = run(alice, "log", zone, "-n", "3")
    assert log.returncode == 0 and "for-alice" in log.stdout, log
    assert run(alice, "log", zone, "--audit").returncode == 1, "the audit log is root's"
    unlisted = run(bob, "ls")
    assert unlisted.returncode == 0 and zone not in unlisted.stdout
    denied = run(bob, "log", zone)
    assert denied.returncode == 1 and f"may not" in denied.stderr and zone in denied.stderr, denied.stderr


# -- boots under load -----------------------------------------------------------

def test_first_console_lines_survive_many_boots_under_load(vcon):
    """The lost 'vcon: zone ... is up' (getty's tcflush emptied the unread console):
    boots, several at once, while every CPU is busy, each log checked for its first line."""
    load = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(os.cpu_count() or 2)]
    names = [f"busy{i}" for i in range(6)]
    try:
        for name in names:
            vcon.create(name)
        for round_ in range(3):
            booting = [subprocess.Popen([VCON, "boot", name], env=vcon.env, stdout=subprocess.DEVNULL)
                       for name in names]
            for name, process in zip(names, booting):
                assert process.wait(timeout=120) == 0, name
                vcon.booted.add(name)
            for name in names:
                # Each boot ends at a prompt; by then its first line is in the log, or lost.
                wait_for(lambda: vcon.log_text(name, raw=True).count(":/# ") > round_, timeout=60,
                         what=f"{name}'s prompt")
                text = vcon.log_text(name, raw=True)
                assert text.count(f"vcon: zone {name} is up") == round_ + 1, (round_, text[-2000:])
            for name in names:
                vcon.run("halt", name)
    finally:
        for process in load:
            process.kill()
            process.wait()
