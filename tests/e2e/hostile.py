"""Hostile monitor clients, run as a given user by test_monitor_abuse.py.

    hostile.py MODE COUNT SOCKET [ARG]

MODE:
  hold      COUNT clients say hello in mode ARG ("ro", "rw", "control") with
            a full replay, and then never read
  half      COUNT clients send half of a 1 MiB frame (ARG bytes of it), no hello
  silent    COUNT clients connect and say nothing
  churn     one client after another, COUNT in all, attaches (mode ARG;
            "rw-force": read-write with force), reads its welcome (gives up
            after 0.2 s) and leaves; CONNECTED is how many were welcomed
  logs      COUNT clients say a control hello, then ask for the log ARG times
            each, and never read (each answer comes with an open fd)
  acts      one client attaches read-write and gives write access up and
            takes it again, COUNT requests in all, each after the answer to
            the one before; then, after 2.5 s, one more
  ctls      one control client sends COUNT ctl commands ARG, one at a time;
            then, after 2.5 s, one more
  whos      the same with COUNT who requests
  fds       COUNT clients each pass descriptors of the file ARG (the first
            one, the others three) with half a frame header, and nothing more:
            nobody takes them. This process holds its own for as long as it
            lives and never forks: a descriptor of a file whose close never
            returns (tests/hostile/stuck_fs) would hang a child at its exec

acts, ctls and whos print "answers OK REFUSED" (REFUSED: answered "too many") and
end.

Prints "ready CONNECTED REFUSED" once all are made (REFUSED: connect failed
outright), then waits for a line on stdin: "closed" prints how many of the
connections the monitor has closed by now (read EOF or reset); "quit" ends.
"""
import json
import os
import select
import socket
import sys
import time


def frame(kind, payload):
    return (len(payload) + 1).to_bytes(4, "big") + bytes([kind]) + payload


def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("the monitor closed the connection")
        data += chunk
    return data


def read_frame(s):
    body = read_exactly(s, int.from_bytes(read_exactly(s, 4), "big"))
    return body[0], body[1:]


def acts(mode, count, path, arg):
    """Requests one at a time, each answered: attached, a `take` gets a
    write notice, a `release` an info notice, one refused an info notice
    saying why; in control mode a ctl gets a response or an error."""
    ok = refused = 0
    holding = True  # attached read-write with nobody else there
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        hello = {"version": 1, "mode": "rw" if mode == "acts" else "control", "replay": 0}
        s.sendall(frame(1, json.dumps(hello).encode()))
        if mode == "acts":
            while read_frame(s)[0] != 2:  # the welcome
                pass
        for i in range(count + 1):
            if i == count:
                time.sleep(2.5)
            if mode == "acts":
                s.sendall(frame(8, json.dumps({"op": "release" if holding else "take"}).encode()))
                while True:  # its answer: an info notice, or the write notice of a take
                    kind, payload = read_frame(s)
                    notice = json.loads(payload) if kind == 6 else {}
                    if notice.get("type") in ("info", "write"):
                        break
                text = notice.get("text", "")
                if notice.get("type") == "write":
                    holding = True
                elif text.startswith("read-only now"):
                    holding = False
            elif mode == "whos":
                s.sendall(frame(8, json.dumps({"op": "who"}).encode()))
                kind, payload = read_frame(s)
                text = payload.decode() if kind == 7 else ""
            else:
                s.sendall(frame(8, json.dumps({"op": "ctl", "command": arg}).encode()))
                kind, payload = read_frame(s)
                text = payload.decode() if kind == 7 else ""
            if "too many" in text:
                refused += 1
            else:
                ok += 1
    print("answers", ok, refused, flush=True)


def main():
    mode, count, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else ""
    sockets, refused, held = [], 0, []
    if mode in ("acts", "ctls", "whos"):
        return acts(mode, count, path, arg)
    welcomed = 0
    if mode == "churn":
        for _ in range(count):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(0.2)  # a read-write hello waiting for its turn: given up
                s.connect(path)
                hello = {"version": 1, "mode": arg.split("-")[0], "replay": 0, "force": arg.endswith("-force")}
                s.sendall(frame(1, json.dumps(hello).encode()))
                try:
                    if s.recv(4096):  # the welcome
                        welcomed += 1
                except TimeoutError:
                    pass
        count = 0
    for _ in range(count):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # read nothing, hold little
        try:
            s.connect(path)
        except OSError:
            refused += 1
            s.close()
            continue
        s.setblocking(False)
        try:
            if mode == "hold":
                hello = {"version": 1, "mode": arg, "replay": 1 << 30}
                s.send(frame(1, json.dumps(hello).encode()))
            elif mode == "logs":
                s.setblocking(True)
                s.sendall(frame(1, json.dumps({"version": 1, "mode": "control"}).encode()) +
                          frame(8, json.dumps({"op": "log"}).encode()) * int(arg))
                s.setblocking(False)
            elif mode == "half":
                s.send((1 << 20).to_bytes(4, "big") + bytes([1]) + b"x" * (int(arg) - 5))
            elif mode == "fds":
                passed = [os.open(arg, os.O_RDONLY) for _ in range(1 if not sockets else 3)]
                held.extend(passed)
                socket.send_fds(s, [b"\0"], passed)
        except OSError:
            pass
        sockets.append(s)
    print("ready", len(sockets) or welcomed, refused, flush=True)
    for line in sys.stdin:
        if line.strip() == "closed":
            closed = 0
            for s in sockets:
                readable, _, _ = select.select([s], [], [], 0)
                if not readable:
                    continue
                try:
                    # Drain whatever the monitor sent; EOF or a reset means it closed us.
                    while True:
                        data = s.recv(1 << 16)
                        if not data:
                            closed += 1
                            break
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
            print("closed", closed, flush=True)
        elif line.strip() == "quit":
            break


if __name__ == "__main__":
    main()
