"""vcon console end to end: real terminals (pexpect, tmux) and real zones."""
import contextlib
import json
import os
import re
import signal
import subprocess
import time

import pexpect
import pytest

from conftest import BUILD, FrameClient, MEMORY_SLACK_KIB, VCON, attached, close, said, wait_for

NOTICE_ON = "\x1b[1;7m"  # how vcon console sets its notices apart on a terminal


def attach(vcon, zone, *args, dimensions=(24, 80)):
    child = pexpect.spawn(VCON, ["console", zone, *args], env=vcon.env, encoding="utf-8", timeout=15,
                          dimensions=dimensions)
    attached(child)
    return child


def console_says(vcon, zone, text):
    vcon.exec(zone, "sh", "-c", f"echo '{text}' > /dev/console")


def in_log(vcon, zone, text):
    return text in vcon.log_text(zone, raw=True)


def test_broadcast_to_two_and_ten_clients(vcon, zone):
    clients = [attach(vcon, zone, "-r") for _ in range(10)]
    try:
        console_says(vcon, zone, "to-everyone-1")
        for child in clients:
            child.expect("to-everyone-1")
        assert len(json.loads(vcon.run("who", zone, "--json").stdout)) == 10
    finally:
        close(*clients)


def test_second_writer_is_refused_with_holder(vcon, zone):
    first = attach(vcon, zone)
    try:
        second = subprocess.run([VCON, "console", zone], env=vcon.env, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=15)
        assert second.returncode != 0
        assert re.search(rf"in use by root \(PID {first.pid}\) since \d\d:\d\d:\d\d UTC", second.stderr), second.stderr
        assert "-r to watch" in second.stderr and "--force" in second.stderr
        assert first.isalive()
    finally:
        close(first)


def test_force_takes_over_and_hands_back(vcon, zone):
    a = attach(vcon, zone)
    b = attach(vcon, zone, "--force")
    try:
        a.expect(said(a, f"[forced to read-only by root (PID {b.pid})]"))
        b.expect(said(b, f"[took write access from root (PID {a.pid})]"))
        a.send("echo typed-by-a\r")
        a.expect(said(a, "[read-only: input is not sent]"))
        b.send("echo typed-by-b\r")
        wait_for(lambda: in_log(vcon, zone, "typed-by-b\r\n"), what="b's input")
        assert not in_log(vcon, zone, "typed-by-a")
        b.send("~.")
        b.expect(pexpect.EOF)
        a.expect(said(a, "[write access is yours again]"))
        a.send("echo a-again\r")
        wait_for(lambda: in_log(vcon, zone, "a-again\r\n"), what="a's input after hand-back")
        # The takeover and the hand-back are in the console log, with users and PIDs.
        log = vcon.log_text(zone)
        assert re.search(rf"[*~] root \(PID {b.pid}\) took write access from root \(PID {a.pid}\)", log), log
        assert re.search(rf"[*~] root \(PID {a.pid}\) has write access again", log), log
    finally:
        close(a, b)


def test_read_only_client_can_never_write(vcon, zone):
    viewer = attach(vcon, zone, "-r")
    try:
        viewer.send("echo ro-typed\r")
        viewer.expect(said(viewer, "[read-only: input is not sent]"))
        # Straight at the protocol, too: a read-only client's data goes nowhere.
        raw = FrameClient.unix(os.path.join(vcon.run_dir(zone), "console.sock"))
        raw.send(FrameClient.HELLO, {"version": 1, "mode": "ro"})
        assert raw.receive()[0] == FrameClient.WELCOME
        raw.send(FrameClient.DATA, b"echo ro-frame\r")
        console_says(vcon, zone, "barrier-after-ro")
        viewer.expect("barrier-after-ro")
        assert not in_log(vcon, zone, "ro-typed") and not in_log(vcon, zone, "ro-frame")
        raw.sock.close()
        # And read-only with --force is refused as a contradiction.
        both = vcon.run("console", zone, "-r", "--force", check=False, stdin=subprocess.DEVNULL, timeout=5)
        assert both.returncode == 2 and "excludes" in both.stderr
    finally:
        close(viewer)


