"""Overload: past its capacity the web tier answers sign-ups at once with 503 and ``Retry-After`` instead
of holding them for seconds.

Where the wait happens: gunicorn's gthread worker accepts every connection in its main loop as soon as it
can and hands it to a thread pool whose queue has no bound. Past the knee that queue grows, and a request
spends seconds in it before the application sees it at all; no code inside the app can tell by looking at
itself. So each worker stamps a connection when it hands it to the pool (:func:`install`, called from
``newsletter/platform/gunicorn_config.py``), and the moment a thread takes it up the stamp becomes the
request's queue wait, put into the WSGI environ under :data:`QUEUE_WAIT`. The time the client takes to
send its request is not part of it: a slow connection is not an overloaded server.

A sign-up that waited longer than ``OVERLOAD_WAIT_SECONDS`` (0.1 s; 0 turns shedding off) is shed by
:func:`sheddable`: answered before anything is read from the database or counted in Redis, so a shed costs
a fraction of a sign-up and the queue drains instead of growing. Nothing is stored for it; a reader who
was told "check your inbox" has always been stored first. Everything else (staff pages, webhooks, the
health check) is never shed: it waits in the same queue, which shedding keeps short.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request

QUEUE_WAIT = "beitrag.queue_wait"
"""WSGI environ key: seconds the request's connection waited for a thread of its gunicorn worker."""

RETRY_AFTER_SECONDS = 2
"""What a shed answer asks the client to wait: long enough for the queue to drain, short for a reader."""

_local = threading.local()


def install(worker: Any) -> None:
    """Measure each request's wait for a thread in a gunicorn gthread ``worker`` (its ``post_worker_init``).
    Other worker classes have no such queue and are left alone (their requests carry no wait)."""
    enqueue = getattr(worker, "enqueue_req", None)
    handle = getattr(worker, "handle", None)
    app = getattr(worker, "wsgi", None)
    if enqueue is None or handle is None or app is None:
        return

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

    def measured_app(environ, start_response):
        environ[QUEUE_WAIT] = getattr(_local, "wait", None)
        return app(environ, start_response)

    worker.enqueue_req = stamped_enqueue
    worker.handle = timed_handle
    worker.wsgi = measured_app


def queue_wait(environ: dict) -> float | None:
    """Seconds this request waited for a thread; None outside gunicorn's gthread worker."""
    return environ.get(QUEUE_WAIT)


def overloaded() -> bool:
    """Whether the current request waited longer than ``OVERLOAD_WAIT_SECONDS`` for a thread."""
    waited = queue_wait(request.environ)
    limit = current_app.config["OVERLOAD_WAIT_SECONDS"]
    return waited is not None and 0 < limit < waited


def sheddable(answer: Callable[[], Any]) -> Callable:
    """Decorate a view that may be shed: a POST that waited too long gets ``answer()`` (which should cost
    little: no database, no Redis) with status 503 and ``Retry-After`` instead of the view."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def shed_or_serve(*args, **kwargs):
            if request.method == "POST" and overloaded():
                response = current_app.make_response(answer())
                response.status_code = 503
                response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
                response.headers["Cache-Control"] = "no-store"
                return response
            return view(*args, **kwargs)

        return shed_or_serve

    return decorate
