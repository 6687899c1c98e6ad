"""Who may use which console: the consoledb, enforced by monitors for real
users made in the test (SO_PEERCRED), edited live, and malformed."""
import json
import re
import subprocess

import pexpect
import pytest

from conftest import VCON, attached, close, said, wait_for


def attach_as(vcon, user, zone, *args):
    """`vcon console` run by `user` on a terminal of its own (script makes the pty, as a login would)."""
    command = " ".join([VCON, "console", zone, *args])
    child = pexpect.spawn(user.command("script", "-qfec", command, "/dev/null")[0],
                          user.command("script", "-qfec", command, "/dev/null")[1:], env=vcon.env,
                          encoding="utf-8", timeout=15)
    attached(child)
    return child


def run_as(vcon, user, *args):
    return subprocess.run(user.command(VCON, *args), env=vcon.env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)


def test_read_write_read_only_and_denied_users(vcon, zone, make_user):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    vcon.write_consoledb(f"console={zone} zone={zone} uid={alice.name} ro={bob.name}\n")
    writer = attach_as(vcon, alice, zone)
    viewer = attach_as(vcon, bob, zone)
    try:
        viewer.expect(r"has read-only access to this console: watching only")
        writer.sendline("echo from-$((6*7))-alice")
        writer.expect("from-42-alice")
        viewer.expect("from-42-alice")
        viewer.send("echo from-$((6*7))-bob\r")
        writer.sendline("echo marker-$((1+1))")
        viewer.expect("marker-2")
        assert "from-42-bob" not in vcon.log_text(zone, raw=True), "a read-only user's typing reached the zone"
        clients = {c["user"]: c for c in json.loads(vcon.run("who", zone, "--json").stdout)}
        assert clients[alice.name]["mode"] == "rw" and clients[bob.name]["mode"] == "ro"
        assert clients[alice.name]["uid"] == alice.uid
        # Read-only stays read-only, whatever is asked.
        forcing = attach_as(vcon, bob, zone, "--force")
        forcing.expect(r"has read-only access to this console: watching only")
        clients = json.loads(vcon.run("who", zone, "--json").stdout)
        assert [c["user"] for c in clients if c["mode"] == "rw"] == [alice.name], clients
        close(forcing)
    finally:
        close(writer, viewer)
    denied = run_as(vcon, carol, "console", zone, "-r")
    assert denied.returncode == 1
    assert re.search(rf"permission denied: {carol.name} may not use the console of {zone} \(the consoledb "
                     rf"\S+consoledb grants no access", denied.stderr), denied.stderr
    # Attach and detach are in the console log, with user and PID.
    log = vcon.log_text(zone)
    assert re.search(rf"[*~] {alice.name} \(PID \d+\) attached read-write", log), log
    assert re.search(rf"[*~] {bob.name} \(PID \d+\) attached read-only", log), log
    assert re.search(rf"[*~] {alice.name} \(PID \d+\) detached", log), log


def test_no_entry_is_root_only_and_users_cannot_halt(vcon, zone, make_user):
    alice = make_user("alice")
    denied = run_as(vcon, alice, "who", zone)
    assert denied.returncode == 1 and "permission denied" in denied.stderr, denied.stderr
    vcon.write_consoledb(f"console={zone} zone={zone} uid={alice.name}\n")
    assert run_as(vcon, alice, "who", zone).returncode == 0
    halted = run_as(vcon, alice, "halt", zone)
    assert halted.returncode == 1 and "must be run as root" in halted.stderr
    # Asked directly, the monitor refuses too.
    out = alice.speak(f"{vcon.run_dir(zone)}/console.sock", [(1, {"version": 1, "mode": "control"}), (8, {"op": "halt"})])
    assert "halt: only root may halt or reboot a zone" in out, out
    assert vcon.ls()[zone]["state"] == "running"