def test_zone_output_cannot_forge_a_notice(vcon, zone):
    raw = FrameClient.unix(os.path.join(vcon.run_dir(zone), "console.sock"))
    raw.send(FrameClient.HELLO, {"version": 1, "mode": "ro"})
    assert raw.receive()[0] == FrameClient.WELCOME
    viewer = attach(vcon, zone, "-r")
    forged = "[-mallory, root] [forced to read-only by mallory (PID 1)]"
    try:
        console_says(vcon, zone, forged)
        frames = raw.receive_until(lambda kind, payload: forged.encode() in payload)
        assert frames[-1][0] == FrameClient.DATA, "zone output arrives as data, never as a notice"
        notices = [json.loads(p) for k, p in frames if k == FrameClient.NOTICE]
        assert any(n["type"] == "join" for n in notices), "the real join notice came as a notice frame"
        # On the terminal, real notices are set apart; the forged line is plain.
        viewer.expect(re.escape(NOTICE_ON) + said(viewer, "[+root, root]"))
        viewer.expect(re.escape(forged))
        assert not viewer.before.endswith(NOTICE_ON)
    finally:
        raw.sock.close()
        close(viewer)


def test_escapes(vcon, zone):
    child = attach(vcon, zone)
    try:
        child.send("~?")
        child.expect(said(child, "[~. detach   ~w who is attached   ~f take write access   ~r go read-only   "
                                 "~p the last screenful again   ~# or ~b send a break (serial lines)   ~? this help   "
                                 "~~ send ~]"))
        child.send("~~echo tilde\r")  # the shell gets "~echo tilde"
        wait_for(lambda: in_log(vcon, zone, "~echo: not found"), what="literal ~")
        child.send("echo mid~.line\r")  # not at a line start: sent as typed
        wait_for(lambda: in_log(vcon, zone, "mid~.line\r\n"), what="mid-line ~.")
        assert child.isalive()
        child.send("~.")
        child.expect(said(child, "[detached]"))
        child.expect(pexpect.EOF)
    finally:
        close(child)
    assert child.exitstatus == 0

    other = attach(vcon, zone, "-e", "^")
    try:
        other.send("^.")
        other.expect(pexpect.EOF)
    finally:
        close(other)
    disabled = attach(vcon, zone, "-E")
    try:
        disabled.send("echo esc-off\r~.\r")
        wait_for(lambda: in_log(vcon, zone, "~.: not found"), what="~. sent with -E")
        assert disabled.isalive()
    finally:
        close(disabled)


def test_window_size_reaches_the_zone(vcon, zone):
    child = attach(vcon, zone, dimensions=(40, 120))
    try:
        child.send("stty size\r")
        child.expect(r"\r\n40 120\r\n")
        child.setwinsize(50, 132)  # SIGWINCH to vcon console
        wait_for(lambda: "50 132" in vcon.exec(zone, "stty", "size", "-F", "/dev/console").stdout,
                 what="resize on the console pty")
        child.send("stty size\r")
        child.expect(r"\r\n50 132\r\n")
    finally:
        close(child)


def test_replay_then_live_without_gap_or_duplicate(vcon, zone):
    console_says(vcon, zone, "said-before-attach")
    wait_for(lambda: in_log(vcon, zone, "said-before-attach"), what="early output")
    writer = subprocess.Popen([VCON, "exec", zone, "--", "sh", "-c",
                               "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); echo n=$i; done > /dev/console"],
                              env=vcon.env)
    try:
        wait_for(lambda: in_log(vcon, zone, "n=2000\r"), what="counter under way")
        raw = FrameClient.unix(os.path.join(vcon.run_dir(zone), "console.sock"))
        raw.send(FrameClient.HELLO, {"version": 1, "mode": "ro", "replay": 4000})
        kind, welcome = raw.receive()
        assert kind == FrameClient.WELCOME
        data = b""
        for kind, payload in raw.receive_until(lambda k, p: b"n=20000\r" in p, limit=100000):
            if kind == FrameClient.DATA:
                data += payload
        numbers = [int(n) for n in re.findall(rb"n=(\d+)\r\n", data.split(b"\n", 1)[1])]
        assert numbers[-1] == 20000
        assert numbers == list(range(numbers[0], 20001)), "replay flowed into live output with no gap or repeat"
        assert numbers[0] > 1, "replay started in the middle, as asked (4000 bytes back)"
        raw.sock.close()
    finally:
        writer.wait(timeout=60)
    # --replay on the terminal shows recent output first.
    child = attach(vcon, zone, "-r", "--replay=1000000")
    try:
        child.expect("said-before-attach")
    finally:
        close(child)


