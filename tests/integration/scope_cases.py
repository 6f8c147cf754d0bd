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

Each prints "# paused" on stderr when it waits for SIGUSR1 (scripts/lib.sh).
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


if __name__ == "__main__":
    if sys.argv[1] == "two-children-reset":
        two_children_reset()
    else:
        twin(sys.argv[2] == "reset")
