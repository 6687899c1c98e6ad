"""Zones end to end: boot, console, PID virtualization, isolation, life cycle."""
import os
import re
import shutil
import subprocess
import time

import pexpect
import pytest

from conftest import VCON, process_alive, wait_for


def test_boot_reaches_console_and_log(vcon, zone):
    log = vcon.log_text(zone)
    assert re.search(r"^\S+Z [*~] zone z1 booted, init is host PID \d+$", log, re.M), log
    assert re.search(r"^\S+Z \| vcon: zone z1 is up", log, re.M), log


def test_output_written_to_dev_console_reaches_log(vcon, zone):
    vcon.exec(zone, "sh", "-c", "echo marker-$((6*7)) > /dev/console")
    wait_for(lambda: "marker-42\r\n" in vcon.log_text(zone, raw=True), what="marker in log")


def test_init_is_pid_1_and_host_sees_both_pids(vcon, zone):
    assert vcon.exec(zone, "cat", "/proc/1/comm").stdout.strip() == "init"
    assert vcon.exec(zone, "sh", "-c", "echo $$").stdout.strip() != ""
    init_pid = vcon.ls()[zone]["init_pid"]
    rows = vcon.ps(zone)
    init = [r for r in rows if r["zone_pid"] == 1]
    assert len(init) == 1 and init[0]["host_pid"] == init_pid and init[0]["command"] == "init"
    assert init[0]["user"] == "root"
    assert all(r["zone"] == zone and r["host_pid"] != r["zone_pid"] for r in rows), rows


def test_ps_in_a_zone_shows_only_its_processes(vcon):
    vcon.zone_up("a")
    vcon.zone_up("b")
    sleeper = subprocess.Popen([VCON, "exec", "b", "--", "sleep", "4242"], env=vcon.env)
    try:
        wait_for(lambda: any("sleep 4242" in r["command"] for r in vcon.ps("b")), what="sleeper in b")
        inside_a = vcon.exec("a", "ps").stdout
        assert "4242" not in inside_a and "init" in inside_a
        inside_b = vcon.exec("b", "ps").stdout
        assert "sleep 4242" in inside_b
        everything = vcon.ps()
        assert {r["zone"] for r in everything} == {"a", "b"}
        sleep_row = next(r for r in everything if "sleep 4242" in r["command"])
        assert sleep_row["zone"] == "b" and sleep_row["host_pid"] > sleep_row["zone_pid"] > 1
    finally:
        sleeper.kill()
        sleeper.wait()


def test_each_zone_has_its_own_console(vcon):
    vcon.zone_up("a")
    vcon.zone_up("b")
    for name in ("a", "b"):
        # The zone's devpts holds only its own console pty; none of the host's.
        assert vcon.exec(name, "ls", "/dev/pts").stdout.split() == ["0", "ptmx"]
        assert vcon.exec(name, "sh", "-c", "stat -c %t /dev/console").stdout.strip() == "88"  # major 136
    vcon.exec("a", "sh", "-c", "echo only-in-a > /dev/console")
    vcon.exec("b", "sh", "-c", "echo only-in-b > /dev/console")
    wait_for(lambda: "only-in-a" in vcon.log_text("a"), what="a's marker")
    wait_for(lambda: "only-in-b" in vcon.log_text("b"), what="b's marker")
    assert "only-in-b" not in vcon.log_text("a") and "only-in-a" not in vcon.log_text("b")
    # No device node of another pty can be made or found inside a zone.
    made = vcon.exec("a", "mknod", "/tmp/pty", "c", "136", "1", check=False)
    assert made.returncode != 0


def test_zone_never_blocks_on_its_console(vcon, zone):
    # 50 MiB with nobody attached: far beyond any pty buffer, so this finishes
    # only because the monitor drains the master.
    done = vcon.exec(zone, "sh", "-c", "dd if=/dev/zero bs=65536 count=800 2>/dev/null | tr '\\0' x > /dev/console; echo done",
                     timeout=120)
    assert done.stdout.strip() == "done"


def test_network_namespace_none_has_only_lo_and_hostname(vcon):
    vcon.zone_up("n1", "--hostname", "inner")
    devices = vcon.exec("n1", "cat", "/proc/net/dev").stdout
    names = sorted(line.split(":")[0].strip() for line in devices.splitlines()[2:])
    assert names == ["lo"]
    assert "UP" in vcon.exec("n1", "ip", "link", "show", "lo").stdout
    assert vcon.exec("n1", "hostname").stdout.strip() == "inner"