def test_stopped_client_slows_nobody(vcon, zone):
    stopped = attach(vcon, zone, "-r")
    watcher = FrameClient.unix(os.path.join(vcon.run_dir(zone), "console.sock"))
    watcher.send(FrameClient.HELLO, {"version": 1, "mode": "ro"})
    assert watcher.receive()[0] == FrameClient.WELCOME
    monitor = vcon.monitor_pids()[0]
    try:
        os.kill(stopped.pid, signal.SIGSTOP)
        flood = subprocess.Popen([VCON, "exec", zone, "--", "sh", "-c",
                                  "dd if=/dev/zero bs=65536 count=480 2>/dev/null | tr '\\0' y > /dev/console; "
                                  "echo flood-over > /dev/console; echo finished"],
                                 env=vcon.env, stdout=subprocess.PIPE)
        watcher.receive_until(lambda kind, payload: b"flood-over" in payload, limit=10 ** 6)
        assert flood.communicate(timeout=120)[0].strip() == b"finished", "the zone was never blocked"
        with open(f"/proc/{monitor}/status") as f:
            rss_kib = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        assert rss_kib < 32 * 1024 + MEMORY_SLACK_KIB, f"monitor memory stays bounded after 30 MiB to a stopped client: {rss_kib} KiB"
        who = json.loads(vcon.run("who", zone, "--json").stdout)
        lost = next(c for c in who if c["pid"] == stopped.pid)["dropped_bytes"]
        assert lost > 20 * 1024 * 1024
        os.kill(stopped.pid, signal.SIGCONT)
        stopped.expect(rf"\[{stopped.token} (\d+) bytes of output dropped: this client fell behind\]", timeout=60,
                       searchwindowsize=4096)
        stopped.expect("flood-over", timeout=60, searchwindowsize=4096)
    finally:
        os.kill(stopped.pid, signal.SIGCONT)
        watcher.sock.close()
        close(stopped)


def behind_a_flood(vcon, zone, count, chunks):
    """`count` read-only clients that read nothing while the zone writes
    `chunks` × 64 KiB and then a last line: the frames each got, up to that
    line."""
    clients = []
    try:
        for _ in range(count):
            client = FrameClient.unix(os.path.join(vcon.run_dir(zone), "console.sock"))
            clients.append(client)
            client.send(FrameClient.HELLO, {"version": 1, "mode": "ro"})
            assert client.receive()[0] == FrameClient.WELCOME
        flood = vcon.exec(zone, "sh", "-c", f"dd if=/dev/zero bs=65536 count={chunks} 2>/dev/null | tr '\\0' y "
                                            "> /dev/console; echo flood-over > /dev/console; echo finished")
        assert flood.stdout.strip() == "finished"
        return [client.receive_until(lambda kind, payload: b"flood-over" in payload, limit=10 ** 5)
                for client in clients]
    finally:
        for client in clients:
            client.sock.close()


def drops(frames):
    """Where the `dropped` notices are among frames."""
    return [i for i, (kind, payload) in enumerate(frames)
            if kind == FrameClient.NOTICE and json.loads(payload).get("type") == "dropped"]


def data_bytes(frames):
    return sum(len(payload) for kind, payload in frames if kind == FrameClient.DATA)


def after_falling_behind(vcon, zone, others):
    """A client that reads nothing while the zone writes 8 MiB and then a
    last line, with `others` more clients like it attached: the console
    bytes it got after its last `dropped` notice, once it is checked that
    everything came or was counted."""
    frames = behind_a_flood(vcon, zone, 1 + others, 128)[0]
    notices = drops(frames)
    assert notices, "told that output was dropped"
    lost = sum(json.loads(frames[i][1])["bytes"] for i in notices)
    assert data_bytes(frames) + lost >= 128 * 65536, "every byte came or was counted as dropped"
    return data_bytes(frames[notices[-1] + 1:])


