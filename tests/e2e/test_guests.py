"""Real guests: Debian 12 with systemd and with sysvinit, from vcon's templates
(built once per machine with mmdebstrap into /var/cache/vcon, then copied per
zone): boot to a login on the console, a login through vcon console, a healthy
init, and halt and reboot that end cleanly (--timeout 2: a kill would make
them exit 3). Also: watching a halted zone boot from its first byte."""
import os
import re
import shutil

import pexpect
import pytest

from conftest import VCON, attached, close, said, wait_for

PASSWORD = "zone-root-secret"


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "root-password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return str(path)


def expected_hard_file_limit():
    """What a zone's hard limit on open files should be: 524,288 (or nr_open), if root here may raise it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(524288, int(open("/proc/sys/fs/nr_open").read()))
    if hard >= wanted:
        return hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, wanted))
    except (ValueError, PermissionError, OSError):
        return hard  # not allowed here: the zone keeps what the host gives
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, wanted))
    return wanted


def console(vcon, zone, *args, timeout=30):
    child = pexpect.spawn(VCON, ["console", zone, *args], env=vcon.env, encoding="utf-8", timeout=timeout,
                          dimensions=(40, 160))
    return child


def log_in(child, hostname):
    """Logs in as root at the console's login prompt; leaves it at a shell prompt."""
    child.send("\r")
    child.expect(rf"{hostname} login: ")
    child.send("root\r")
    child.expect("Password: ")
    child.send(PASSWORD + "\r")
    child.expect(rf"root@{hostname}:~# ")


def run_in_console(child, hostname, command):
    """Runs `command` at the console's shell; returns what it printed."""
    marker = f"done-{abs(hash(command)) % 100000}"
    child.send(f"{command}; echo {marker}\r")
    child.expect(rf"\r\n{marker}\r\n")
    output = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r(?!\n)", "", child.before)  # bash's bracketed-paste switches
    child.expect(rf"root@{hostname}:~# ")
    return output.split("\r\n", 1)[1] if "\r\n" in output else ""


def boot_to_login(vcon, zone):
    """Attaches before the boot (vcon console waits for a halted zone) and boots: returns the console."""
    child = console(vcon, zone)
    child.expect(re.escape(f"zone {zone} is not running: waiting for it to boot"))
    vcon.boot(zone)
    attached(child)
    child.expect(rf"{zone} login: ")
    return child


def stop_cleanly(vcon, zone, what, grace=2):
    """halt or reboot with GRACE seconds before a kill; asserts nothing was killed. (busybox init's own
    shutdown sleeps 2 s: it needs more than the Debian guests' 2 s.)"""
    result = vcon.run(what, zone, "--timeout", str(grace), check=False, timeout=60)
    assert result.returncode == 0, (result.stdout, result.stderr, vcon.log_text(zone)[-3000:])
    assert "killed" not in result.stdout
    return result


def test_systemd_guest(vcon, password_file):
    zone = "deb"
    made = vcon.run("create", zone, "--template", "debian", "--root-password-file", password_file, timeout=900)
    assert "root's password is locked" not in made.stdout
    child = boot_to_login(vcon, zone)
    try:
        log_in(child, zone)
        assert run_in_console(child, zone, "systemctl is-system-running").strip() == "running"
        assert "0 loaded units listed" in run_in_console(child, zone, "systemctl --failed --no-pager")
        assert run_in_console(child, zone, "hostname").strip() == zone
        # systemd's container interface: it knows it is in one, and which.
        assert run_in_console(child, zone, "systemd-detect-virt -c").strip() == "container-other"
        uuid = re.search(r'^uuid = ["\'](\S+)["\']$', open(os.path.join(vcon.zone_dir(zone), "zone.toml")).read(), re.M)[1]
        assert run_in_console(child, zone, "cat /etc/machine-id").strip() == uuid.replace("-", "")
        # journald works, and the console's boot went without cgroup complaints.
        vcon.exec(zone, "logger", "hello-journal")
        assert "hello-journal" in vcon.exec(zone, "journalctl", "-b", "--no-pager").stdout
        assert vcon.exec(zone, "systemctl", "is-active", "systemd-journald").stdout.strip() == "active"
        boot_log = vcon.log_text(zone)
        for complaint in ("Failed to migrate", "cgroup", "FAILED", "Input/output error"):
            assert complaint not in boot_log, complaint
        # Room to raise the open-file limit (dbus asks for 65,536): the hard
        # limit is raised for the zone where the host lets root do that
        # (CAP_SYS_RESOURCE; some sandboxes withhold it), the soft one is 1,024.
        soft, hard = map(int, vcon.exec(zone, "sh", "-c", "ulimit -Sn; ulimit -Hn").stdout.split())
        assert soft == 1024
        assert hard == expected_hard_file_limit(), hard
    finally:
        close(child)

    reboot = stop_cleanly(vcon, zone, "reboot")
    assert "(init rebooted)" in reboot.stdout
    wait_for(lambda: vcon.log_text(zone, raw=True).count(f"{zone} login: ") >= 2, timeout=30, what="login again")
    assert re.search(r"[*~] reboot requested: sending SIGINT to init \(systemd\)", vcon.log_text(zone))
    halt = stop_cleanly(vcon, zone, "halt")
    assert "(init powered off)" in halt.stdout
    log = vcon.log_text(zone)
    assert re.search(r"[*~] halt requested: sending SIGRTMIN\+3 to init \(systemd\)", log)
    assert re.search(r"[*~] zone halted: init powered off$", log, re.M)

    # Its own poweroff, from inside, is told as such.
    vcon.boot(zone)
    wait_for(lambda: vcon.log_text(zone, raw=True).count(f"{zone} login: ") >= 3, timeout=30, what="login")
    vcon.exec(zone, "systemctl", "poweroff", check=False)
    wait_for(lambda: vcon.ls()[zone]["state"] == "halted", timeout=30, what="its own poweroff")
    assert re.search(r"[*~] zone halted: init powered off, by itself$", vcon.log_text(zone), re.M)