def test_network_host_sees_host_interfaces(vcon):
    vcon.zone_up("h1", "--net", "host")
    with open("/proc/net/dev") as f:
        host = sorted(line.split(":")[0].strip() for line in f.read().splitlines()[2:])
    devices = vcon.exec("h1", "cat", "/proc/net/dev").stdout
    assert sorted(line.split(":")[0].strip() for line in devices.splitlines()[2:]) == host


def test_capability_bounding_set_is_reduced(vcon, zone):
    status = vcon.exec(zone, "cat", "/proc/1/status").stdout
    bounding = int(re.search(r"^CapBnd:\s*([0-9a-f]+)", status, re.M).group(1), 16)
    for cap in (16, 17, 25, 27):  # SYS_MODULE, SYS_RAWIO, SYS_TIME, MKNOD
        assert not bounding & (1 << cap), hex(bounding)
    assert bounding & (1 << 21), "CAP_SYS_ADMIN stays: init mounts /tmp"
    assert bounding & (1 << 22), "CAP_SYS_BOOT stays: reboot(2) ends the zone's init"


def test_root_is_the_zone_rootfs(vcon, zone):
    assert vcon.exec(zone, "cat", "/etc/hostname").stdout.strip() == "z1"
    assert vcon.exec(zone, "ls", "/").stdout.split() == sorted(os.listdir(vcon.zone_dir(zone) + "/rootfs"))
    mounts = vcon.exec(zone, "cat", "/proc/mounts").stdout
    assert re.search(r"^sysfs /sys sysfs ro,", mounts, re.M), mounts
    assert vcon.top not in mounts.replace(vcon.zone_dir(zone) + "/rootfs /", ""), "no host paths inside"


def test_exec_passes_exit_status_and_stdin(vcon, zone):
    assert vcon.exec(zone, "sh", "-c", "exit 7", check=False).returncode == 7
    assert vcon.exec(zone, "sh", "-c", "kill -9 $$", check=False).returncode == 128 + 9
    assert vcon.exec(zone, "cat", input="piped in\n").stdout == "piped in\n"
    missing = vcon.exec(zone, "no-such-command", check=False)
    assert missing.returncode == 127 and "cannot run 'no-such-command' in zone z1" in missing.stderr


def test_exec_with_terminal_gets_a_fresh_zone_pty(vcon, zone):
    child = pexpect.spawn(VCON, ["exec", zone, "--", "sh"], env=vcon.env, encoding="utf-8", timeout=10,
                          dimensions=(33, 101))
    try:
        child.sendline("tty; stty size; echo end-$((1+1))")
        child.expect(r"/dev/pts/(\d+)\r\n(\d+) (\d+)\r\nend-2")
        assert child.match.group(1) != "0", "pts/0 is the console; exec gets its own pty"
        assert (child.match.group(2), child.match.group(3)) == ("33", "101")
        child.sendline("exit 5")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 5


def test_halt_leaves_nothing_behind(vcon, zone):
    init_pid = vcon.ls()[zone]["init_pid"]
    zone_pids = [r["host_pid"] for r in vcon.ps(zone)]
    vcon.run("halt", zone)
    assert vcon.ls()[zone]["state"] == "halted"
    assert not any(process_alive(pid) for pid in zone_pids + [init_pid])
    assert not os.path.exists(vcon.run_dir(zone))
    assert vcon.monitor_pids() == []
    assert re.search(r"[*~] zone halted: init powered off$", vcon.log_text(zone), re.M)
    with open("/proc/self/mountinfo") as f:
        assert vcon.top not in f.read()


def test_reboot_keeps_console_log_and_gives_new_init(vcon, zone):
    vcon.exec(zone, "sh", "-c", "echo before-reboot > /dev/console")
    old_init = vcon.ls()[zone]["init_pid"]
    vcon.run("reboot", zone)
    new_init = vcon.ls()[zone]["init_pid"]
    assert new_init != old_init and not process_alive(old_init)
    wait_for(lambda: vcon.log_text(zone, raw=True).count("vcon: zone z1 is up") == 2, what="second boot")
    log = vcon.log_text(zone)
    assert log.index("before-reboot") < log.index(" zone rebooting") < log.rindex(" zone z1 booted")
    vcon.exec(zone, "sh", "-c", "echo after-reboot > /dev/console")
    wait_for(lambda: "after-reboot" in vcon.log_text(zone), what="output after reboot")


