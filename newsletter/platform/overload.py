"""Overload: past its capacity the web tier answers sign-ups at once with 503 and ``Retry-After`` instead
of holding them for seconds.

Where the wait happens: gunicorn's gthread worker accepts connections in its main loop and hands them to
a thread pool whose queue has no bound; past the knee that queue grows, and so does the listening socket's
backlog when the main loop (one thread among sixteen busy ones, all wanting the GIL) cannot accept as
fast as connections arrive. A request then waits seconds before the application sees it, and nothing
inside the app can tell by looking at itself. So each worker measures it (:func:`install`, called from
``newsletter/platform/gunicorn_config.py``): on Linux the kernel knows when the last bytes of the request
arrived on the connection (``tcpi_last_data_recv`` of ``TCP_INFO``, in milliseconds), which covers the
backlog, the pool's queue and the parsing alike; elsewhere the worker stamps a connection when it hands it
to the pool and the wait ends when a thread takes it up. Either way the time a slow client takes to send
its request is not counted: a slow connection is not an overloaded server. The wait goes into the WSGI
environ under :data:`QUEUE_WAIT`.

A sign-up that waited longer than ``OVERLOAD_WAIT_SECONDS`` (0.05 s; 0 turns shedding off) is shed by
:func:`sheddable`: answered before anything is read from the database or counted in Redis, so a shed costs
a fraction of a sign-up and the queue drains instead of growing. So is one that finds three quarters of
its worker's threads busy with sign-ups and none free within the rest of that time: when the database or
Redis stalls, the sign-ups in flight wait for it, and the other threads go on answering. Nothing is stored
for a shed sign-up; a reader who was told "check your inbox" has always been stored first. Everything else
(staff pages, webhooks, the health check) is never shed: it waits in the same queue, which shedding keeps
short, and finds threads that sign-ups may not take.
"""

from __future__ import annotations

import functools
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request

QUEUE_WAIT = "beitrag.queue_wait"
"""WSGI environ key: seconds the whole request had been waiting for its gunicorn worker."""

RETRY_AFTER_SECONDS = 2
"""What a shed answer asks the client to wait: long enough for the queue to drain, short for a reader."""

SIGNUP_SHARE = 0.75
"""The share of a worker's threads that may be in a sign-up at once. When the database stalls, sign-ups
hold their threads; the rest keep answering: sheds at once, the staff pages, webhooks and health checks."""

BUSY_SWITCH_INTERVAL = 0.001
"""How often a busy worker's threads hand over the GIL (see :class:`GilPace`)."""

_local = threading.local()
_signup_slots: threading.BoundedSemaphore | None = None


class GilPace:
    """How often the threads of a web worker hand over the GIL: Python's 5 ms while requests are taken up
    at once, :data:`BUSY_SWITCH_INTERVAL` from the first request that waited ``behind`` seconds until
    none has for ``calm`` seconds. Past its capacity a worker's sixteen threads all want the GIL, and each
    request waits for it every time it comes back from the database or the socket, one interval per
    waiting thread: at 1 ms it waits a fifth as long. At ordinary load the shorter interval only costs
    (about 0.4 ms of CPU a sign-up at 300/s, and a few ms of p50), so it is kept for when it helps.

    A worker that is not behind still lets a request wait two or three of Python's intervals now and then
    (16 threads, one GIL): at 300 sign-ups a second a 10 ms mark was passed every few seconds and kept the
    short interval on for a third of the time. :func:`install` sets ``behind`` to half the wait after
    which a sign-up is shed (``OVERLOAD_WAIT_SECONDS``, 0.05 s by default), which only a worker that is
    falling behind reaches."""

    def __init__(self, behind: float = 0.025, calm: float = 2.0):
        self.behind, self.calm = behind, calm
        self.usual = sys.getswitchinterval()
        self.busy_until = 0.0

    def saw(self, waited: float) -> None:
        """A request reached the app after ``waited`` seconds. Threads may race here; the worst that
        happens is that the interval is set twice."""
        now = time.monotonic()
        if waited > self.behind:
            if not self.busy_until:
                sys.setswitchinterval(BUSY_SWITCH_INTERVAL)
            self.busy_until = now + self.calm
        elif self.busy_until and now > self.busy_until:
            self.busy_until = 0.0
            sys.setswitchinterval(self.usual)


