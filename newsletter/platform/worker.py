"""The RQ worker (``flask --app app newsletter worker``), and what it loads once before its work horses
fork."""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable

import redis
from flask import Flask
from rq import Queue, Worker
from rq.exceptions import StopRequested

from db import db
from newsletter.platform import clock
from newsletter.platform.queues import QUEUE_NAMES, get_redis

_EXTENSION_KEY = "beitrag.worker_warm_ups"
log = logging.getLogger(__name__)


# RQ's lines after every job: at INFO they repeat for each periodic sweep, every few seconds.
_ROUTINE = ("Job OK", "result is kept for", "Successfully completed")


class QuietRoutine(logging.Filter):
    """RQ logs four INFO lines per job. For the periodic jobs the clock queues (``functions``) and for
    RQ's lines after any job that went well, they are demoted to DEBUG: shown only when the worker logs at
    DEBUG, so that a send batch starting, a warning or an error stays on the screen."""

    def __init__(self, functions: tuple[str, ...]) -> None:
        super().__init__()
        self.functions = functions

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        text = record.getMessage()
        if not any(word in text for word in self.functions + _ROUTINE):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_routine_logs(app: Flask) -> QuietRoutine:
    """Put :class:`QuietRoutine` on RQ's worker log, for the periodic jobs the app registered."""
    functions = tuple(f"{p.kind.function}(" for p in clock.periodic_jobs(app) if not p.inline)
    quiet = QuietRoutine(functions)
    logger = logging.getLogger("rq.worker")
    for old in [f for f in logger.filters if isinstance(f, QuietRoutine)]:
        logger.removeFilter(old)
    logger.addFilter(quiet)
    return quiet


def warm_up_with(app: Flask, load: Callable[[Flask], None]) -> None:
    """Have every worker call ``load(app)`` once at start, before it forks its first work horse."""
    app.extensions.setdefault(_EXTENSION_KEY, []).append(load)


def run_worker(app: Flask, queue_names: tuple[str, ...] = QUEUE_NAMES, *, burst: bool = False) -> bool:
    """Work the queues inside an app context, with RQ's scheduler (retries with intervals, scheduled jobs).

    RQ forks a work horse per job; the horse must not share the parent's database connections, so the
    engine's pool is dropped in the child (``close=False`` leaves the parent's sockets alone). What every
    job needs is loaded once here and inherited by the horses (the packages' warm-ups: the compiled e-mail
    templates, which took each newsletter batch about 0.3 s). Then the start-up objects leave the cyclic
    garbage collector (``gc.freeze``), so a horse's collections neither walk them nor copy their pages.

    When Redis goes away (restarted, a network cut) the worker waits for it, trying again after 1, 2, 4
    ... 30 s, instead of exiting: a job it was running is decided as RQ and the sweeps decide it.
    """
    with app.app_context():
        engine = db.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        for load in app.extensions.get(_EXTENSION_KEY, []):
            load(app)
        gc.collect()
        gc.freeze()
        quiet_routine_logs(app)
        pause = 1.0
        while True:
            began = time.monotonic()
            try:
                connection = get_redis(app)
                worker = Worker([Queue(n, connection=connection) for n in queue_names], connection=connection)
                return worker.work(burst=burst, with_scheduler=True)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                pause = 1.0 if time.monotonic() - began > 60 else pause
                log.warning("Redis is unreachable (%s); the worker tries again in %.0f s", exc, pause)
                try:
                    time.sleep(pause)
                except (StopRequested, KeyboardInterrupt):
                    return False
                pause = min(pause * 2, 30.0)