def test_zone_can_reboot_and_power_off_itself(vcon, zone):
    old_init = vcon.ls()[zone]["init_pid"]
    vcon.exec(zone, "reboot", check=False)
    wait_for(lambda: vcon.ls()[zone]["init_pid"] not in (None, old_init) and vcon.ls()[zone]["state"] == "running",
             what="self reboot")
    assert "zone rebooting: init rebooted, by itself" in vcon.log_text(zone)
    vcon.exec(zone, "poweroff", check=False)
    wait_for(lambda: vcon.ls()[zone]["state"] == "halted", what="self power-off")
    assert "zone halted: init powered off, by itself" in vcon.log_text(zone)
    wait_for(lambda: not os.path.exists(vcon.run_dir(zone)), what="run dir removed")


def test_halt_kills_an_init_that_ignores_the_signal(vcon):
    # A shell as PID 1 ignores SIGUSR2: halt must fall back to killing the zone.
    vcon.create("stubborn", "--", "/bin/sh", "-c", "echo stubborn-up; while :; do sleep 1; done")
    vcon.boot("stubborn")
    wait_for(lambda: "stubborn-up" in vcon.log_text("stubborn"), what="init output")
    halted = vcon.run("halt", "stubborn", "--timeout", "1", check=False)
    assert halted.returncode == 3, "a halt that had to kill says so in its exit status"
    assert "zone stubborn halted, but not cleanly: init did not stop within 1 s of SIGUSR2: killed" in halted.stdout
    assert "was killed (exit status 3)" in halted.stderr and "--halt-signal" in halted.stderr
    assert vcon.ls()["stubborn"]["state"] == "halted"
    log = vcon.log_text("stubborn")
    assert "halt requested: sending SIGUSR2 to init (an init vcon does not know)" in log
    assert "zone halted: init did not stop within 1 s of SIGUSR2: killed" in log
    # --force asks for the kill: not a failure.
    vcon.boot("stubborn")
    forced = vcon.run("halt", "stubborn", "--force")
    assert "killed at once, as asked" in forced.stdout


def test_destroy(vcon, zone):
    refused = vcon.run("destroy", zone, check=False)
    assert refused.returncode != 0 and "is running" in refused.stderr
    vcon.run("destroy", zone, "--force")
    assert zone not in vcon.ls() and not os.path.exists(vcon.zone_dir(zone))
    assert vcon.monitor_pids() == []


def test_destroy_keeps_a_user_supplied_rootfs(vcon, zone):
    rootfs = vcon.zone_dir(zone) + "/rootfs"
    mine = os.path.join(vcon.private_dir("user"), "mine")
    subprocess.run(["cp", "-a", rootfs, mine], check=True)
    vcon.create("user", "--rootfs", mine)
    vcon.run("destroy", "user")
    assert os.path.exists(os.path.join(mine, "bin", "busybox"))


def test_ring_size_is_settable(vcon):
    vcon.create("r", "--ring-size", "8192")
    with open(os.path.join(vcon.zone_dir("r"), "zone.toml")) as f:
        assert re.search(r"^ring_size = 8192$", f.read(), re.M)
    bad = vcon.run("create", "r2", "--ring-size", "12", check=False)
    assert bad.returncode != 0 and "ring-size" in bad.stderr and "r2" not in vcon.ls()


def test_log_tail_and_follow(vcon, zone):
    for i in range(5):
        vcon.exec(zone, "sh", "-c", f"echo line-{i} > /dev/console")
    wait_for(lambda: "line-4" in vcon.log_text(zone), what="lines")
    assert vcon.run("log", zone, "--raw", "-n", "2").stdout == "line-3\r\nline-4\r\n"
    assert re.fullmatch(r"\S+Z \| line-4\r\n", vcon.run("log", zone, "-n", "1").stdout)
    follower = subprocess.Popen([VCON, "log", zone, "-f", "--raw", "-n", "0"], env=vcon.env,
                                stdout=subprocess.PIPE, text=True)
    try:
        vcon.exec(zone, "sh", "-c", "echo followed > /dev/console")
        assert follower.stdout.readline() == "followed\n"  # text mode here: \r\n read as \n
    finally:
        follower.kill()
        follower.wait()