def test_a_client_that_fell_behind_is_told_and_shown_how_the_flood_ended(vcon, zone):
    """One of two: it rests (RestPolicy's unit tests), keeping only the newest
    16 KiB meanwhile, and its queue fills again between rests: after its
    last notice no more than that came, the end of the flood last."""
    after = after_falling_behind(vcon, zone, 1)
    assert after <= (16 + 256 + 64) * 1024, f"after the notice only the newest output came: {after} bytes"


def test_a_client_alone_that_fell_behind_keeps_its_whole_queue_and_does_not_rest(vcon, zone):
    """Alone, it costs the zone nothing to go on at its own pace: it skips
    to the newest 256 KiB it holds (the end of the flood among them) rather
    than to the newest 16 KiB a resting client keeps."""
    after = after_falling_behind(vcon, zone, 0)
    assert 128 * 1024 < after <= (256 + 64) * 1024, f"{after} bytes after the notice"


def held_before_the_first_drop(vcon, zone, count):
    """`count` clients that read nothing while the zone floods its console:
    the console bytes each got before its first `dropped` notice (what its
    socket held and the write in flight when it fell behind)."""
    return [data_bytes(frames[:drops(frames)[0]]) for frames in behind_a_flood(vcon, zone, count, 64)]


def test_many_clients_that_fall_behind_share_what_they_are_held(vcon, zone):
    """A client alone may fall its socket's whole buffer (~200 KiB) and its
    queue behind before it drops output; twenty share a budget
    (proto::share_of: 2 MiB, ~52 KiB of socket and of queue each), so that
    each costs the machine less. Before its first notice a client gets what
    its socket held and the rest of the write in flight (at most 64 KiB):
    64 to 84 KiB here; 256 KiB each without the share."""
    for each in held_before_the_first_drop(vcon, zone, 20):
        assert each <= 176 * 1024, f"{each} bytes came before the first drop: more than a twentieth of the budget allows"


def test_kill_9_of_the_writer_frees_the_lock(vcon, zone):
    writer = attach(vcon, zone)
    viewer = attach(vcon, zone, "-r")
    try:
        os.kill(writer.pid, signal.SIGKILL)
        viewer.expect(said(viewer, "[-root, root]"))
        successor = attach(vcon, zone)  # no --force needed
        successor.send("echo successor-writes\r")
        wait_for(lambda: in_log(vcon, zone, "successor-writes\r\n"), what="new writer")
        close(successor)
        assert viewer.isalive()
    finally:
        close(writer, viewer)