def test_only_root_may_speak_for_another_user(vcon, zone, make_user):
    alice = make_user("alice")
    vcon.write_consoledb(f"console={zone} zone={zone} ro={alice.name}\n")
    hello = {"version": 1, "mode": "rw", "on_behalf": {"user": "root", "uid": 0, "pid": 1}}
    out = alice.speak(f"{vcon.run_dir(zone)}/console.sock", [(1, hello)])
    assert "on_behalf is for root's file system server only" in out, out
    assert json.loads(vcon.run("who", zone, "--json").stdout) == []


def test_groups_from_the_consoledb_and_from_unix(vcon, zone, make_user, make_group):
    unix_group = make_group("ops")
    carol, dave, erin = make_user("carol"), make_user("dave", groups=[unix_group]), make_user("erin")
    vcon.write_consoledb(f"console={zone} zone={zone} gid=admins gid={unix_group} rogid=audit\n"
                         f"group=admins uid={carol.name}\n"
                         f"group=audit uid={erin.name}\n")
    for user, mode in ((carol, "rw"), (dave, "rw"), (erin, "ro")):
        child = attach_as(vcon, user, zone)
        try:
            clients = {c["user"]: c for c in json.loads(vcon.run("who", zone, "--json").stdout)}
            assert clients[user.name]["mode"] == mode, (user.name, clients)
        finally:
            close(child)
        wait_for(lambda: json.loads(vcon.run("who", zone, "--json").stdout) == [], what="the client to leave")


def test_edits_take_effect_at_once_and_a_broken_entry_is_left_out_alone(vcon, zone, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    consoledb = vcon.env["VCON_CONSOLEDB"]
    vcon.write_consoledb(f"console={zone} zone={zone} uid={alice.name}\n")
    assert run_as(vcon, alice, "who", zone).returncode == 0
    assert run_as(vcon, bob, "who", zone).returncode == 1
    vcon.write_consoledb(f"console={zone} zone={zone} ro={bob.name}\n")
    assert run_as(vcon, alice, "who", zone).returncode == 1, "a removed grant still worked"
    assert run_as(vcon, bob, "who", zone).returncode == 0, "an added grant did not work"

    # A typo in some other entry takes nothing from this one; root hears of it.
    vcon.write_consoledb(f"console=ttyQ dev=/dev/ttyS9\n\tlogsze=1M\nconsole={zone} zone={zone} uid={alice.name}\n")
    assert run_as(vcon, alice, "who", zone).returncode == 0, "a broken entry elsewhere locked alice out"
    check = vcon.run("check", check=False)
    assert check.returncode == 1
    assert f"consoledb {consoledb} line 2: unknown attribute logsze=" in check.stdout, check.stdout
    assert "console ttyQ is root's until this is fixed" in check.stdout
    vcon.run("halt", zone)
    boot = vcon.boot(zone)
    assert f"vcon: warning: consoledb {consoledb} line 2: unknown attribute logsze=" in boot.stderr, boot.stderr

    # This console's own entry broken: it is root's alone, and a user is told why and where.
    vcon.write_consoledb(f"console={zone} zone={zone} uid={alice.name}\n\tspede=9600\n")
    denied = run_as(vcon, alice, "who", zone)
    assert denied.returncode == 1
    assert (f"the consoledb {consoledb} has this console's entry broken (line 2: unknown attribute spede="
            in denied.stderr), denied.stderr
    assert "vcon check" in denied.stderr
    report = wait_for(lambda: re.search(rf"consoledb \S+consoledb line 2: unknown attribute spede= in console {zone}"
                                        r".* \(entry left out\)", vcon.monitor_log(zone)),
                      what="the broken entry reported")
    assert report
    assert run_as(vcon, alice, "who", zone).returncode == 1
    assert vcon.monitor_log(zone).count("unknown attribute spede=") == 1, "reported more than once"
    vcon.write_consoledb(f"console={zone} zone={zone} uid={alice.name}\n")
    assert vcon.run("check").returncode == 0