def test_log_on_a_terminal_shows_control_characters_instead_of_obeying_them(vcon, zone):
    # A title change plus a cursor query, as a hostile zone might print.
    vcon.exec(zone, "sh", "-c", "printf 'x\\033]0;pwned\\007\\033[6ny\\n' > /dev/console")
    wait_for(lambda: "pwned" in vcon.log_text(zone), what="escape sequence in the log")
    shown = pexpect.run(f"{VCON} log {zone} -n 1", env=vcon.env, encoding="utf-8")
    assert "x^[]0;pwned^G^[[6ny" in shown, repr(shown)
    raw = vcon.run("log", zone, "--raw", "-n", "1").stdout
    assert raw.endswith("x\x1b]0;pwned\x07\x1b[6ny\r\n"), "raw stays exact"  # after the prompt


def test_a_zone_that_reboots_in_a_loop_is_held_back(vcon):
    vcon.create("loop", "--", "/bin/sh", "-c", "echo booting-again; reboot -f")
    vcon.boot("loop")
    # However fast or slow a boot is here: never more than 10 boots in 10 s.
    # (Boots are counted by the monitor's own lines: they are in the log whatever the zone managed to say.)
    def boots():
        log = vcon.log_text("loop")
        return log, [line.split()[0] for line in log.splitlines() if re.search(r" zone loop booted, init", line)]

    deadline = time.monotonic() + 120
    log, booted = boots()
    while len(booted) < 12:
        assert time.monotonic() < deadline, (len(booted), log, vcon.monitor_log("loop"))
        time.sleep(0.1)
        log, booted = boots()
    assert "booting-again" in log
    stamps = [time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + stamp[20:26])
              for stamp in booted]
    if stamps[9] - stamps[0] < 10:  # ten boots within 10 s: the eleventh waits (1 s), the twelfth longer (2 s)
        assert "rebooting too often" in log, log[-2000:]
        assert stamps[10] - stamps[9] >= 0.9 and stamps[11] - stamps[10] >= 1.9, stamps
    # A halt while the next boot waits ends it at once.
    vcon.run("halt", "loop", timeout=10)
    assert vcon.ls()["loop"]["state"] == "halted"


def test_boot_several_zones_in_one_command(vcon):
    """vcon boot A B C...: each zone boots as if alone (its own keeper holding only its own fds), one that
    cannot boot is reported and the others boot on, and the shared-rootfs check still holds."""
    for name in ("m1", "m2", "m3", "bad", "shared"):
        vcon.create(name, "--", "/bin/sh", "-c", "exec sleep 1000000")
    shutil.rmtree(os.path.join(vcon.zone_dir("bad"), "rootfs"))
    config = os.path.join(vcon.zone_dir("shared"), "zone.toml")
    theirs = os.path.join(vcon.zone_dir("m1"), "rootfs")
    text = open(config).read()
    text = re.sub(r"^rootfs = .*$", f"rootfs = '{theirs}'", text, flags=re.M)
    text = text.replace("rootfs_owned = true", "rootfs_owned = false")
    open(config, "w").write(text)
    vcon.booted.update({"m1", "m2", "m3"})
    result = vcon.run("boot", "m1", "bad", "m2", "shared", "m3", check=False)
    assert result.returncode == 1, result
    assert sorted(result.stdout.splitlines()) == ["zone m2 booted", "zone m3 booted"], result.stdout
    # m1 and shared are refused both ways, as when booted alone.
    for name in ("m1", "shared"):
        assert re.search(rf"cannot boot zone {name}: .*zones never share a tree", result.stderr), result.stderr
    assert re.search(r"rootfs \S+/bad/rootfs of zone bad does not exist", result.stderr), result.stderr
    zones = vcon.ls()
    assert [zones[n]["state"] for n in ("m1", "m2", "m3", "bad", "shared")] == ["halted", "running", "running",
                                                                                 "halted", "halted"]
    # No keeper holds another zone's lock: each halts and boots again alone.
    for name in ("m2", "m3"):
        vcon.run("halt", name, "--force")
    assert all(z["state"] == "halted" for z in vcon.ls().values())
    vcon.run("boot", "m2")
    assert vcon.ls()["m2"]["state"] == "running"
    assert_refused = vcon.run("boot", "m1", "m2", "--console", check=False)
    assert assert_refused.returncode == 2 and "--console attaches to one zone" in assert_refused.stderr
