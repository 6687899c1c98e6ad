"""The escape suite: a zone's root is hostile and knows vcon's code.

Each attack of the isolation issue, and the class it stands for, is tried
from inside a zone as its root (tests/escape/escape_probe.c, static), or, for
the host's side, by a zone that rewrites its root file system; each must fail
with nothing changed on the host.
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import time

import pytest

from conftest import BUILD, VCON, process_alive, wait_for

PROBE = os.path.join(BUILD, "escape_probe")


def install_probe(vcon, zone):
    target = os.path.join(vcon.zone_dir(zone), "rootfs", "bin", "escape-probe")
    shutil.copy(PROBE, target)
    os.chmod(target, 0o755)


def probe(vcon, zone, *attacks):
    """Runs attacks in the zone; returns {name: (outcome, detail)}."""
    result = vcon.exec(zone, "/bin/escape-probe", *attacks, check=False)
    assert result.returncode == 0, result.stderr
    outcomes = {}
    for line in result.stdout.splitlines():
        name, outcome, detail = (line.split(" ", 2) + [""])[:3]
        outcomes[name] = (outcome, detail)
    return outcomes


def zone_toml(vcon, zone):
    with open(os.path.join(vcon.zone_dir(zone), "zone.toml")) as f:
        return f.read()


def id_base(vcon, zone):
    return int(re.search(r"^id_base = (\d+)$", zone_toml(vcon, zone), re.M).group(1))


def cgroup_name(vcon, zone):
    return f"vcon/{zone}-{id_base(vcon, zone):08x}"


def host_hierarchies():
    """Mount points of the host's cgroup hierarchies."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            before, after = line.split(" - ")
            if after.split()[0] in ("cgroup", "cgroup2"):
                points.append(before.split()[4])
    return points


def read(path):
    with open(path) as f:
        return f.read()


ATTACKS = ["devtmpfs", "open-by-handle", "core-pattern", "sysrq", "sysfs", "remount-root", "host-tty", "kmsg",
           "swap", "modules", "new-proc"]


def test_attacks_from_a_zones_root_fail_and_change_nothing(vcon):
    vcon.zone_up("z1")
    install_probe(vcon, "z1")
    root_dev = os.stat("/").st_dev
    before = {p: read(p) for p in ("/proc/sys/kernel/core_pattern", "/sys/kernel/mm/ksm/run")}
    outcomes = probe(vcon, "z1", *ATTACKS, "block-device", str(os.major(root_dev)), str(os.minor(root_dev)))
    expected = {"devtmpfs", "block-device", "disk-mount", "open-by-handle", "core-pattern", "core-pattern-unmasked",
                "sysrq", "sys-remount", "sys-write", "remount-root", "host-tty", "tiocsti", "kmsg", "syslog",
                "swapoff", "finit-module", "kexec", "proc-unmasked"}
    assert expected <= set(outcomes) <= expected | {"proc-unmasked-sysrq"}, outcomes
    escaped = {name: detail for name, (outcome, detail) in outcomes.items() if outcome != "blocked"}
    assert not escaped, escaped
    # The kernel refused for want of privilege, not by accident of a path.
    assert outcomes["open-by-handle"][1] == "EPERM" and outcomes["swapoff"][1] == "EPERM"
    assert outcomes["core-pattern-unmasked"][1] in ("EACCES", "EPERM", "EROFS"), outcomes
    assert {p: read(p) for p in before} == before
    assert not os.path.exists("/tmp/pwn")
    with open("/proc/self/mounts") as f:
        root = next(line for line in f if line.split()[1] == "/")
    assert root.split()[3].startswith("rw"), root


