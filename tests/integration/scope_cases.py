#!/usr/bin/env python3
"""Small programs for the scope tests and their recorded fixtures.

  scope_cases.py two-children-reset   pause until SIGUSR1, listen, let a forked
                                      child connect twice and reset both before
                                      accept(), then accept and recv each
  scope_cases.py twin quiet|reset     the same 127.0.0.1:40000 -> 127.0.0.1:7000
                                      tuple: "quiet" pauses for SIGUSR1,
                                      connects, prints "connected", and on a
                                      second SIGUSR1 closes in order; "reset"
                                      (run meanwhile in another namespace)
                                      resets its server side, prints "reset
                                      done"

  scope_cases.py fork-connect N       pause, then fork N children one after the
                                      other, each connecting to a closed port
  scope_cases.py owner-killed         a forked server accepts and holds the
                                      connection; after SIGUSR1 the client
                                      SIGKILLs it, reads EOF, sends twice (EPIPE)

Each prints "# paused" on stderr when it waits for SIGUSR1 (scripts/lib.sh),
with "server pid N" when it has a server child.
"""
import os
import signal
import socket
import struct
import sys
import time


def pause():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print("# paused", file=sys.stderr, flush=True)
    signal.sigwait({signal.SIGUSR1})


def linger_zero(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def two_children_reset():
    pause()
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    port = lst.getsockname()[1]
    if os.fork() == 0:
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", port))
            linger_zero(s)
            s.close()
        os._exit(0)
    os.wait()
    for _ in range(2):
        c, _ = lst.accept()
        try:
            c.recv(1)
        except OSError as e:
            print("recv", e.errno, flush=True)
        c.close()


def twin(reset):
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", 7000))
    lst.listen(1)
    if not reset:
        pause()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 40000))
    s.connect(("127.0.0.1", 7000))
    c, _ = lst.accept()
    s.send(b"x")
    if reset:
        time.sleep(0.1)
        linger_zero(c)
        c.close()
        time.sleep(0.2)
        print("reset done", flush=True)
        return
    c.recv(1)
    # Hold the connection until the twin in the other namespace has been reset.
    print("connected", flush=True)
    signal.sigwait({signal.SIGUSR1})
    c.close()
    s.recv(1)
    s.close()
    time.sleep(0.3)


def fork_connect(n):
    pause()
    for _ in range(n):
        if os.fork() == 0:
            try:
                socket.create_connection(("127.0.0.1", 9))
            except OSError:
                pass
            os._exit(0)
        os.wait()


def owner_killed():
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    pid = os.fork()
    if pid == 0:
        c, _ = lst.accept()
        time.sleep(60)
        os._exit(0)
    s = socket.create_connection(("127.0.0.1", lst.getsockname()[1]))
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print("# paused: server pid", pid, file=sys.stderr, flush=True)
    signal.sigwait({signal.SIGUSR1})
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    time.sleep(0.2)
    print("recv", s.recv(10), flush=True)
    s.send(b"x")
    time.sleep(0.2)
    try:
        s.send(b"y")
    except OSError as e:
        print("send", e.errno, flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "two-children-reset":
        two_children_reset()
    elif mode == "fork-connect":
        fork_connect(int(sys.argv[2]))
    elif mode == "owner-killed":
        owner_killed()
    else:
        twin(sys.argv[2] == "reset")
