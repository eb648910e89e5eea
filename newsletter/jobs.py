"""RQ entry points. Jobs take ids and plain values, never ORM objects, and are safe to run twice."""

from __future__ import annotations

from typing import Any

from flask import current_app

from . import delivery, mime, rendering


def send_transactional_mail(template: str, to: str, context: dict[str, Any], locale: str = "de") -> str:
    """Render ``email/<template>/`` for one reader and hand it to the relay. A temporary SMTP failure
    raises, so RQ retries the job (see ``api.send_transactional_mail``); a permanent one is logged."""
    config = current_app.config
    rendered = rendering.render_email(template, context, locale)
    try:
        message = mime.build_transactional(
            rendered, sender_name=config["NEWSROOM_NAME"], sender_address=config["MAIL_FROM"], to=to
        )
    except mime.HeaderInjection as exc:
        current_app.logger.warning("transactional mail %s not built: %s", template, exc)
        return f"refused: {exc}"
    return _deliver_one(config, to, message, what=f"transactional mail {template} to a reader")


def _deliver_one(config, to: str, message: bytes, *, what: str) -> str:
    """One transactional message through the same pipeline as a newsletter: DKIM when a key is set, the
    signed bounce address as envelope sender, ``delivery.Relay``. A temporary refusal raises (RQ tries
    again); a permanent one is logged as ``what`` and answered "refused: ..."."""
    from . import bounces, signing

    if config.get("DKIM_KEY") is not None:
        message = signing.sign(message, config["DKIM_KEY"])
    envelope = bounces.transactional_return_path(config["SECRET_KEY"], config["BOUNCE_DOMAIN"], to)
    try:
        with delivery.Relay(delivery.SMTPTarget.from_url(config["SMTP_URL"]), max_messages=1) as relay:
            return relay.send(envelope, to, message)
    except delivery.DeliveryError as exc:
        if exc.temporary:
            raise
        current_app.logger.warning("%s was refused: %s", what, exc)
        return f"refused: {exc}"


def sweep_reader_mails(batch: int = 1000) -> int:
    """Queue the confirmation and preference-link mails that sign-ups wrote to the outbox, batch by batch
    (run every 2 s by the clock, ``flask --app app newsletter clock``; also ``flask --app app newsletter
    sweep-reader-mails``). Safe to run twice and on several hosts: rows are claimed."""
    from db import db

    from . import subscribers

    queued = 0
    while True:
        count = subscribers.send_unqueued_reader_mails(
            db.session, base_url=current_app.config["BASE_URL"], limit=batch
        )
        db.session.commit()
        queued += count
        if count < batch:
            return queued


def expire_pending_signups() -> int:
    """Delete sign-ups never confirmed within a week (also ``flask --app app newsletter expire-pending``)."""
    from db import db

    from . import subscribers

    deleted = subscribers.expire_pending_signups(db.session)
    db.session.commit()
    return deleted


# -- subscriber imports ----------------------------------------------------------------------------


def run_subscriber_import(import_id: int) -> str:
    """Read, check and settle a CSV import; progress is committed chunk by chunk for the progress page.
    Safe to run twice (see ``imports.run_import``). Then the opt-in mails start, paced."""
    from db import db

    from . import imports
    from .models import ImportConsent, ImportState

    try:
        record = imports.run_import(db.session, import_id, on_progress=db.session.commit)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        imports.fail_import(db.session, import_id, f"the import stopped: {type(exc).__name__}")
        db.session.commit()
        raise
    if record is None or record.state is not ImportState.DONE:
        return "nothing to do"
    if record.consent is ImportConsent.NONE and record.created_count:
        send_import_opt_ins(import_id)
    return f"import {import_id}: {record.created_count} new"


