"""Redis and the RQ queues: one connection per app, the queue names, and every kind of job Beitrag queues,
with its queue, its time limits and its id. Job functions live next to their services (each package's
``tasks.py``); nothing but this module calls RQ's enqueue.

Queues, in the order a worker serves them:

* ``transactional``: confirmations, receipts, preference links; a reader is waiting for these.
* ``mail``: newsletter batches and scheduled issues.
* ``default``: everything else (feed imports, CSV imports, sweeps).

Each kind names its function by the dotted path Redis stores with the job, not by importing it: the
platform stays below the packages whose jobs it queues (``payments`` among them), the control of a send can
queue the batch job whose function calls it back, and this table is the list of every name Redis may hold.
A scheduled issue may wait a year, so a job function that moves keeps its old path importable
(``newsletter.jobs``); ``tests`` resolve every path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue, Retry
from rq.job import Job

from newsletter.platform.redis_server import RedisUnavailable, describe_url, start_embedded_redis

QUEUE_NAMES = ("transactional", "mail", "default")
_EXTENSION_KEY = "beitrag.redis"
DAY = 86400


@dataclass(frozen=True)
class JobKind:
    """One kind of job: the function a worker runs (its dotted path, as Redis stores it), the queue, how
    long a run may take, how long RQ keeps its result and its failure, whether RQ retries it, and how long
    it may wait in the queue before it is dropped."""

    queue: str
    function: str
    timeout: int | None = None  # seconds a run may take; None: RQ's default (180)
    result_ttl: int | None = None  # None: RQ's default (500 s)
    failure_ttl: int | None = None  # None: RQ's default (a year)
    retry: Retry | None = None
    ttl: int | None = None  # None: it waits as long as it takes


# Temporary SMTP failures: try again after 10 s, 1 min, 5 min, 30 min, 2 h.
_SMTP_RETRY = Retry(max=5, interval=[10, 60, 300, 1800, 7200])

TRANSACTIONAL_MAIL = JobKind("transactional", "newsletter.mail.tasks.send_transactional_mail",
                             result_ttl=DAY, failure_ttl=7 * DAY, retry=_SMTP_RETRY)
# "Forgot password": the worker looks the address up, so that the web answer is the same, in content and in
# time, whether an account exists or not.
STAFF_PASSWORD_RESET = JobKind("transactional", "newsletter.staff.tasks.send_password_reset", result_ttl=DAY,
                               failure_ttl=7 * DAY, retry=_SMTP_RETRY, ttl=3600)
# An editor's test send goes through the send path's assembly and relay (``sending.test_sends``); an
# editor waits for it, so it takes the transactional queue.
ISSUE_TEST = JobKind("transactional", "newsletter.sending.tasks.send_issue_test", result_ttl=DAY,
                     failure_ttl=7 * DAY)
# A batch run again for its retries gets the same hour as the first run (RQ's 180 s default could end a
# rate-limited batch halfway).
SEND_BATCH = JobKind("mail", "newsletter.sending.tasks.send_issue_batch", timeout=3600, result_ttl=3600,
                     failure_ttl=7 * DAY)
SCHEDULED_ISSUE = JobKind("mail", "newsletter.sending.tasks.fire_scheduled_issue", result_ttl=DAY)
FEED_IMPORT = JobKind("default", "newsletter.editorial.tasks.import_feed", result_ttl=3600, failure_ttl=DAY)
SUBSCRIBER_IMPORT = JobKind("default", "newsletter.readers.tasks.run_subscriber_import", timeout=3600)
IMPORT_OPT_INS = JobKind("default", "newsletter.readers.tasks.send_import_opt_ins")
SWEEP_IMPORTS = JobKind("default", "newsletter.readers.tasks.sweep_imports", result_ttl=60, ttl=60)
# One reader's welcome to one newsletter (``sending.welcome``), queued by its outbox sweep once due.
WELCOME_MAIL = JobKind("transactional", "newsletter.sending.tasks.send_welcome_mail", result_ttl=DAY,
                       failure_ttl=7 * DAY, retry=_SMTP_RETRY)
WELCOME_TEST = JobKind("transactional", "newsletter.sending.tasks.send_welcome_test", result_ttl=DAY,
                       failure_ttl=7 * DAY)

# The clock's periodic jobs (each package registers its own; see ``clock``): a sweep that has not run
# within a minute is superseded by the next one.
SWEEP_READER_MAILS = JobKind("transactional", "newsletter.readers.tasks.sweep_reader_mails", result_ttl=60,
                             ttl=60)
SWEEP_WELCOME_MAILS = JobKind("transactional", "newsletter.sending.tasks.sweep_welcome_mails", result_ttl=60,
                              ttl=60)
SWEEP_DONOR_MAILS = JobKind("transactional", "payments.supporters.tasks.sweep_donor_mails", result_ttl=60,
                            ttl=60)
EXPIRE_PENDING_SIGNUPS = JobKind("default", "newsletter.readers.tasks.expire_pending_signups", result_ttl=60,
                                 ttl=60)
POLL_BOUNCE_MAILBOX = JobKind("default", "newsletter.sending.tasks.poll_bounce_mailbox", result_ttl=60,
                              ttl=60)
SWEEP_SENDS = JobKind("default", "newsletter.sending.tasks.sweep_sends", result_ttl=60, ttl=60)
BUILD_DIGESTS = JobKind("default", "newsletter.sending.tasks.build_digests", result_ttl=60, ttl=60)
# A Stripe event about a payment not known yet, looked up at Stripe: again after 30 s, 2 min, 10 min, 1 h,
# 6 h when Stripe cannot be reached (the clock's sweep takes over after that).
RESOLVE_STRIPE_EVENT = JobKind("default", "payments.events.tasks.resolve_stripe_event", timeout=120,
                               result_ttl=3600, failure_ttl=7 * DAY,
                               retry=Retry(max=5, interval=[30, 120, 600, 3600, 21600]))
SWEEP_STRIPE_EVENTS = JobKind("default", "payments.events.tasks.sweep_parked_events", result_ttl=60,
                              ttl=60)
RECONCILE_PAYMENTS = JobKind("default", "payments.events.tasks.reconcile_recent", timeout=3600,
                             result_ttl=DAY, ttl=3600)
# January's Zuwendungsbestätigungen for the past year (payments.receipts): looked at daily, acts in January.
YEAR_RECEIPTS = JobKind("default", "payments.receipts.tasks.send_year_receipts", timeout=3600, result_ttl=DAY,
                        ttl=3600)
PURGE_AUDIT_LOG = JobKind("default", "newsletter.staff.tasks.purge_audit_log", timeout=3600, result_ttl=DAY,
                          ttl=3600)

KINDS = (TRANSACTIONAL_MAIL, ISSUE_TEST, SEND_BATCH, SCHEDULED_ISSUE, FEED_IMPORT, SUBSCRIBER_IMPORT,
         IMPORT_OPT_INS, SWEEP_READER_MAILS, SWEEP_DONOR_MAILS, EXPIRE_PENDING_SIGNUPS, POLL_BOUNCE_MAILBOX,
         SWEEP_SENDS, RESOLVE_STRIPE_EVENT, SWEEP_STRIPE_EVENTS, RECONCILE_PAYMENTS,
         SWEEP_IMPORTS, PURGE_AUDIT_LOG, STAFF_PASSWORD_RESET, WELCOME_MAIL, WELCOME_TEST,
         SWEEP_WELCOME_MAILS, BUILD_DIGESTS, YEAR_RECEIPTS)  # fmt: skip


# -- job ids: a job queued twice under one id is one job -------------------------------------------------


def send_batch_id(issue_id: int, first: int, last: int) -> str:
    return f"send-{issue_id}-{first}-{last}"


def read_send_batch_id(job_id: str) -> tuple[int, int, int] | None:
    """``(issue, first, last)`` of a send batch's job id (its retries' ids too), else None."""
    parts = job_id.split("-")
    if len(parts) >= 4 and parts[0] == "send" and all(p.isdigit() for p in parts[1:4]):
        return int(parts[1]), int(parts[2]), int(parts[3])
    return None


def read_later_time(job_id: str) -> datetime | None:
    """When a job made by :func:`later_id` is due (None for a job that runs as soon as it can)."""
    _, marker, stamp = job_id.rpartition("-at-")
    return datetime.fromtimestamp(int(stamp), UTC) if marker and stamp.isdigit() else None


def later_id(job_id: str, when: datetime) -> str:
    """The id of the same job run again at ``when`` (a retry, a scheduled run)."""
    return f"{job_id}-at-{int(when.timestamp())}"


def scheduled_issue_id(issue_id: int, when: datetime) -> str:
    return later_id(f"issue-{issue_id}", when)


def issue_test_id(issue_id: int, audit_entry_id: int) -> str:
    """A test send's job, named by the audit entry that records it: one entry, one job."""
    return f"issue-test-{issue_id}-{audit_entry_id}"


