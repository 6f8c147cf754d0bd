#!/usr/bin/env python3
"""Load for the output tests (t-output.sh): many connections, a few abnormal.

Usage: outload.py churn N RESETS | late-rst | two-ports | slow N

Forks an untraced echo server on 127.0.0.1 (two listeners), prints
"server pid N" and "paused" on stderr, waits for SIGUSR1 (the tracer
attaches meanwhile), then runs the mode as the client.

  churn N RESETS  N connections to port A; RESETS of them closed with
                  SO_LINGER {1,0} (an RST: reset_sent_linger_zero), the others
                  closed in order after an echo
  two-ports       10 orderly and 3 reset connections to each listener
  late-rst        the server closes first; the client waits 1.5 s in
                  CLOSE_WAIT, then sends: the server's timewait sock answers
                  with an RST long after the server's socket was destroyed
  slow N          N connections, then 3 s of quiet (the test sends the tracer
                  SIGUSR1 meanwhile), then N more
"""
import os
import signal
import socket
import struct
import sys
import threading
import time


def serve(lsock, late):
    while True:
        c, _ = lsock.accept()
        if late:
            c.recv(1)
            c.close()  # FIN first, nothing unread: FIN_WAIT2, then timewait
            continue
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def echo(c):
    try:
        while True:
            d = c.recv(100)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    c.close()


def server(socks, late):
    for s in socks[1:]:
        threading.Thread(target=serve, args=(s, late), daemon=True).start()
    serve(socks[0], late)


def one(port, reset):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"x")
    s.recv(1)
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def churn(port, n, resets, start=0):
    every = n // resets if resets else 0
    for i in range(start, start + n):
        one(port, bool(every) and i % every == every - 1)


def main():
    mode = sys.argv[1]
    late = mode == "late-rst"
    socks = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    child = os.fork()
    if child == 0:
        server(socks, late)
        os._exit(0)
    for s in socks:
        s.close()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print(f"# ports {ports[0]} {ports[1]}", flush=True)
    print(f"# paused: client pid {os.getpid()}, server pid {child}",
          file=sys.stderr, flush=True)
    signal.sigwait({signal.SIGUSR1})
    time.sleep(0.2)
    try:
        run(mode, ports)
    finally:
        # The server's timewait RSTs and destroys are read before we exit.
        time.sleep(0.3)
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def run(mode, ports):
    if mode == "churn":
        churn(ports[0], int(sys.argv[2]), int(sys.argv[3]))
    elif mode == "two-ports":
        churn(ports[0], 13, 3)
        churn(ports[1], 13, 3)
    elif mode == "slow":
        n = int(sys.argv[2])
        churn(ports[0], n, 2)
        print("first half done", flush=True)
        time.sleep(3)
        churn(ports[0], n, 2, n)
    elif mode == "late-rst":
        s = socket.create_connection(("127.0.0.1", ports[0]))
        s.sendall(b"x")
        print(f"client recv = {s.recv(10)!r} (EOF: the server closed)", flush=True)
        time.sleep(1.5)
        try:
            print(f"client send = {s.send(b'late')}", flush=True)
        except OSError as e:
            print(f"client send = {e}", flush=True)
        time.sleep(0.2)
        try:
            print(f"client recv = {s.recv(10)!r}", flush=True)
        except OSError as e:
            print(f"client recv = {e}", flush=True)
        s.close()


main()