@contextlib.contextmanager
def proxy_welcomed(vcon, zone):
    """`vcon proxy ZONE` on pipes, a read-write hello said and welcomed:
    (the process, a FrameClient over its stdin and stdout). After the block
    its stdin is closed and it is waited for (killed if it does not end)."""
    proxy = subprocess.Popen([VCON, "proxy", zone], env=vcon.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        client = FrameClient(proxy.stdout.read1, lambda b: (proxy.stdin.write(b), proxy.stdin.flush()))
        client.send(FrameClient.HELLO, {"version": 1, "mode": "rw"})
        kind, welcome = client.receive()
        assert kind == FrameClient.WELCOME and json.loads(welcome)["mode"] == "rw"
        yield proxy, client
    finally:
        with contextlib.suppress(BrokenPipeError):  # it may have ended already
            proxy.stdin.close()
        try:
            proxy.wait(timeout=10)
        finally:
            if proxy.poll() is None:
                proxy.kill()
                proxy.wait()


def test_proxy_over_a_pipe(vcon, zone):
    with proxy_welcomed(vcon, zone) as (proxy, client):
        client.send(FrameClient.DATA, b"echo through-$((40+2))\r")
        client.receive_until(lambda k, p: k == FrameClient.DATA and b"through-42" in p)
    assert proxy.returncode == 0


def test_proxy_whose_reader_went_away_ends_without_dying_of_sigpipe(vcon, zone):
    # As when ssh goes away under `vcon proxy`: console output it relays
    # finds no reader (unless it saw the reader go first, and ended then:
    # then what we type finds no proxy).
    with proxy_welcomed(vcon, zone) as (proxy, client):
        proxy.stdout.close()
        with contextlib.suppress(BrokenPipeError):
            client.send(FrameClient.DATA, b"echo after-the-reader-left\r")
        proxy.wait(timeout=10)  # it ends: what it relays has nowhere to go
    assert proxy.returncode == 0, f"ended by signal {-proxy.returncode}" if proxy.returncode < 0 else proxy.returncode


def test_proxy_ends_when_its_reader_goes_even_if_the_console_is_quiet(vcon, zone):
    with proxy_welcomed(vcon, zone) as (proxy, _):
        proxy.stdout.close()  # and nothing more is typed: the zone stays quiet
        proxy.wait(timeout=10)
    assert proxy.returncode == 0
    wait_for(lambda: json.loads(vcon.run("who", zone, "--json").stdout) == [], what="its connection gone")


def test_console_over_ssh_transport(vcon, zone):
    fake_ssh = os.path.join(vcon.top, "fake-ssh")
    with open(fake_ssh, "w") as f:
        f.write('#!/bin/sh\n# stands in for ssh: drop the host, run the command here\nshift\nexec "$@"\n')
    os.chmod(fake_ssh, 0o755)
    env = dict(vcon.env, VCON_SSH=fake_ssh, PATH=f"{BUILD}:{os.environ['PATH']}")
    child = pexpect.spawn(VCON, ["console", "--host", "otherhost", zone], env=env, encoding="utf-8", timeout=15)
    try:
        attached(child, r"attached to z1, read-write")
        child.send("echo over-ssh-$((1+1))\r")
        child.expect("over-ssh-2")
        child.send("~.")
        child.expect(pexpect.EOF)
    finally:
        close(child)


def test_who_lists_clients(vcon, zone):
    writer = attach(vcon, zone)
    viewer = attach(vcon, zone, "-r")
    try:
        who = {c["pid"]: c for c in json.loads(vcon.run("who", zone, "--json").stdout)}
        assert who[writer.pid]["mode"] == "rw" and who[viewer.pid]["mode"] == "ro"
        assert all(c["user"] == "root" and c["dropped_bytes"] == 0 for c in who.values())
        table = vcon.run("who", zone).stdout
        assert re.search(rf"root\s+{writer.pid}\s+rw", table) and re.search(rf"root\s+{viewer.pid}\s+ro", table)
    finally:
        close(writer, viewer)


def test_stays_attached_across_reboot_and_halt(vcon, zone):
    child = attach(vcon, zone)
    leaver = attach(vcon, zone, "-r", "-d")
    try:
        vcon.run("reboot", zone)
        child.expect(said(child, "[zone z1 rebooting]"))
        child.expect(said(child, "[zone z1 booted]"))
        child.expect("vcon: zone z1 is up")
        child.send("echo after-reboot\r")
        child.expect("after-reboot")
        vcon.run("halt", zone)
        for c in (child, leaver):
            c.expect(said(c, "[zone z1 halted]"))
        leaver.expect(pexpect.EOF)  # -d: gone
        child.expect(said(child, "[waiting for zone z1 to boot; ~. to leave]"))
        vcon.boot(zone)
        attached(child, r"attached to z1, read-write")
        child.expect("vcon: zone z1 is up")
        child.send("~.")
        child.expect(pexpect.EOF)
    finally:
        close(child, leaver)
    assert leaver.exitstatus == 0


def tmux(*args):
    return subprocess.run(["tmux", "-L", "vcon-test", *args], capture_output=True, text=True, check=True)


@pytest.mark.parametrize("leave", ["escape", "sigterm", "halt"])
def test_terminal_is_restored(vcon, zone, leave):
    """In a real terminal (tmux): the settings after vcon console equal those before."""
    before, during, after = (os.path.join(vcon.top, n) for n in ("before", "during", "after"))
    env = " ".join(f"{k}={vcon.env[k]}" for k in ("VCON_STATE_DIR", "VCON_RUN_DIR", "VCON_LOG_DIR"))
    # `< /dev/tty`: a background job of a non-interactive shell would get /dev/null.
    script = (f"stty -g > {before}; env {env} {VCON} console -d {zone} < /dev/tty & pid=$!; "
              f"echo $pid > {vcon.top}/pid; wait $pid; stty -g > {after}; sleep 60")
    session = f"restore-{os.getpid()}-{leave}"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "sh", "-c", script)
    try:
        wait_for(lambda: os.path.exists(f"{vcon.top}/pid") and "attached" in tmux("capture-pane", "-p", "-t", session).stdout,
                 what="console attached in tmux")
        pane_tty = tmux("display-message", "-p", "-t", session, "#{pane_tty}").stdout.strip()
        with open(during, "w") as f:
            subprocess.run(["stty", "-g"], stdin=open(pane_tty), stdout=f, check=True)
        assert open(during).read() != open(before).read(), "raw mode while attached"
        if leave == "escape":
            tmux("send-keys", "-t", session, "Enter")
            tmux("send-keys", "-t", session, "~.")
        elif leave == "sigterm":
            os.kill(int(open(f"{vcon.top}/pid").read()), signal.SIGTERM)
        else:
            vcon.run("halt", zone)
        wait_for(lambda: os.path.exists(after) and os.path.getsize(after) > 0, what="vcon console to end")
        assert open(before).read() == open(after).read()
    finally:
        subprocess.run(["tmux", "-L", "vcon-test", "kill-session", "-t", session], capture_output=True)