def test_sysvinit_guest(vcon, password_file):
    zone = "sysv"
    vcon.run("create", zone, "--template", "debian-sysvinit", "--root-password-file", password_file, timeout=900)
    child = boot_to_login(vcon, zone)
    try:
        log_in(child, zone)
        assert run_in_console(child, zone, "runlevel").strip() == "N 2"
        assert run_in_console(child, zone, "hostname").strip() == zone
        boot_log = vcon.log_text(zone)
        for complaint in ("failed", "permission denied", "Permission denied", "No inittab.d"):
            assert complaint not in boot_log, (complaint, boot_log[-3000:])
    finally:
        close(child)
    reboot = stop_cleanly(vcon, zone, "reboot")
    assert "(init rebooted)" in reboot.stdout
    wait_for(lambda: vcon.log_text(zone, raw=True).count(f"{zone} login: ") >= 2, timeout=30, what="login again")
    halt = stop_cleanly(vcon, zone, "halt")
    assert "(init powered off)" in halt.stdout
    log = vcon.log_text(zone)
    assert re.search(r"[*~] halt requested: sending SIGPWR to init \(sysvinit\)", log)
    assert re.search(r"[*~] reboot requested: sending SIGINT to init \(sysvinit\)", log)


def test_a_guest_from_rootfs_gets_its_hostname_and_init_aware_halt(vcon, password_file):
    cache = os.environ.get("VCON_CACHE_DIR", "/var/cache/vcon")
    vcon.run("create", "prep", "--template", "debian", "--root-password-file", password_file, timeout=900)
    rootfs = vcon.private_dir("guest")
    os.rmdir(rootfs)
    shutil.move(os.path.join(vcon.zone_dir("prep"), "rootfs"), rootfs)
    vcon.run("destroy", "prep")
    assert os.path.isdir(os.path.join(cache, "templates", "debian", "rootfs")), "the template is cached"
    with open(os.path.join(rootfs, "etc", "hostname"), "w") as f:
        f.write("the-build-host\n")  # as mmdebstrap leaves it: the host's
    made = vcon.run("create", "g1", "--rootfs", rootfs, "--hostname", "guest-one")
    assert "wrote /etc/hostname" in made.stdout
    vcon.boot("g1")
    wait_for(lambda: "guest-one login: " in vcon.log_text("g1", raw=True), timeout=30, what="login prompt")
    stop_cleanly(vcon, "g1", "halt")
    assert re.search(r"[*~] halt requested: sending SIGRTMIN\+3 to init \(systemd\)", vcon.log_text("g1"))


def test_halted_zone_console_shows_the_boot_from_its_first_byte(vcon):
    vcon.create("w1")
    child = console(vcon, "w1", "-d")
    try:
        child.expect(re.escape("zone w1 is not running: waiting for it to boot; ~. to leave"))
        child.send("typed too early\r")
        child.expect(re.escape("zone w1 is not running: input is not sent"))
        vcon.boot("w1")
        attached(child)
        child.expect("vcon: zone w1 is up")  # the first line init wrote: nothing of the boot is missed
        first = vcon.log_text("w1", raw=True).split("\r\n", 1)[0]
        assert first == "vcon: zone w1 is up", first
        child.expect(":/# ")
        vcon.run("halt", "w1")
        child.expect(said(child, "[zone w1 halted]"))
        child.expect(pexpect.EOF)  # -d: leaves at the halt
    finally:
        close(child)
    assert "typed too early" not in vcon.log_text("w1", raw=True)
    # Leaving while it waits.
    waiting = console(vcon, "w1")
    try:
        waiting.expect("waiting for it to boot")
        waiting.send("~.")
        waiting.expect(pexpect.EOF)
    finally:
        close(waiting)
    assert waiting.exitstatus == 0


def test_boot_console_boots_and_attaches(vcon):
    vcon.create("w2")
    child = pexpect.spawn(VCON, ["boot", "w2", "--console"], env=vcon.env, encoding="utf-8", timeout=30)
    try:
        child.expect("zone w2 booted")
        attached(child)
        child.expect("vcon: zone w2 is up")
        child.expect(":/# ")
        child.send("echo from-boot-console\r")
        child.expect("from-boot-console\r\n")
        child.send("~.")
        child.expect(pexpect.EOF)
    finally:
        close(child)
    vcon.booted.add("w2")
    assert vcon.ls()["w2"]["state"] == "running"


def test_halt_signal_at_create_overrides_the_detected_one(vcon):
    vcon.create("sig", "--halt-signal", "SIGUSR1")  # busybox init halts on SIGUSR1 too
    assert re.search(r'^halt_signal = ["\']SIGUSR1["\']$', open(os.path.join(vcon.zone_dir("sig"), "zone.toml")).read(), re.M)
    vcon.boot("sig")
    stop_cleanly(vcon, "sig", "halt", grace=10)
    assert re.search(r"[*~] halt requested: sending SIGUSR1 to init \(busybox init\)", vcon.log_text("sig"))
    bad = vcon.run("create", "sig2", "--halt-signal", "SIGNOPE", check=False)
    assert bad.returncode == 1 and "--halt-signal" in bad.stderr and "sig2" not in vcon.ls()
    locked = vcon.run("create", "sig3", "--root-password-file", "/etc/hostname", check=False)
    assert locked.returncode == 1 and "is for the Debian templates" in locked.stderr
