#!/usr/bin/env python3
"""A client that is not tcpabort-repro: the two classic failures, written the
way an application would be, to check the tracer against a program it was not
built with.  Usage: pyclient.py fin-then-rst|peer-crash|orderly|serve-after-pause|hold|churn|block-recv|old-listener-reset|old-listener-fin-then-rst|hold-before-attach

Forks a server child on 127.0.0.1, prints its pids, then waits for SIGUSR1
(the tracer attaches meanwhile).  Prints what each client call returned.
"""
import errno
import os
import signal
import socket
import struct

import sys
import time


def server(lsock, mode):
    conn, _ = lsock.accept()
    if mode == "fin-then-rst":
        conn.recv(1)            # read the byte, then close: FIN
        conn.close()
        time.sleep(0.5)
    elif mode == "peer-crash":
        time.sleep(30)          # never reads; the parent SIGKILLs us
    else:                       # orderly: echo, then close after the client does
        conn.sendall(conn.recv(1))
        conn.recv(1)
        conn.close()
    os._exit(0)


def call(name, fn):
    try:
        r = fn()
        print(f"client {name} = {r!r}", flush=True)
        return r
    except OSError as e:
        print(f"client {name} = {errno.errorcode.get(e.errno, e.errno)}", flush=True)
        return e


def listener(backlog=1):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(backlog)
    return lsock, lsock.getsockname()[1]


def wait_for_attach(child=None):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print(f"# paused: client pid {os.getpid()}, server pid {child or 0}",
          file=sys.stderr, flush=True)
    signal.sigwait({signal.SIGUSR1})


def serve_after_pause(hold):
    """The traced process listens only after the attach: its accepted
    children are born in softirq and must be adopted through the listener.
    The peer is a forked, untraced child."""
    wait_for_attach()
    lsock, port = listener()
    child = os.fork()
    if child == 0:
        c = socket.create_connection(("127.0.0.1", port))
        c.send(b"x")
        if hold:
            time.sleep(30)
        c.close()
        os._exit(0)
    conn, _ = lsock.accept()
    call("recv", lambda: conn.recv(1))
    if hold:
        print("# holding", file=sys.stderr, flush=True)
        time.sleep(30)
    call("recv", lambda: conn.recv(1))
    conn.close()
    lsock.close()
    os.waitpid(child, 0)


def churn():
    """Many short connections at once, to overflow a tiny ring buffer."""
    lsock, port = listener(512)
    wait_for_attach()
    conns = []
    for _ in range(300):
        c = socket.create_connection(("127.0.0.1", port))
        a, _ = lsock.accept()
        conns.append((c, a))
    for c, a in conns:
        c.send(b"x")
        a.close()        # unread byte: RST
    for c, a in conns:
        try:
            c.recv(1)
        except OSError:
            pass
        c.close()


def block_recv():
    """A client blocked in recv until someone destroys its socket (ss -K)."""
    lsock, port = listener()
    wait_for_attach()
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = lsock.accept()
    print(f"# blocking in recv, port {port}", file=sys.stderr, flush=True)
    c.settimeout(10)
    call("recv", lambda: c.recv(10))
    call("recv", lambda: c.recv(10))
    c.close()


def old_listener_reset():
    """Like a long-running server: the listener predates the attach.  A
    peer connects and resets while the child waits in the accept queue, so
    the RST comes before the tracer can know the socket is ours."""
    lsock, port = listener()
    wait_for_attach()
    child = os.fork()
    if child == 0:
        c = socket.create_connection(("127.0.0.1", port))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        os._exit(0)
    os.waitpid(child, 0)
    time.sleep(0.1)
    conn, _ = lsock.accept()
    call("recv", lambda: conn.recv(1))
    conn.close()


def old_listener_fin_then_rst():
    """redis after DEBUG SLEEP: a client sends its request and closes while
    the server is busy, so the child reaches CLOSE_WAIT in the accept queue
    before the tracer attaches (the FIN is not seen).  The server accepts,
    reads, replies, and the client's closed socket answers with an RST.
    The client is forked before the attach: only the server is traced."""
    lsock, port = listener()
    child = os.fork()
    if child == 0:
        lsock.close()
        c = socket.create_connection(("127.0.0.1", port))
        c.send(b"PING")
        c.close()
        os._exit(0)
    os.waitpid(child, 0)
    time.sleep(0.1)                     # the FIN reaches the queued child
    wait_for_attach()
    conn, _ = lsock.accept()
    call("recv", lambda: conn.recv(10))
    call("send(5)", lambda: conn.send(b"+PONG"))
    time.sleep(0.2)                     # the closed client's RST comes back
    call("recv", lambda: conn.recv(10))
    call("send(5)", lambda: conn.send(b"+PONG"))
    conn.close()
    lsock.close()


def hold_before_attach():
    """A service's idle connection: accepted before the attach, 3 bytes
    from the peer unread; the tracer joins it mid-life and is stopped while
    it is still open.  The peer is forked before the attach: not traced."""
    lsock, port = listener()
    child = os.fork()
    if child == 0:
        lsock.close()
        c = socket.create_connection(("127.0.0.1", port))
        c.send(b"abc")
        time.sleep(30)
        os._exit(0)
    conn, _ = lsock.accept()
    time.sleep(0.1)                     # the 3 bytes arrive, unread
    wait_for_attach(child)
    print("# holding", file=sys.stderr, flush=True)
    time.sleep(30)
    conn.close()


def main():
    mode = sys.argv[1]
    if mode == "hold-before-attach":
        hold_before_attach()
        return
    if mode == "old-listener-fin-then-rst":
        old_listener_fin_then_rst()
        return
    if mode == "old-listener-reset":
        old_listener_reset()
        return
    if mode == "block-recv":
        block_recv()
        return
    if mode == "churn":
        churn()
        return
    if mode in ("serve-after-pause", "hold"):
        serve_after_pause(mode == "hold")
        return
    # Python ignores SIGPIPE already; a send then fails with EPIPE, as in most servers.
    lsock, port = listener()
    child = os.fork()
    if child == 0:
        server(lsock, mode)
    lsock.close()
    wait_for_attach(child)

    s = socket.create_connection(("127.0.0.1", port))
    call("send(1)", lambda: s.send(b"x"))
    if mode == "fin-then-rst":
        time.sleep(0.2)                     # the server reads and closes
        call("send(2)", lambda: s.send(b"yz"))
        time.sleep(0.2)                     # its RST comes back
        call("recv", lambda: s.recv(10))
        call("send(1)", lambda: s.send(b"!"))
    elif mode == "peer-crash":
        time.sleep(0.2)
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        time.sleep(0.2)
        call("recv", lambda: s.recv(10))
        call("send(1)", lambda: s.send(b"!"))
    else:
        call("recv", lambda: s.recv(1))
        s.shutdown(socket.SHUT_WR)
        call("recv", lambda: s.recv(1))
    s.close()
    try:
        os.waitpid(child, 0)
    except ChildProcessError:
        pass


if __name__ == "__main__":
    main()
