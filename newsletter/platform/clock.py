"""The clock: Beitrag's periodic jobs, put on their queues by RQ's ``CronScheduler`` and run by the workers.

``flask --app app newsletter clock`` (the ``clock`` role in the Procfile; ``make run`` starts one). Each
package registers its periodic jobs in its ``init_app``. Several hosts may run a clock: every periodic job
is safe to run twice (the sweeps claim their rows).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask
from rq.cron import CronScheduler
from rq.utils import import_attribute

from newsletter.platform.queues import JobKind, get_redis

_EXTENSION_KEY = "beitrag.periodic"


@dataclass(frozen=True)
class Periodic:
    kind: JobKind
    every: int | str  # seconds, or the name of the setting that holds them


def register(app: Flask, kind: JobKind, every: int | str) -> None:
    """Run ``kind``'s job every ``every`` seconds (or every ``app.config[every]`` seconds)."""
    app.extensions.setdefault(_EXTENSION_KEY, []).append(Periodic(kind, every))


def periodic_jobs(app: Flask) -> list[Periodic]:
    return list(app.extensions.get(_EXTENSION_KEY, []))


def scheduler(app: Flask) -> CronScheduler:
    clock = CronScheduler(connection=get_redis(app), logging_level=logging.WARNING)
    for periodic in periodic_jobs(app):
        kind = periodic.kind
        seconds = periodic.every if isinstance(periodic.every, int) else int(app.config[periodic.every])
        job = import_attribute(kind.function)
        clock.register(job, kind.queue, interval=seconds, result_ttl=kind.result_ttl, ttl=kind.ttl)
    return clock


def run(app: Flask) -> None:
    """Until SIGINT or SIGTERM."""
    scheduler(app).start()