def test_a_zones_root_is_nobody_on_the_host(vcon):
    vcon.zone_up("z1")
    base = id_base(vcon, "z1")
    assert base >= 0x40000000 and re.search(r"^id_count = 65536$", zone_toml(vcon, "z1"), re.M)
    assert vcon.exec("z1", "id", "-u").stdout.strip() == "0"
    assert vcon.exec("z1", "cat", "/proc/self/uid_map").stdout.split() == ["0", str(base), "65536"]
    rows = vcon.ps("z1")
    assert rows and all(r["host_uid"] == base and r["uid"] == 0 and r["user"] == "root" for r in rows), rows
    # Files keep their on-disk ids: the zone's root writes uid 0, its user 1000 writes 1000.
    vcon.exec("z1", "sh", "-c", "touch /root/by-root; touch /tmp/x; chown 1000:1000 /root/by-root")
    st = os.stat(os.path.join(vcon.zone_dir("z1"), "rootfs", "root", "by-root"))
    assert (st.st_uid, st.st_gid) == (1000, 1000)
    st = os.stat(os.path.join(vcon.zone_dir("z1"), "rootfs", "bin", "busybox"))
    assert st.st_uid == 0
    # No host device node but the harmless ones; none can be made.
    assert sorted(vcon.exec("z1", "ls", "/dev").stdout.split()) == sorted(
        ["console", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty",
         "urandom", "zero"])
    assert vcon.exec("z1", "mknod", "/tmp/sda", "b", "8", "0", check=False).returncode != 0
    assert vcon.exec("z1", "cat", "/proc/1/status").stdout.count("Seccomp:\t2") == 1


def test_each_zone_has_its_own_id_range_and_a_copy_is_refused(vcon):
    vcon.create("a")
    vcon.create("b")
    a, b = id_base(vcon, "a"), id_base(vcon, "b")
    assert abs(a - b) >= 65536
    registry = read("/etc/vcon/subid")
    assert f"{vcon.zone_dir('a')}:{a}:65536" in registry and f"{vcon.zone_dir('b')}:{b}:65536" in registry
    # A zone definition copied from another one claims its range: refused.
    shutil.copy(os.path.join(vcon.zone_dir("a"), "zone.toml"), os.path.join(vcon.zone_dir("b"), "zone.toml"))
    with open(os.path.join(vcon.zone_dir("b"), "zone.toml")) as f:
        text = re.sub(r"^(name|hostname) = 'a'$", r"\1 = 'b'", f.read(), flags=re.M).replace("/zones/a/", "/zones/b/")
    with open(os.path.join(vcon.zone_dir("b"), "zone.toml"), "w") as f:
        f.write(text)
    refused = vcon.run("boot", "b", check=False)
    assert refused.returncode != 0 and vcon.zone_dir("a") in refused.stderr, refused.stderr
    assert "remove id_base" in refused.stderr
    with open(os.path.join(vcon.zone_dir("b"), "zone.toml"), "w") as f:
        f.write(re.sub(r"^id_(base|count) = \d+\n", "", text, flags=re.M))
    vcon.boot("b")
    assert id_base(vcon, "b") != a
    vcon.run("halt", "b")
    vcon.run("destroy", "a")
    assert vcon.zone_dir("a") not in read("/etc/vcon/subid")