def send_import_opt_ins(import_id: int) -> int:
    """One paced batch of opt-in mails for an import; schedules the next batch while readers wait."""
    from datetime import timedelta

    from db import db

    from . import imports
    from .queues import get_queue

    config = current_app.config
    waiting = imports.send_opt_ins(
        db.session, import_id, batch=config["IMPORT_OPT_IN_BATCH"],
        cap=config["IMPORT_OPT_IN_CAP"],
    )  # fmt: skip
    db.session.commit()
    sweep_reader_mails()  # the batch's mails are in the outbox; no need to wait for the clock
    if waiting:
        get_queue("default").enqueue_in(
            timedelta(seconds=config["IMPORT_OPT_IN_INTERVAL"]), send_import_opt_ins, import_id
        )
    return waiting


# --- Editorial (issue 4): feed import, issue test send --------------------------------------------------


def feed_fetch_policy():
    from .feeds import FetchPolicy

    config = current_app.config
    return FetchPolicy(
        timeout=float(config.get("FEED_TIMEOUT", 10.0)),
        max_bytes=int(config.get("FEED_MAX_BYTES", 5 * 1024 * 1024)),
        allowed_loopback=frozenset(config.get("FEED_ALLOWED_LOOPBACK") or ()),
    )


def import_feed(feed_id: int, *, reschedule: bool = False, slot: int | None = None) -> str:
    """Fetch one feed through the guard and import its items. A refusal or a broken feed is recorded on
    the feed (shown to editors), not retried. With ``reschedule`` (the scheduled runs) the next run is
    queued for the feed's next slot after this one (see :func:`schedule_feed`)."""
    from db import db, utcnow

    from . import articles, feeds
    from .models import Feed

    feed = db.session.get(Feed, feed_id)
    if feed is None or (reschedule and not feed.active):
        return "no such active feed"
    try:
        fetched = feeds.fetch(feed.url, feed_fetch_policy())
        parsed = articles.parse_feed(fetched.body)
        result = articles.import_entries(db.session, parsed)
    except (feeds.FetchRefused, articles.FeedError, articles.ArticleError) as exc:
        db.session.rollback()
        feed = db.session.get(Feed, feed_id)
        feed.last_error = str(exc)[:1000]
        feed.last_fetched_at = utcnow()
        outcome = f"failed: {exc}"
    else:
        feed.title = articles.plain_text(parsed.feed.get("title") or "")[:300] or feed.title
        feed.last_error = None
        feed.last_fetched_at = utcnow()
        feed.last_new, feed.last_updated = result.new, result.updated
        outcome = f"{result.new} new, {result.updated} updated"
    interval = feed.interval_minutes
    db.session.commit()
    if reschedule:
        schedule_feed(feed_id, interval, after=slot)
    return outcome