def feed_import_id(feed_id: int, slot: int) -> str:
    return f"feed-import-{feed_id}-at-{slot}"


def subscriber_import_id(import_id: int, run: int = 0) -> str:
    """The import's job; queued again by the sweep after its worker died, under the next run's id."""
    return f"subscriber-import-{import_id}" + (f"-run-{run}" if run else "")


def donor_mail_id(mail_id: int) -> str:
    return f"donor-mail-{mail_id}"


def stripe_event_id(event_id: str) -> str:
    return f"stripe-event-{event_id}"


# -- connection and queues ---------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if not url:
        url = start_embedded_redis(Path(app.instance_path))
        app.config["REDIS_URL"] = url
    connection = redis.Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30
    )
    if app.config.get("CHECK_SERVICES", True):
        try:
            connection.ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise RedisUnavailable(
                f"Redis at {describe_url(url)} is unreachable ({exc}). Start Redis or set REDIS_URL to a "
                "running server."
            ) from None
    app.extensions[_EXTENSION_KEY] = connection


def get_redis(app: Flask | None = None) -> redis.Redis:
    return (app or current_app).extensions[_EXTENSION_KEY]


def get_queue(name: str, app: Flask | None = None) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis(app))


def _options(kind: JobKind, job_id: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "job_id": job_id, "result_ttl": kind.result_ttl, "failure_ttl": kind.failure_ttl,
        "timeout": kind.timeout, "retry": kind.retry, "ttl": kind.ttl,
    }  # fmt: skip
    return {key: value for key, value in options.items() if value is not None}