def test_the_keyring_of_whoever_booted_the_zone_is_out_of_reach(vcon):
    vcon.create("z1")
    install_probe(vcon, "z1")
    secret = "vcon-secret-" + os.urandom(4).hex()
    booted = subprocess.run([PROBE, "with-key", secret, "--", VCON, "boot", "z1"], env=vcon.env,
                            capture_output=True, text=True, timeout=60)
    vcon.booted.add("z1")
    assert booted.returncode == 0, booted.stderr
    # The test's own session keyring has the key too when it runs exec.
    result = subprocess.run([PROBE, "with-key", secret, "--", VCON, "exec", "z1", "--", "/bin/escape-probe",
                             "keyring", secret], env=vcon.env, capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("keyring blocked"), result.stdout + result.stderr


def test_a_privileged_zone_keeps_seccomp_masks_and_capability_drop(vcon):
    vcon.create("p1", "--privileged")
    vcon.boot("p1")
    wait_for(lambda: ":/# " in vcon.log_text("p1", raw=True), what="prompt")
    install_probe(vcon, "p1")
    assert vcon.ls()["p1"]["isolation"] == "privileged"
    table = vcon.run("ls").stdout
    assert "privileged (no boundary)" in table and "not a security boundary" in table
    assert vcon.exec("p1", "cat", "/proc/self/uid_map").stdout.split() == ["0", "0", "4294967295"]
    # Real root here: only the filter, the masks and the dropped capabilities stand in the way.
    outcomes = probe(vcon, "p1", "open-by-handle", "remount-root", "swap", "modules", "host-tty", "kmsg", "sysrq")
    escaped = {name: detail for name, (outcome, detail) in outcomes.items() if outcome != "blocked"}
    assert not escaped, escaped
    assert outcomes["open-by-handle"][1] == "EPERM"
    mounts = vcon.exec("p1", "cat", "/proc/mounts").stdout
    assert re.search(r"^\S+ /proc/sys proc ro,", mounts, re.M), mounts


def test_cgroups_a_zone_sees_only_its_own_and_limits_hold(vcon):
    vcon.zone_up("z1", "--memory", "64M", "--pids", "40")
    name = cgroup_name(vcon, "z1")
    hierarchies = host_hierarchies()
    for point in hierarchies:
        assert os.path.isdir(os.path.join(point, name)), point
    assert all(line.endswith(":/") for line in vcon.exec("z1", "cat", "/proc/self/cgroup").stdout.split())
    # The zone sees a cgroup v2 tree of its own, also on this hybrid host; v1 stays out of sight.
    mounts = vcon.exec("z1", "cat", "/proc/mounts").stdout
    assert re.search(r"^cgroup2 /sys/fs/cgroup cgroup2 rw,", mounts, re.M), mounts
    assert not re.search(r" cgroup (?!2)", mounts), mounts
    # What systemd does at boot lands in the zone's own subtree, never at the host's top.
    vcon.exec("z1", "mkdir", "/sys/fs/cgroup/init.scope")
    unified = next(p for p in hierarchies if read_fstype(p) == "cgroup2")
    assert not os.path.exists(os.path.join(unified, "init.scope"))
    assert os.path.isdir(os.path.join(unified, name, "init.scope"))
    # Nesting is bounded (the kernel refuses past cgroup.max.depth), and nothing of v1 is the zone's.
    deep = vcon.exec("z1", "sh", "-c", "cd /sys/fs/cgroup && for i in $(seq 40); do mkdir d && cd d || exit 1; done",
                     check=False)
    assert deep.returncode != 0
    for point in hierarchies:
        if read_fstype(point) == "cgroup":
            assert os.stat(os.path.join(point, name)).st_uid == 0
    # The limits bite: 60 background sleeps cannot all start; the host's files say so.
    memory = [p for p in hierarchies if p.endswith("/memory")]
    if memory:
        assert read(os.path.join(memory[0], name, "memory.limit_in_bytes")).strip() == str(64 << 20)
    crowd = vcon.exec("z1", "sh", "-c", "for i in $(seq 60); do sleep 30 & done 2>&1; echo started", check=False)
    assert "can't fork" in crowd.stdout + crowd.stderr or "Resource temporarily" in crowd.stdout + crowd.stderr, crowd
    # exec joins the zone's cgroup.
    assert vcon.exec("z1", "cat", "/proc/self/cgroup").stdout.split()[-1] == "0::/"
    vcon.run("halt", "z1", "--force")
    for point in hierarchies:
        assert not os.path.exists(os.path.join(point, name)), point


def read_fstype(point):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            before, after = line.split(" - ")
            if before.split()[4] == point:
                return after.split()[0]
    return None


def test_with_host_network_the_hosts_cgroups_stay_hidden(vcon):
    vcon.zone_up("h1", "--net", "host")
    # Taking the zone's own cgroup2 mount away shows the empty directory of a
    # /sys bound alone, not the host's cgroup trees below it.
    listing = vcon.exec("h1", "sh", "-c", "umount -l /sys/fs/cgroup && ls -A /sys/fs/cgroup; ls /sys/kernel/debug | wc -l")
    assert listing.stdout.split() == ["0"], listing.stdout


def test_a_pure_cgroup_v2_host(vcon):
    # A private mount namespace where /sys/fs/cgroup is cgroup2 alone: a
    # pure v2 host as far as vcon can tell.
    script = f"""
set -e
umount -R /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup
V={VCON}
$V create v2 >/dev/null
$V boot v2 >/dev/null
$V exec v2 -- cat /proc/self/cgroup
$V exec v2 -- sh -c 'grep " /sys/fs/cgroup " /proc/mounts'
$V exec v2 -- mkdir /sys/fs/cgroup/init.scope
base=$(sed -n 's/^id_base = //p' {vcon.zone_dir('v2')}/zone.toml)
cg=/sys/fs/cgroup/vcon/v2-$(printf %08x $base)
test -d $cg/init.scope && echo delegated-ok
$V halt v2 >/dev/null
test ! -e $cg && echo removed-ok
"""
    result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], env=vcon.env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    cgroups = [line for line in lines if re.match(r"\d+:", line)]
    assert "0::/" in cgroups and all(line.endswith(":/") for line in cgroups), lines
    assert any(re.match(r"cgroup2? /sys/fs/cgroup cgroup2 rw,", line) for line in lines), lines
    assert "delegated-ok" in lines and "removed-ok" in lines


