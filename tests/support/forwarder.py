"""A TCP forwarder in a thread of the test process: it listens on one address (the root side of a worker
host's veth pair) and joins every connection to an upstream service that listens on loopback only
(PostgreSQL on 127.0.0.1, or a Redis server on a unix socket). One forwarder per host and service, so a
host whose link is down stalls its own connections and nobody else's.

Non-blocking both ways with bounded buffers: when one side cannot take more, the other side is not read
until it can, so a stalled host holds only its own bytes, never the forwarder's thread.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from dataclasses import dataclass, field

BUFFER_LIMIT = 1 << 20  # bytes waiting for one side before the other side is no longer read
TCP_RTO_MAX_MS = 44  # Linux >= 6.15: the longest retransmission timeout of one socket


@dataclass(eq=False)
class _End:
    sock: socket.socket
    peer: _End | None = None
    outgoing: bytearray = field(default_factory=bytearray)
    closed: bool = False
    registered: bool = True


def short_retransmissions(sock: socket.socket, max_ms: int = 1000) -> None:
    """After a link comes back, a connection resumes at its next retransmission; without a cap that can
    be tens of seconds after a long outage. Linux before 6.15 lacks the option: the wait is longer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS, max_ms)


class Forwarder:
    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int] | str):
        self.upstream = upstream  # (host, port), or the path of a unix socket
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(listen)
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.ends: set[_End] = set()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"forwarder {self.address}", daemon=True)

    def start(self) -> Forwarder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        self._thread.join(timeout=5)
        for end in list(self.ends):
            self._close(end)
        self.selector.close()
        self.listener.close()

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.upstream)
        else:
            sock = socket.create_connection(self.upstream, timeout=5)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        return sock

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        short_retransmissions(client)
        client.setblocking(False)
        try:
            upstream = self._connect_upstream()
        except OSError:
            client.close()
            return
        a, b = _End(client), _End(upstream)
        a.peer, b.peer = b, a
        for end in (a, b):
            self.ends.add(end)
            self.selector.register(end.sock, selectors.EVENT_READ, end)

    def _interest(self, end: _End) -> None:
        if end.closed:
            return
        events = 0
        if end.peer is not None and len(end.peer.outgoing) < BUFFER_LIMIT:
            events |= selectors.EVENT_READ
        if end.outgoing:
            events |= selectors.EVENT_WRITE
        # A selector holds no socket without events: one with nothing to do waits outside it.
        if events and end.registered:
            self.selector.modify(end.sock, events, end)
        elif events:
            self.selector.register(end.sock, events, end)
        elif end.registered:
            self.selector.unregister(end.sock)
        end.registered = bool(events)

    def _close(self, end: _End) -> None:
        for one in (end, end.peer):
            if one is None or one.closed:
                continue
            one.closed = True
            if one.registered:
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(one.sock)
            one.sock.close()
            self.ends.discard(one)

    def _run(self) -> None:
        while not self._stopping:
            for key, mask in self.selector.select(timeout=0.1):
                end: _End | None = key.data
                if end is None:
                    self._accept()
                    continue
                if end.closed:
                    continue
                try:
                    if mask & selectors.EVENT_WRITE and end.outgoing:
                        sent = end.sock.send(end.outgoing)
                        del end.outgoing[:sent]
                    if mask & selectors.EVENT_READ and end.peer is not None:
                        data = end.sock.recv(65536)
                        if not data:
                            raise ConnectionResetError("closed by the other side")
                        end.peer.outgoing += data
                        self._interest(end.peer)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    self._close(end)
                    continue
                self._interest(end)
                if end.peer is not None:
                    self._interest(end.peer)