def enqueue(kind: JobKind, *args: Any, job_id: str | None = None, at: datetime | None = None,
            after: timedelta | None = None, **kwargs: Any) -> Job:  # fmt: skip
    """Queue ``kind.function(*args, **kwargs)``: now, at ``at``, or ``after`` a while (RQ's scheduler,
    which every worker runs, moves it to its queue when due)."""
    queue = get_queue(kind.queue)
    options = _options(kind, job_id)
    if "timeout" in options:
        options["job_timeout"] = options.pop("timeout")
    if at is not None:
        return queue.enqueue_at(at, kind.function, *args, **kwargs, **options)
    if after is not None:
        return queue.enqueue_in(after, kind.function, *args, **kwargs, **options)
    return queue.enqueue(kind.function, *args, **kwargs, **options)


def enqueue_many(kind: JobKind, calls: Iterable[tuple[tuple, str | None]]) -> list[Job]:
    """Queue ``kind.function(*args)`` for each ``(args, job_id)`` in one Redis round trip."""
    queue = get_queue(kind.queue)
    data = [Queue.prepare_data(kind.function, args, **_options(kind, job_id)) for args, job_id in calls]
    if not data:
        return []
    with queue.connection.pipeline() as pipe:
        jobs = queue.enqueue_many(data, pipeline=pipe)
        pipe.execute()
    return jobs