def next_feed_slot(interval_minutes: int, after: float) -> int:
    """The first multiple of the interval (Unix seconds) strictly after ``after``."""
    step = interval_minutes * 60
    return (int(after) // step + 1) * step


def schedule_feed(feed_id: int, interval_minutes: int, *, after: int | None = None):
    """Queue the feed's scheduled import for its next slot (RQ's scheduler runs it when due).

    Slots are multiples of the interval, and the job id names feed and slot: scheduling again before the
    slot (a second click, the ``schedule-feeds`` command, a job run twice) replaces the same waiting job,
    and a running job never shares its id with the next one, so finishing it cannot touch its successor.
    """
    from datetime import UTC, datetime

    from db import utcnow

    from .queues import get_queue

    now = utcnow().timestamp()
    slot = next_feed_slot(interval_minutes, max(now, after or 0))
    return get_queue("default").enqueue_at(
        datetime.fromtimestamp(slot, UTC),
        import_feed,
        feed_id,
        reschedule=True,
        slot=slot,
        job_id=f"feed-import-{feed_id}-at-{slot}",
        result_ttl=3600,
        failure_ttl=86400,
    )


def send_issue_test(issue_id: int, to: str, variant: str = "default", locale: str = "de") -> str:
    """The issue's message, as a reader of ``variant`` gets it, to a staff member's own address. The
    per-recipient slots hold harmless links instead of a reader's."""
    from db import db

    from . import issues
    from .models import Issue

    config = current_app.config
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        return "no such issue"
    rendered = issues.render_issue(issue, variant, base_url=config["BASE_URL"], locale=locale)
    rendered = rendering.fill_slots(rendered, issues.editor_slot_values(config["BASE_URL"]))
    try:
        message = mime.build_transactional(
            rendered,
            sender_name=issue.sender_name,
            sender_address=issue.sender_address,
            to=to,
            headers={"List-Unsubscribe": f"<{config['BASE_URL']}/>"},
        )
    except mime.HeaderInjection as exc:
        return f"refused: {exc}"
    return _deliver_one(config, to, message, what=f"test send of issue {issue_id}")


# -- sending an issue ------------------------------------------------------------------------------


def _send_context(job_id: str):
    from datetime import timedelta

    from . import delivery, gate, sending
    from .queues import get_redis

    config = current_app.config
    return sending.SendContext(
        base_url=config["BASE_URL"], secret_key=config["SECRET_KEY"],
        smtp=delivery.SMTPTarget.from_url(config["SMTP_URL"]),
        unsubscribe_mailbox=config["MAIL_UNSUBSCRIBE_ADDRESS"]
        or f"unsubscribe@{config['MAIL_FROM'].rpartition('@')[2]}",
        dkim=config.get("DKIM_KEY"), bounce_domain=config.get("BOUNCE_DOMAIN"),
        redis=get_redis(),
        rate=gate.Rate(config["MAIL_RATE_PER_SECOND"], config["MAIL_RATE_PER_HOUR"]),
        lease=timedelta(seconds=config["MAIL_LEASE_SECONDS"]),
        job_id=job_id,
    )  # fmt: skip


def enqueue_send(prepared) -> int:
    """One ``mail`` job per batch of the prepared send, with deterministic ids (queueing twice while a
    job waits adds nothing new to do: the claim sends each row once)."""
    from rq import Queue

    from . import sending
    from .queues import get_queue

    queue = get_queue("mail")
    jobs = [
        Queue.prepare_data(send_issue_batch, (prepared.issue_id, first, last),
                           job_id=sending.batch_job_id(prepared.issue_id, first, last), timeout=3600,
                           result_ttl=3600, failure_ttl=7 * 86400)
        for first, last in prepared.batches
    ]  # fmt: skip
    if jobs:
        queue.enqueue_many(jobs)
    return len(jobs)


def send_issue_batch(issue_id: int, first: int, last: int) -> dict[str, int]:
    """Send one batch of an issue (see ``sending.send_batch``); due retries come back as a later job."""
    from rq import get_current_job

    from db import db

    from . import gate, sending
    from .queues import get_queue, get_redis

    def retry_at(when):
        get_queue("mail").enqueue_at(
            when, send_issue_batch, issue_id, first, last,
            job_id=f"{sending.batch_job_id(issue_id, first, last)}-at-{int(when.timestamp())}",
        )  # fmt: skip

    job = get_current_job()
    job_id = job.id if job is not None else sending.batch_job_id(issue_id, first, last)
    context = _send_context(job_id)
    # A heartbeat from the start, so the sweeper counts this job as alive before its first message.
    get_redis().set(gate.heartbeat_key(job_id), "1", ex=int(context.lease.total_seconds()))
    db.session.rollback()  # start from what the database holds now, not from a session's earlier reads
    return sending.send_batch(db.session, issue_id, first, last, context, on_retry=retry_at)


def _live_send_job_ids() -> set[str]:
    """Jobs that hold send batches now: waiting in the mail queue, scheduled, or running with a heartbeat
    (a job in the started registry whose worker was killed has none)."""
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    from . import gate
    from .queues import get_queue, get_redis

    queue = get_queue("mail")
    live = set(queue.get_job_ids()) | set(ScheduledJobRegistry(queue=queue).get_job_ids())
    connection = get_redis()
    for job_id in StartedJobRegistry(queue=queue).get_job_ids(cleanup=False):
        if gate.job_alive(connection, job_id):
            live.add(job_id)
    return live


def sweep_sends() -> dict[str, int]:
    """The clock's sweep of the send path: start scheduled issues whose time has passed (the database is
    the truth; Redis may have lost the scheduler's job), decide the rows of workers that died, and queue
    again the batches of waiting rows that no job holds. Safe to run twice and on several hosts."""
    from db import db, utcnow

    from . import sending
    from .queues import get_queue, get_redis

    now = utcnow()
    report = {"started": 0, "requeued_batches": 0}
    db.session.rollback()
    for issue_id in sending.due_scheduled_issues(db.session, now):
        prepared = sending.fire_scheduled(
            db.session, issue_id, now=now, **sending.click_options(current_app.config)
        )
        db.session.commit()
        if prepared is not None:
            enqueue_send(prepared)
            report["started"] += 1
    report.update(sending.decide_lost_rows(db.session, get_redis(), now=now))
    queue = get_queue("mail")
    orphans = sending.orphaned_batches(db.session, _live_send_job_ids(), now=now)
    for issue_id, first, last, not_before in orphans:
        job_id = sending.batch_job_id(issue_id, first, last)
        if not_before is None:
            queue.enqueue(send_issue_batch, issue_id, first, last, job_id=job_id, job_timeout=3600,
                          result_ttl=3600, failure_ttl=7 * 86400)  # fmt: skip
        else:
            queue.enqueue_at(not_before, send_issue_batch, issue_id, first, last,
                             job_id=f"{job_id}-at-{int(not_before.timestamp())}")  # fmt: skip
        report["requeued_batches"] += 1
    db.session.commit()
    return report


def fire_scheduled_issue(issue_id: int) -> str:
    """The scheduler's job for a scheduled issue. The clock's sweep does the same for a job Redis lost;
    whichever comes second finds the issue sending and adds nothing."""
    from db import db

    from . import sending

    db.session.rollback()
    prepared = sending.fire_scheduled(db.session, issue_id, **sending.click_options(current_app.config))
    db.session.commit()
    if prepared is None:
        return "nothing to do"
    enqueue_send(prepared)
    return f"issue {issue_id}: {prepared.added} recipients"


def schedule_issue(issue_id: int, when) -> None:
    """Put the scheduled issue's job on the scheduler; one job id per issue and time."""
    from .queues import get_queue

    get_queue("mail").enqueue_at(
        when, fire_scheduled_issue, issue_id, job_id=f"issue-{issue_id}-at-{int(when.timestamp())}",
        result_ttl=86400,
    )  # fmt: skip


def signal_send(issue_id: int, word: str | None) -> bool:
    """Tell the workers at once that an issue was paused or cancelled (or clear it on resume). Only a
    shortcut: the database already says so, and workers read it at their next chunk."""
    import redis

    from . import gate
    from .queues import get_redis

    try:
        gate.set_control(get_redis(), issue_id, word)
    except redis.RedisError:
        return False
    return True


# -- bounces --------------------------------------------------------------------------------------------


def poll_bounce_mailbox(limit: int = 500) -> str:
    """Read the bounce mailbox (``BOUNCE_MAILBOX_URL``), apply each report and delete the message after
    its effect is committed (run every minute by the clock; also ``flask --app app newsletter bounces
    poll``). Does nothing when no mailbox is configured."""
    from db import db

    from . import bounces, mailbox

    config = current_app.config
    if not config.get("BOUNCE_MAILBOX_URL"):
        return "no bounce mailbox configured"
    counts: dict[str, int] = {}

    def handle(raw: bytes) -> None:
        try:
            report = bounces.read_bounce_message(raw, config["SECRET_KEY"])
        except Exception as exc:  # a message no detector can read must not block the mailbox for good
            current_app.logger.warning("bounce mailbox: a message could not be read (%s); deleted", exc)
            report = bounces.unreadable_report(raw)
        try:
            outcome = bounces.apply_report(db.session, report, secret_key=config["SECRET_KEY"], via="mailbox")
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        key = (outcome.kind or "ignored") if outcome.applied else "ignored"
        counts[key] = counts.get(key, 0) + 1

    target = mailbox.MailboxTarget.from_url(config["BOUNCE_MAILBOX_URL"])
    handled = mailbox.process(target, handle, limit=limit)
    detail = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    return f"{handled} messages" + (f": {detail}" if detail else "")