def test_boot_never_follows_a_dev_the_zone_made_a_symlink(vcon):
    vcon.zone_up("z1")
    planted = ["/null", "/zero", "/tty", "/console", "/pts", "/shm", "/ptmx", "/fd", "/urandom"]
    assert not any(os.path.lexists(p) for p in planted)
    # From inside: take vcon's /dev away and leave a symlink to "/" under it.
    vcon.exec("z1", "sh", "-c", "umount -l /dev && rmdir /dev && ln -s / /dev")
    assert os.readlink(os.path.join(vcon.zone_dir("z1"), "rootfs", "dev")) == "/"
    vcon.run("halt", "z1", "--force")
    refused = vcon.run("boot", "z1", check=False)
    assert refused.returncode != 0
    assert "dev" in refused.stderr and "symlink" in refused.stderr, refused.stderr
    assert not any(os.path.lexists(p) for p in planted)
    assert vcon.ls()["z1"]["state"] == "halted" and vcon.monitor_pids() == []
    for point in host_hierarchies():
        assert not os.path.exists(os.path.join(point, cgroup_name(vcon, "z1")))
    # Any of vcon's mount points will do: /proc and /sys the same.
    rootfs = os.path.join(vcon.zone_dir("z1"), "rootfs")
    os.unlink(os.path.join(rootfs, "dev"))
    os.mkdir(os.path.join(rootfs, "dev"))
    os.rmdir(os.path.join(rootfs, "proc"))
    os.symlink("/etc", os.path.join(rootfs, "proc"))
    refused = vcon.run("boot", "z1", check=False)
    assert refused.returncode != 0 and "proc" in refused.stderr and "symlink" in refused.stderr, refused.stderr


def test_destroy_refuses_while_a_zone_lives_without_keeper_or_monitor(vcon):
    vcon.zone_up("z1")
    outside = os.path.join(vcon.top, "outside")
    os.mkdir(outside)
    with open(os.path.join(outside, "keep"), "w") as f:
        f.write("host file\n")
    # Links to host paths in the zone's tree: destroy must remove the links, not follow them.
    vcon.exec("z1", "sh", "-c", f"mkdir -p {outside} && ln -s {outside} /root/out && ln -s / /root/slash")
    init = vcon.ls()["z1"]["init_pid"]
    keeper, monitor = vcon.monitor_pids("vcon-keeper")[0], vcon.monitor_pids()[0]
    os.kill(keeper, signal.SIGKILL)
    os.kill(monitor, signal.SIGKILL)
    wait_for(lambda: not process_alive(monitor) and not process_alive(keeper), what="keeper and monitor gone")
    assert process_alive(init)
    assert vcon.ls()["z1"]["state"] == "orphaned"
    refused = vcon.run("boot", "z1", check=False)
    assert refused.returncode != 0 and "orphaned" in refused.stderr, refused.stderr
    refused = vcon.run("destroy", "z1", check=False)
    assert refused.returncode != 0 and "still has processes" in refused.stderr, refused.stderr
    assert os.path.exists(os.path.join(vcon.zone_dir("z1"), "rootfs", "bin", "busybox"))
    vcon.run("destroy", "z1", "--force")
    assert not process_alive(init)
    assert not os.path.exists(vcon.zone_dir("z1"))
    assert read(os.path.join(outside, "keep")) == "host file\n"


