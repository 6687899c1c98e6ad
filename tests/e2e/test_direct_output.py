"""Direct output (opt-in, VCON_DIRECT=1): the monitor writes the console's
output to an attached client's terminal itself (docs/monitor.md). A client
on a terminal that asks gets it; what a hostile client passes as its
"terminal" is checked."""
import array
import json
import mmap
import os
import socket
import struct
import subprocess
import tempfile
import time

import pexpect
import pytest

from conftest import VCON, attached, close, said, wait_for


def who(vcon, zone):
    return json.loads(vcon.run("who", zone, "--json").stdout)


class FdClient:
    """An attached client speaking the protocol by hand, able to pass fds."""

    def __init__(self, vcon, zone):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.path.join(vcon.run_dir(zone), "console.sock"))
        self.sock.settimeout(15)
        self.buffer, self.fds = b"", []
        self.send(1, {"version": 1, "mode": "ro"})
        assert self.receive()[0] == 2  # welcome

    def send(self, kind, payload, fd=None):
        payload = json.dumps(payload).encode()
        data = (len(payload) + 1).to_bytes(4, "big") + bytes([kind]) + payload
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))] if fd is not None else []
        self.sock.sendmsg([data], ancillary)

    def receive(self):
        while True:
            if len(self.buffer) >= 4:
                length = int.from_bytes(self.buffer[:4], "big")
                if len(self.buffer) >= 4 + length:
                    frame, self.buffer = self.buffer[4:4 + length], self.buffer[4 + length:]
                    return frame[0], frame[1:]
            data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    self.fds += array.array("i", payload[:len(payload) - len(payload) % 4]).tolist()
            if not data:
                raise EOFError("monitor closed the stream")
            self.buffer += data

    def direct_answer(self, fd):
        """Asks for direct output with `fd` as the terminal; the monitor's "direct" notice."""
        self.send(8, {"op": "direct", "token": "#test"}, fd)
        while True:
            kind, payload = self.receive()
            if kind == 6 and json.loads(payload).get("type") == "direct":
                return json.loads(payload)

    def close(self):
        self.sock.close()
        for fd in self.fds:
            os.close(fd)


def direct_env(vcon):
    return dict(vcon.env, VCON_DIRECT="1")


def test_a_terminal_client_gets_direct_output_and_a_pipe_does_not(vcon, zone):
    child = pexpect.spawn(VCON, ["console", zone], env=direct_env(vcon), encoding="utf-8", timeout=15)
    piped = subprocess.Popen([VCON, "console", "-r", zone], env=direct_env(vcon), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE)
    default = pexpect.spawn(VCON, ["console", "-r", zone], env=vcon.env, encoding="utf-8", timeout=15)
    try:
        attached(child)
        attached(default)
        wait_for(lambda: len(who(vcon, zone)) == 3, what="the three clients")
        modes = {c["pid"]: c["direct"] for c in who(vcon, zone)}
        assert modes == {child.pid: True, piped.pid: False, default.pid: False}, modes
        # Typing, echo, notices and in-session commands work as before.
        child.send("echo direct-$((6*7))\r")
        child.expect("direct-42")
        vcon.exec(zone, "sh", "-c", "echo from-the-zone > /dev/console")
        child.expect("from-the-zone")
        child.send("\r~w")
        child.expect(said(child, "[attached: root (PID"))
        child.send("\r~p")
        child.expect(said(child, "[the last screenful again]"))
        child.expect("from-the-zone")
        child.send("\r~.")
        child.expect(rf"\[{child.token} detached\]")
        child.expect(pexpect.EOF)
        child.wait()
        assert child.exitstatus == 0
    finally:
        piped.kill()
        piped.wait()
        close(child, default)


