"""The clock: Beitrag's periodic jobs, put on their queues by RQ's ``CronScheduler`` and run by the workers,
and the few that must not wait for a worker run by the clock itself.

``flask --app app newsletter clock`` (the ``clock`` role in the Procfile; ``make run`` starts one). Each
package registers its periodic jobs in its ``init_app``. A job registered ``inline`` (the send sweep, the
outbox sweeps) runs in the clock's own process: a worker takes a queued job only after the one it is
doing, and during a long send every worker may be in a send batch for minutes, while a killed worker's
rows and a confirmation mail should not wait that long. Several hosts may run a clock: every periodic
job is safe to run twice (the sweeps claim their rows). When Redis goes away the clock waits for it,
trying again with a growing pause, instead of exiting; the inline sweeps go on meanwhile (each says what
it could not do).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import redis
from flask import Flask
from rq.cron import CronScheduler
from rq.exceptions import StopRequested
from rq.utils import import_attribute

from db import db
from newsletter.platform.queues import JobKind, get_redis

log = logging.getLogger(__name__)

_EXTENSION_KEY = "beitrag.periodic"


@dataclass(frozen=True)
class Periodic:
    kind: JobKind
    every: int | str  # seconds, or the name of the setting that holds them
    inline: bool = False  # run by the clock's own process, not queued for a worker

    def seconds(self, app: Flask) -> int:
        return self.every if isinstance(self.every, int) else int(app.config[self.every])


def register(app: Flask, kind: JobKind, every: int | str, *, inline: bool = False) -> None:
    """Run ``kind``'s job every ``every`` seconds (or every ``app.config[every]`` seconds): queued for a
    worker, or ``inline`` in the clock's own process."""
    app.extensions.setdefault(_EXTENSION_KEY, []).append(Periodic(kind, every, inline))


def periodic_jobs(app: Flask) -> list[Periodic]:
    return list(app.extensions.get(_EXTENSION_KEY, []))


def scheduler(app: Flask) -> CronScheduler:
    """RQ's scheduler for the queued periodic jobs."""
    clock = CronScheduler(connection=get_redis(app), logging_level=logging.WARNING)
    for periodic in periodic_jobs(app):
        if periodic.inline:
            continue
        kind = periodic.kind
        job = import_attribute(kind.function)
        clock.register(job, kind.queue, interval=periodic.seconds(app), result_ttl=kind.result_ttl,
                       ttl=kind.ttl)  # fmt: skip
    return clock


def inline_jobs(app: Flask) -> list[Periodic]:
    return [p for p in periodic_jobs(app) if p.inline]


def tick_inline(app: Flask, jobs: list[Periodic], due: dict[int, float]) -> float:
    """Run the inline jobs that are due (``due``: the monotonic time each is next due; missing means
    now), one after the other; a job that fails is logged and runs again at its next turn. Returns the
    seconds until the next one is due."""
    for i, periodic in enumerate(jobs):
        if time.monotonic() < due.get(i, 0.0):
            continue
        due[i] = time.monotonic() + periodic.seconds(app)
        with app.app_context():
            try:
                import_attribute(periodic.kind.function)()
            except Exception:
                log.exception("%s failed; the clock runs it again in %s s", periodic.kind.function,
                              periodic.seconds(app))  # fmt: skip
            finally:
                db.session.remove()
    return max(0.0, min(due.values(), default=60.0) - time.monotonic())


def run_inline(app: Flask, stop: threading.Event) -> None:
    """The inline jobs, each every its seconds, until ``stop`` is set."""
    jobs, due = inline_jobs(app), {}
    while jobs and not stop.is_set():
        stop.wait(tick_inline(app, jobs, due))


def run(app: Flask, *, max_pause: float = 30.0) -> None:
    """Until SIGINT or SIGTERM: the inline jobs in a thread, RQ's scheduler here, started again after
    Redis went away (pauses of 1, 2, 4 ... ``max_pause`` seconds)."""
    stop = threading.Event()
    inline = threading.Thread(target=run_inline, args=(app, stop), name="clock-inline", daemon=True)
    inline.start()
    pause = 1.0
    try:
        while True:
            began = time.monotonic()
            try:
                scheduler(app).start()  # returns on SIGINT or SIGTERM
                return
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                pause = 1.0 if time.monotonic() - began > 60 else pause
                log.warning("Redis is unreachable (%s); the clock tries again in %.0f s", exc, pause)
                time.sleep(pause)
                pause = min(pause * 2, max_pause)
    except (StopRequested, KeyboardInterrupt):
        return
    finally:
        stop.set()
        inline.join(timeout=30)