def test_ps_reads_the_zones_passwd_as_data(vcon):
    vcon.zone_up("z1")
    fake = os.path.join(vcon.top, "fakepasswd")
    with open(fake, "w") as f:
        f.write("hostleak:x:0:0::/:/bin/sh\n")
    for plant in ("rm /etc/passwd && mkfifo /etc/passwd", "rm /etc/passwd && ln -s /dev/zero /etc/passwd",
                  f"rm /etc/passwd && ln -s {fake} /etc/passwd"):
        vcon.exec("z1", "sh", "-c", plant)
        started = time.monotonic()
        rows = json.loads(vcon.run("ps", "z1", "--json", timeout=10).stdout)
        assert time.monotonic() - started < 5, plant
        assert rows and all(r["user"] == "0" for r in rows if r["uid"] == 0), (plant, rows)
    # A command line with escape sequences is shown, not obeyed.
    vcon.exec("z1", "sh", "-c", "printf '#!/bin/sh\\nsleep 60\\n' > \"/tmp/$(printf 'x\\033]0;pwned\\007')\"")
    sleeper = subprocess.Popen([VCON, "exec", "z1", "--", "sh", "-c", "sh \"/tmp/$(printf 'x\\033]0;pwned\\007')\""],
                               env=vcon.env)
    try:
        wait_for(lambda: "pwned" in vcon.run("ps", "z1").stdout, what="sleeper")
        table = vcon.run("ps", "z1").stdout
        assert "\x1b" not in table and "\x07" not in table and "x^[]0;pwned^G" in table, repr(table)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_exec_passes_only_stdin_stdout_and_stderr(vcon):
    vcon.zone_up("z1")
    private = vcon.private_dir("out")
    # As the issue tried it: vcon exec Z -- cmd 7</etc/shadow; and stdout a file in a directory closed to others.
    script = (f"exec 7</etc/shadow 8>>{vcon.top}/stray; exec {VCON} exec z1 -- "
              "sh -c 'ls /proc/$$/fd; readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2; true'")
    result = subprocess.run(["sh", "-c", script + f" >{private}/out"], env=vcon.env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    lines = read(os.path.join(private, "out")).split()
    assert lines[:3] == ["0", "1", "2"], lines
    # Never the caller's own fds: pipes vcon relays (no file to reopen through /proc/self/fd).
    assert all(link.startswith("pipe:") for link in lines[3:6]), lines


def test_exec_never_hands_the_zone_the_callers_terminal(vcon):
    vcon.zone_up("z1")
    # stdin not a terminal, but the caller has one: the command must not reach it through /dev/tty.
    command = f"{VCON} exec z1 -- sh -c 'echo INJECTED > /dev/tty; echo tty=$?' </dev/null"
    result = subprocess.run(["script", "-qec", command, "/dev/null"], env=vcon.env, capture_output=True, text=True,
                            timeout=30)
    assert "tty=1" in result.stdout or "tty=2" in result.stdout, result.stdout
    assert "INJECTED" not in result.stdout.replace("echo INJECTED", "")


def test_a_rootfs_other_users_can_reach_is_refused(vcon):
    vcon.zone_up("z1")
    rootfs = os.path.join(vcon.zone_dir("z1"), "rootfs")
    vcon.run("halt", "z1")
    # What the zone's root writes is uid 0 on disk: a setuid-root file for anyone who can reach it.
    open_dir = os.path.join(vcon.top, "open")
    os.mkdir(open_dir, 0o755)
    mine = os.path.join(open_dir, "rootfs")
    subprocess.run(["cp", "-a", rootfs, mine], check=True)
    refused = vcon.run("create", "z2", "--rootfs", mine, check=False)
    assert refused.returncode != 0 and "reachable by other users" in refused.stderr, refused.stderr
    assert "chmod 700" in refused.stderr and "z2" not in vcon.ls()
    os.chmod(open_dir, 0o700)
    vcon.create("z2", "--rootfs", mine)
    vcon.boot("z2")
    vcon.exec("z2", "sh", "-c", "cp /bin/busybox /root/suid && chmod 4755 /root/suid")
    st = os.stat(os.path.join(mine, "root", "suid"))
    assert st.st_uid == 0 and st.st_mode & stat.S_ISUID, "why the check exists"
    vcon.run("halt", "z2")
    os.chmod(open_dir, 0o755)
    refused = vcon.run("boot", "z2", check=False)
    assert refused.returncode != 0 and "reachable by other users" in refused.stderr, refused.stderr
    os.chmod(open_dir, 0o700)


def test_exec_survives_a_zone_that_rearranges_its_cgroups(vcon):
    # Every process moved down the zone's tree and a controller turned on:
    # the zone's top cgroup takes no process any more (cgroup v2's rule).
    # exec joins init's cgroup instead.
    unified = next(p for p in host_hierarchies() if read_fstype(p) == "cgroup2")
    available = read(os.path.join(unified, "cgroup.controllers")).split()
    enabled_here = []
    if available:
        controller = available[0]
        for level in (unified, os.path.join(unified, "vcon")):
            os.makedirs(level, exist_ok=True)
            if controller not in read(os.path.join(level, "cgroup.subtree_control")).split():
                with open(os.path.join(level, "cgroup.subtree_control"), "w") as f:
                    f.write("+" + controller)
                enabled_here.append(level)
    try:
        vcon.zone_up("z1")
        zone_controllers = vcon.exec("z1", "cat", "/sys/fs/cgroup/cgroup.controllers").stdout.split()
        vcon.exec("z1", "sh", "-c", "mkdir /sys/fs/cgroup/jail; for p in $(cat /sys/fs/cgroup/cgroup.procs); do "
                  "echo $p > /sys/fs/cgroup/jail/cgroup.procs 2>/dev/null; done; true")
        if zone_controllers:
            vcon.exec("z1", "sh", "-c", f"echo +{zone_controllers[0]} > /sys/fs/cgroup/cgroup.subtree_control")
        assert vcon.exec("z1", "cat", "/proc/self/cgroup").stdout.split()[-1] == "0::/jail"
        vcon.run("halt", "z1", "--force")
    finally:
        for level in reversed(enabled_here):
            with open(os.path.join(level, "cgroup.subtree_control"), "w") as f:
                f.write("-" + available[0])


def test_exec_closes_the_callers_fds_before_the_command_is_looked_up(vcon, tmp_path):
    vcon.zone_up("z1")
    script = tmp_path / "host-script"
    script.write_text("#!/bin/sh\necho RAN-THE-HOSTS-SCRIPT\n")
    script.chmod(0o755)
    vcon.exec("z1", "ln", "-s", "/proc/self/fd/7", "/bin/evil")
    result = subprocess.run(["sh", "-c", f"exec 7<{script}; exec {VCON} exec z1 -- evil"], env=vcon.env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "RAN-THE-HOSTS-SCRIPT" not in result.stdout, result


def test_exec_of_a_command_that_closes_its_input_early(vcon):
    vcon.zone_up("z1")
    result = subprocess.run(["sh", "-c", f"head -c 1000000 /dev/zero | {VCON} exec z1 -- sh -c "
                             "'exec 0<&-; sleep 0.5; echo done'"], env=vcon.env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0 and result.stdout.strip() == "done", result


def test_ps_shows_a_process_with_thousands_of_groups(vcon):
    vcon.zone_up("z1")
    install_probe(vcon, "z1")
    sleeper = subprocess.Popen([VCON, "exec", "z1", "--", "/bin/escape-probe", "with-groups", "8000", "--",
                                "sleep", "4711"], env=vcon.env)
    try:
        wait_for(lambda: any("sleep 4711" in r["command"] for r in vcon.ps("z1")), what="the sleeper in ps")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_zones_never_share_a_root_file_system(vcon):
    vcon.create("z1")
    theirs = os.path.join(vcon.zone_dir("z1"), "rootfs")
    for rootfs in (theirs, os.path.join(theirs, "root"), os.path.join(vcon.top, "state")):
        refused = vcon.run("create", "z2", "--privileged", "--rootfs", rootfs, "--", "/bin/sh", check=False)
        assert refused.returncode != 0 and ("zones never share" in refused.stderr or
                                            "state directory" in refused.stderr), (rootfs, refused.stderr)
    assert "z2" not in vcon.ls()