def install(worker: Any) -> None:
    """Measure how long each request waited for a gunicorn ``worker`` (from its ``post_worker_init``):
    by the kernel's clock where it says, else, in a gthread worker, from the pool's queue. With threads,
    also keep :data:`SIGNUP_SHARE` of them for sign-ups at most, and hand over the GIL more often while
    the worker is behind (:class:`GilPace`)."""
    global _signup_slots
    threads = getattr(worker.cfg, "threads", 1)
    if threads > 1:
        _signup_slots = threading.BoundedSemaphore(max(1, int(threads * SIGNUP_SHARE)))
    app = worker.wsgi
    enqueue = getattr(worker, "enqueue_req", None)  # gthread's hand-over to its thread pool
    handle = getattr(worker, "handle", None)
    if enqueue is not None and handle is not None:

        def stamped_enqueue(conn):
            # Fresh connections and kept-alive ones with a new request both come through here.
            conn.beitrag_enqueued = time.monotonic()
            enqueue(conn)

        def timed_handle(conn):
            enqueued = getattr(conn, "beitrag_enqueued", None)
            _local.wait = time.monotonic() - enqueued if enqueued is not None else None
            try:
                return handle(conn)
            finally:
                _local.wait = None

        worker.enqueue_req = stamped_enqueue
        worker.handle = timed_handle

    shed_after = (getattr(app, "config", None) or {}).get("OVERLOAD_WAIT_SECONDS")
    pace = GilPace(behind=shed_after / 2) if shed_after else GilPace()

    def measured_app(environ, start_response):
        waited = since_last_data(environ.get("gunicorn.socket"))
        if waited is None:
            waited = getattr(_local, "wait", None)
        environ[QUEUE_WAIT] = waited
        if waited is not None:
            pace.saw(waited)
        return app(environ, start_response)

    worker.wsgi = measured_app


# struct tcp_info (linux/tcp.h) has kept its layout since Linux 2.6: eight one-byte fields, then u32s;
# tcpi_last_data_recv is the eleventh of them.
_LAST_DATA_RECV = slice(52, 56)
_TCP_INFO = getattr(socket, "TCP_INFO", None)


def since_last_data(sock: socket.socket | None) -> float | None:
    """Seconds since the last bytes arrived on ``sock`` (or since it was set up, when none came yet), as
    the kernel counts them; None where the kernel does not say (not Linux, not TCP)."""
    if sock is None or _TCP_INFO is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 104)
    except OSError:
        return None
    if len(info) < _LAST_DATA_RECV.stop:
        return None
    return int.from_bytes(info[_LAST_DATA_RECV], sys.byteorder) / 1000


def queue_wait(environ: dict) -> float | None:
    """Seconds the whole request had waited when the app got it; None outside gunicorn."""
    return environ.get(QUEUE_WAIT)


def sheddable(answer: Callable[[], Any]) -> Callable:
    """Decorate a view that may be shed: a POST gets ``answer()`` (which should cost little: no database,
    no Redis) with status 503 and ``Retry-After`` instead of the view when it waited longer than
    ``OVERLOAD_WAIT_SECONDS`` for its worker, or when no sign-up slot of the worker came free within
    what remains of that time."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def shed_or_serve(*args, **kwargs):
            limit = current_app.config["OVERLOAD_WAIT_SECONDS"]
            if request.method != "POST" or not limit:
                return view(*args, **kwargs)
            waited = queue_wait(request.environ) or 0.0
            if waited > limit:
                return _shed(answer)
            slots = _signup_slots
            if slots is None:
                return view(*args, **kwargs)
            if not slots.acquire(timeout=limit - waited):
                return _shed(answer)
            try:
                return view(*args, **kwargs)
            finally:
                slots.release()

        return shed_or_serve

    return decorate


def _shed(answer: Callable[[], Any]):
    response = current_app.make_response(answer())
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