def test_malformed_messages_get_errors_and_the_monitor_survives(vcon, zone):
    socket_path = os.path.join(vcon.run_dir(zone), "console.sock")
    for hello in ({"version": "one", "mode": "control"}, {"version": 1, "mode": "ro", "replay": "lots"},
                  {"version": 1, "mode": "rw", "force": "yes"}, {"version": 1, "mode": "rw", "rows": -3, "cols": 80}):
        client = FrameClient.unix(socket_path)
        client.send(FrameClient.HELLO, hello)
        kind, message = client.receive()
        assert kind == FrameClient.ERROR, (hello, message)
        client.sock.close()
    control = FrameClient.unix(socket_path)
    control.send(FrameClient.HELLO, {"version": 1, "mode": "control"})
    assert control.receive()[0] == FrameClient.WELCOME
    control.send(FrameClient.REQUEST, {"op": "halt", "grace": "soon"})
    kind, message = control.receive()
    assert kind == FrameClient.ERROR and b"'grace' must be a whole number" in message
    control.send(FrameClient.REQUEST, {"op": "status"})
    kind, status = control.receive()
    assert kind == FrameClient.RESPONSE and json.loads(status)["state"] == "running"
    control.sock.close()
    writer = attach(vcon, zone)
    try:
        raw = FrameClient.unix(socket_path)
        raw.send(FrameClient.HELLO, {"version": 1, "mode": "rw", "force": True})
        assert raw.receive()[0] == FrameClient.WELCOME
        raw.send(FrameClient.RESIZE, {"rows": "tall"})
        frames = raw.receive_until(lambda k, p: k == FrameClient.NOTICE and b"'rows' must be" in p)
        raw.sock.close()
        writer.expect(said(writer, "[write access is yours again]"))
        assert vcon.ls()[zone]["state"] == "running"
    finally:
        close(writer)


def test_a_crowd_of_400_is_listed_by_who_and_its_notices_stay_small(vcon, zone):
    """400 read-only clients that read nothing. Every join and leave is a
    notice to each of them; when each named the whole crowd, they added up
    to the square of the crowd (the first client was sent 560 KB) and the
    monitor dropped the early ones for not reading. And `who`'s answer
    (about 200 bytes a client) was larger than a client's control limit,
    so `vcon who` got no answer at all."""
    clients = []
    try:
        for _ in range(400):
            client = FrameClient.unix(os.path.join(vcon.run_dir(zone), "console.sock"))
            clients.append(client)
            client.send(FrameClient.HELLO, {"version": 1, "mode": "ro"})
        for client in clients:  # each welcomed: all attached
            assert client.receive()[0] == FrameClient.WELCOME
        who = vcon.run("who", zone, "--json")
        assert len(json.loads(who.stdout)) == 400, "every client still attached, and listed"
        table = vcon.run("who", zone).stdout.splitlines()
        assert len(table) == 401 and table[0].split() == ["USER", "PID", "MODE", "SINCE", "DROPPED"]
        first = clients[0]
        notices = [json.loads(payload) for kind, payload in
                   first.receive_until(lambda kind, payload: kind == FrameClient.NOTICE and
                                       json.loads(payload).get("more") == 400 - 16)]
        last = notices[-1]
        assert last["type"] == "join" and len(last["clients"]) == 16, last
    finally:
        for client in clients:
            client.sock.close()
    wait_for(lambda: json.loads(vcon.run("who", zone, "--json").stdout) == [], what="the crowd gone")