def test_what_a_client_passes_as_its_terminal_is_checked(vcon, zone, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    master, slave = os.openpty()
    read_only_slave = os.open(os.ttyname(slave), os.O_RDONLY | os.O_NOCTTY)
    files = [os.open(victim, os.O_RDWR), os.open("/dev/null", os.O_WRONLY), master, read_only_slave]
    client = FdClient(vcon, zone)
    try:
        refusals = {
            None: "no terminal came with the request",
            files[0]: "not a character device",
            files[1]: "not a terminal",
            master: "a pty master",
            read_only_slave: "read-only",
        }
        for fd, why in refusals.items():
            answer = client.direct_answer(fd)
            assert answer["ok"] is False and why in answer["text"], (fd, answer)
        vcon.exec(zone, "sh", "-c", "echo after-the-refusals > /dev/console")
        assert victim.read_text() == "precious\n"
        assert all(not c["direct"] for c in who(vcon, zone))
        # A real terminal it may write to: the monitor writes there, and keeps
        # the bookmark page, which the client cannot shrink under it.
        answer = client.direct_answer(slave)
        assert answer["ok"] is True and client.fds, answer
        bookmark = client.fds[-1]
        with pytest.raises(OSError):
            os.ftruncate(bookmark, 0)
        page = mmap.mmap(bookmark, 4096, prot=mmap.PROT_READ)
        start = struct.unpack("<Q", page[:8])[0]
        client.send(8, {"op": "resume"})
        vcon.exec(zone, "sh", "-c", "echo straight-to-the-tty > /dev/console")
        seen = b""
        deadline = time.monotonic() + 10
        while b"straight-to-the-tty" not in seen:
            assert time.monotonic() < deadline, seen
            seen += os.read(master, 4096)
        wait_for(lambda: struct.unpack("<Q", page[:8])[0] > start, what="the bookmark moves on")
        page.close()
        assert any(c["direct"] for c in who(vcon, zone))
        assert vcon.exec(zone, "echo", "alive").stdout.strip() == "alive"
    finally:
        client.close()
        for fd in files + [slave]:
            os.close(fd)


def test_a_stopped_terminal_loses_output_not_the_zone(vcon, zone):
    """The monitor writes to a terminal nobody reads: it drops the oldest,
    says so there, and the zone never waits."""
    child = pexpect.spawn(VCON, ["console", "-r", zone], env=direct_env(vcon), encoding="utf-8", timeout=60)
    try:
        attached(child)
        wait_for(lambda: any(c["direct"] for c in who(vcon, zone)), what="direct output")
        flood = vcon.run("exec", zone, "--", "sh", "-c",
                         "dd if=/dev/zero bs=65536 count=160 2>/dev/null | tr '\\0' y > /dev/console; "
                         "echo flood-over > /dev/console; echo finished", timeout=120)
        assert flood.stdout.strip() == "finished"
        lost = who(vcon, zone)[0]["dropped_bytes"]
        assert lost > 4 * 1024 * 1024, lost
        child.expect(said(child, "[") + r"\d+ bytes of output dropped: this client fell behind\]",
                     searchwindowsize=4096)
        child.expect("flood-over", searchwindowsize=4096)
    finally:
        close(child)


def test_a_read_write_terminal_client_is_direct_by_default_and_the_monitor_reads_what_is_typed(vcon, zone):
    """Direct input: the monitor reads a read-write client's terminal itself (the client has let go of it);
    typing, escapes (handed back to the client), the write lock and a detach that gives the terminal back to
    the shell all behave as through the client."""
    shell = pexpect.spawn("bash", ["--norc", "--noprofile"], env=dict(vcon.env, PS1="shell$ "), encoding="utf-8",
                          timeout=15)
    viewer = None
    try:
        shell.expect_exact("shell$ ")
        shell.sendline(f"{VCON} console {zone}")
        attached(shell)
        wait_for(lambda: [c.get("direct_input") for c in who(vcon, zone)] == [True], what="direct input")
        client = who(vcon, zone)[0]["pid"]
        # The client closed its own reader of the terminal (fds 0-2 it only keeps): only the monitor reads it.
        tty = os.readlink(f"/proc/{client}/fd/0")
        extra = [fd for fd in os.listdir(f"/proc/{client}/fd") if int(fd) > 2 and
                 os.readlink(f"/proc/{client}/fd/{fd}") == tty]
        assert extra == [], extra
        shell.send("echo typed-$((6*7))\r")
        shell.expect("typed-42")
        shell.send("\r~w")
        shell.expect(said(shell, "[attached: root (PID"))
        # Another client forcing write access: the typist's keys go nowhere, and it is told so.
        viewer = pexpect.spawn(VCON, ["console", "--force", zone], env=vcon.env, encoding="utf-8", timeout=15)
        attached(viewer)
        shell.expect(said(shell, "[forced to read-only by root (PID"))
        shell.send("echo not-sent-$((2*3))\r")
        shell.expect(said(shell, "[read-only: input is not sent]"))
        viewer.send("\r~r")
        shell.expect(said(shell, "[write access is yours again]"))
        shell.send("\r~.")
        shell.expect(rf"\[{shell.token} detached\]")
        shell.expect_exact("shell$ ")
        # The terminal is the shell's again: what is typed now runs there, not in the zone.
        shell.sendline("echo back-in-the-shell-$((20+2))")
        shell.expect("back-in-the-shell-22")
        shell.expect_exact("shell$ ")
        log = vcon.log_text(zone)
        assert "typed-42" in log and "not-sent-6" not in log and "back-in-the-shell" not in log, log[-2000:]
    finally:
        close(shell, *([viewer] if viewer else []))


def test_direct_input_sees_the_escape_character_it_is_given_and_can_be_turned_off(vcon, zone):
    child = pexpect.spawn(VCON, ["console", "-e", "^]", zone], env=vcon.env, encoding="utf-8", timeout=15)
    off = None
    try:
        attached(child)
        wait_for(lambda: any(c.get("direct_input") for c in who(vcon, zone)), what="direct input")
        child.send("\r~.\r")  # ~ is not the escape here: the zone's shell gets "~."
        child.expect(r"~\.: not found")
        child.send("\r\x1d.")
        child.expect(rf"\[{child.token} detached\]")
        child.expect(pexpect.EOF)
        off = pexpect.spawn(VCON, ["console", zone], env=dict(vcon.env, VCON_DIRECT="0"), encoding="utf-8",
                            timeout=15)
        attached(off)
        wait_for(lambda: len(who(vcon, zone)) == 1, what="one client left")
        assert who(vcon, zone)[0]["direct"] is False
        off.send("echo through-the-client-$((4*4))\r")
        off.expect("through-the-client-16")
    finally:
        close(child, *([off] if off else []))


def test_input_is_only_read_from_a_terminal_passed_for_reading(vcon, zone):
    master, slave = os.openpty()
    write_only = os.open(os.ttyname(slave), os.O_WRONLY | os.O_NOCTTY)
    client = FdClient(vcon, zone)
    try:
        client.send(8, {"op": "direct", "token": "#test", "input": True}, write_only)
        while True:
            kind, payload = client.receive()
            if kind == 6 and json.loads(payload).get("type") == "direct":
                answer = json.loads(payload)
                break
        assert answer["ok"] is False and answer["input"] is False and "write-only" in answer["text"], answer
        assert not any(c.get("direct_input") for c in who(vcon, zone))
        for bad in ({"escape": 256}, {"escape": "~"}, {"input": "yes"}):
            client.send(8, dict({"op": "direct", "token": "#test"}, **bad), slave)
            while True:
                kind, payload = client.receive()
                if kind == 6:
                    notice = json.loads(payload)
                    if notice.get("type") == "info":
                        assert "escape" in notice["text"] or "input" in notice["text"], notice
                        break
        assert vcon.exec(zone, "echo", "alive").stdout.strip() == "alive"
    finally:
        client.close()
        for fd in (master, slave, write_only):
            os.close(fd)
