"""Bad input: one clear line saying what and what to do, exit code != 0, and
nothing left behind (no zone directory, run directory, monitor or mount)."""
import os
import shutil
import subprocess

import pytest

from conftest import VCON


def assert_refused(result, *fragments):
    assert result.returncode != 0, result
    message = result.stderr.strip()
    assert message.startswith("vcon") and "\n" not in message, repr(message)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def assert_nothing_left(vcon, name):
    assert not os.path.exists(vcon.run_dir(name)), os.listdir(vcon.run_dir(name))
    assert vcon.monitor_pids() == []
    with open("/proc/self/mountinfo") as f:
        assert vcon.top not in f.read()


@pytest.mark.parametrize("name", ["", "Upper", "-dash", "a/b", "a b", "x" * 64, ".."])
def test_invalid_names(vcon, name):
    for command in (["create", "--", name], ["boot", "--", name], ["halt", "--", name], ["destroy", "--", name]):
        assert_refused(vcon.run(*command, check=False), "invalid zone name")
    assert not os.path.exists(os.path.join(vcon.top, "state", "zones", name or "_"))


def test_duplicate_name(vcon):
    vcon.create("dup")
    assert_refused(vcon.run("create", "dup", check=False), "zone dup already exists", "vcon destroy dup")
    assert os.path.exists(os.path.join(vcon.zone_dir("dup"), "zone.toml")), "the first zone is untouched"


def test_missing_rootfs_and_init_at_create(vcon):
    assert_refused(vcon.run("create", "m", "--rootfs", "/nonexistent/rootfs", check=False),
                   "rootfs /nonexistent/rootfs does not exist")
    empty = vcon.private_dir("empty")
    assert_refused(vcon.run("create", "m", "--rootfs", empty, check=False), f"rootfs {empty} has no /sbin/init")
    assert_refused(vcon.run("create", "m", "--", "sbin/init", check=False), "must be an absolute path")
    assert_refused(vcon.run("create", "m", "--template", "alpine", check=False), "unknown template 'alpine'")
    assert not os.path.exists(vcon.zone_dir("m"))


def test_init_missing_at_boot(vcon):
    vcon.create("noinit")
    os.unlink(os.path.join(vcon.zone_dir("noinit"), "rootfs", "sbin", "init"))
    result = vcon.run("boot", "noinit", check=False)
    assert_refused(result, "cannot boot zone noinit", "has no /sbin/init")
    assert_nothing_left(vcon, "noinit")
    assert vcon.ls()["noinit"]["state"] == "halted"


def test_rootfs_gone_at_boot(vcon):
    vcon.create("gone")
    shutil.rmtree(os.path.join(vcon.zone_dir("gone"), "rootfs"))
    assert_refused(vcon.run("boot", "gone", check=False), "rootfs", "does not exist")
    assert_nothing_left(vcon, "gone")


def test_boot_running_and_halt_halted(vcon, zone):
    init_pid = vcon.ls()[zone]["init_pid"]
    assert_refused(vcon.run("boot", zone, check=False), "zone z1 is already running", "vcon halt z1")
    assert vcon.ls()[zone]["init_pid"] == init_pid, "the running zone is untouched"
    vcon.run("halt", zone)
    assert_refused(vcon.run("halt", zone, check=False), "zone z1 is not running", "vcon boot z1")
    assert_refused(vcon.run("reboot", zone, check=False), "zone z1 is not running")
    assert_refused(vcon.run("exec", zone, "--", "true", check=False), "zone z1 is not running")


def test_unknown_zone(vcon):
    for command in (["boot", "nope"], ["halt", "nope"], ["exec", "nope", "--", "true"], ["destroy", "nope"]):
        assert_refused(vcon.run(*command, check=False), "zone nope does not exist")
    assert_refused(vcon.run("log", "nope", check=False), "console nope has no log yet")
    assert_refused(vcon.run("console", "nope", check=False), "zone nope does not exist")
    assert_refused(vcon.run("ctl", "nope", "break", check=False), "zone nope does not exist")


def test_corrupt_definition(vcon):
    vcon.create("broken")
    path = os.path.join(vcon.zone_dir("broken"), "zone.toml")
    with open(path, "a") as f:
        f.write("net = [unterminated\n")
    result = vcon.run("boot", "broken", check=False)
    assert_refused(result, path, "line ", "vcon destroy broken")
    assert_nothing_left(vcon, "broken")
    with open(path, "w") as f:
        f.write('name = "other"\nrootfs = "/"\n')
    assert_refused(vcon.run("boot", "broken", check=False), "names zone 'other'")
    assert_nothing_left(vcon, "broken")


def test_not_root(vcon):
    os.chmod(vcon.top, 0o755)
    for command in (["create", "x"], ["boot", "x"], ["halt", "x"], ["exec", "x", "--", "true"]):
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", VCON, *command],
                                env=vcon.env, capture_output=True, text=True)
        assert_refused(result, "must be run as root", "sudo vcon")
    assert not os.path.exists(vcon.zone_dir("x"))
