"""The clock: Beitrag's periodic jobs, put on their queues by RQ's ``CronScheduler`` and run by the workers.

``flask --app app newsletter clock`` (the ``clock`` role in the Procfile; ``make run`` starts one). Several
hosts may run a clock: every periodic job is safe to run twice (the sweeper claims its rows).
"""

from __future__ import annotations

import logging

from flask import Flask
from rq.cron import CronScheduler

from . import jobs
from .queues import get_redis

# (job, queue, every how many seconds)
PERIODIC = (
    # Sign-ups write their confirmation mail to the outbox (reader_mails); this puts it on the queue.
    (jobs.sweep_reader_mails, "transactional", 2),
    (jobs.expire_pending_signups, "default", 3600),
    # Bounce and complaint reports in BOUNCE_MAILBOX_URL (a no-op without one).
    (jobs.poll_bounce_mailbox, "default", 60),
    # Scheduled issues whose time passed, rows of killed workers, batches Redis lost (see sending.py).
    (jobs.sweep_sends, "default", "SEND_SWEEP_SECONDS"),
)


def scheduler(app: Flask) -> CronScheduler:
    clock = CronScheduler(connection=get_redis(app), logging_level=logging.WARNING)
    for job, queue_name, seconds in PERIODIC:
        if isinstance(seconds, str):
            seconds = int(app.config[seconds])
        # A sweep that has not run within a minute is superseded by the next one.
        clock.register(job, queue_name, interval=seconds, result_ttl=60, ttl=60)
    return clock


def run(app: Flask) -> None:
    """Until SIGINT or SIGTERM."""
    scheduler(app).start()
