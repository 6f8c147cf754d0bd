#!/usr/bin/env python3
"""A server holding many idle connections, and the client that makes them.

  holder.py server N        listen on 127.0.0.1, print "port P", accept N
                            connections, then serve: "bye" -> close; a
                            failed recv -> close (prints the errno)
  holder.py client PORT N   open N connections, print "connected" and the
                            local ports, wait for SIGUSR1, then reset the
                            first 10 (SO_LINGER 0), say "bye" on the next 10
                            and read to EOF; hold the rest until SIGTERM

Used by tests/integration/t-scope.sh: the tracer attaches to a server whose
connections all predate it.
"""
import errno
import selectors
import signal
import socket
import struct
import sys
import time


def server(n):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1024)
    print("port", lst.getsockname()[1], flush=True)
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(n):
        c, _ = lst.accept()
        conns.append(c)
        sel.register(c, selectors.EVENT_READ)
    print("accepted", n, flush=True)
    deadline = time.time() + 60
    while time.time() < deadline and sel.get_map():
        for key, _ in sel.select(timeout=0.5):
            c = key.fileobj
            try:
                data = c.recv(100)
            except OSError as e:
                print("recv", errno.errorcode.get(e.errno, e.errno), flush=True)
                data = None
            if data is None or data == b"" or b"bye" in data:
                sel.unregister(c)
                c.close()


def client(port, n):
    go = []
    signal.signal(signal.SIGUSR1, lambda *_: go.append(1))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    print("connected", " ".join(str(c.getsockname()[1]) for c in conns), flush=True)
    while not go:
        time.sleep(0.05)
    for c in conns[:10]:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    for c in conns[10:20]:
        c.send(b"bye")
        c.settimeout(5)
        while c.recv(100):
            pass
        c.close()
    print("done", flush=True)
    time.sleep(60)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]))
    else:
        client(int(sys.argv[2]), int(sys.argv[3]))
