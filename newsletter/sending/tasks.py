"""The send path's jobs: a batch of an issue, a scheduled issue's start, the sweep and the bounce mailbox,
the welcome mails' sweep and sends.
Jobs take ids and plain values, and are safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from rq import get_current_job

from db import db
from newsletter.mail import mailbox, smtp
from newsletter.mail import outbox as mail_outbox
from newsletter.platform import queues
from newsletter.sending import (
    autopause,
    batches,
    control,
    digest_runs,
    gate,
    mailbox_poll,
    sweeper,
    test_sends,
    unsubscribe_mails,
    welcome,
)


def _send_context(job_id: str) -> batches.SendContext:
    config = current_app.config
    return batches.SendContext(
        base_url=config["BASE_URL"], secret_key=config["SECRET_KEY"],
        smtp=smtp.SMTPTarget.from_url(config["SMTP_URL"]),
        unsubscribe_mailbox=unsubscribe_mails.mailto_address(config),
        dkim=config.get("DKIM_KEY"), bounce_domain=config.get("BOUNCE_DOMAIN"),
        redis=queues.get_redis(),
        rate=gate.Rate(config["MAIL_RATE_PER_SECOND"], config["MAIL_RATE_PER_HOUR"]),
        lease=timedelta(seconds=config["MAIL_LEASE_SECONDS"]),
        resend_uncertain=bool(config.get("MAIL_RESEND_UNCERTAIN")),
        auto_pause=autopause.Limits.from_config(config),
        job_id=job_id,
    )  # fmt: skip


def send_issue_batch(issue_id: int, first: int, last: int) -> dict[str, int]:
    """Send one batch of an issue (see ``batches.send_batch``); due retries come back as a later job."""
    job = get_current_job()
    job_id = job.id if job is not None else queues.send_batch_id(issue_id, first, last)
    context = _send_context(job_id)
    # A heartbeat from the start, so the sweeper counts this job as alive before its first message.
    context.redis.set(gate.heartbeat_key(job_id), "1", ex=int(context.lease.total_seconds()))
    db.session.rollback()  # start from what the database holds now, not from a session's earlier reads
    return batches.send_batch(
        db.session, issue_id, first, last, context,
        on_retry=lambda when: control.queue_batch_at(issue_id, first, last, when),
    )  # fmt: skip


def send_issue_test(
    issue_id: int, recipients: list[str] | str, variant: str = "default", locale: str = "de"
) -> dict[str, str]:
    """An editor's test send of the issue (see ``test_sends``), through the relay the send path uses. A
    single address is what a job queued before test readers existed carries."""
    if isinstance(recipients, str):
        recipients = [recipients]
    db.session.rollback()
    return test_sends.send_test(
        db.session, issue_id, recipients, variant, locale, _send_context(f"issue-test-{int(issue_id)}")
    )


def fire_scheduled_issue(issue_id: int) -> str:
    """The scheduler's job for a scheduled issue. The clock's sweep does the same for a job Redis lost;
    whichever comes second finds the issue sending and adds nothing."""
    db.session.rollback()
    started = control.start_scheduled(db.session, issue_id, current_app.config)
    if started is None:
        return "nothing to do"
    waiting = "" if started.queued else "; the queue was unreachable, the clock's sweep queues them"
    return f"issue {issue_id}: {started.added} recipients{waiting}"


def sweep_sends() -> dict[str, int]:
    """The clock's sweep of the send path (see ``sweeper``)."""
    return sweeper.sweep(db.session, queues.get_redis(), current_app.config)


def build_digests() -> str:
    """The clock's digest sweep: every digest's slot that is due is built (see ``digest_runs``)."""
    built = digest_runs.build_due(db.session, current_app.config)
    return ", ".join(f"digest run {b.run_id}: {b.state}" for b in built) or "nothing due"


def poll_bounce_mailbox(limit: int = 500) -> str:
    """Read the bounce mailbox (``BOUNCE_MAILBOX_URL``) and the unsubscribe mailbox
    (``UNSUBSCRIBE_MAILBOX_URL``, when it is another one) once (run every minute by the clock; also
    ``flask --app app newsletter bounces poll``); see ``mailbox_poll.process_mailbox``. Does nothing
    without one."""
    config = current_app.config
    urls = list(dict.fromkeys(u for u in (config.get("BOUNCE_MAILBOX_URL"),
                                          config.get("UNSUBSCRIBE_MAILBOX_URL")) if u))  # fmt: skip
    if not urls:
        return "no bounce mailbox configured"
    secret_key = config["SECRET_KEY"]
    handled, counts = 0, {}
    for url in urls:
        target = mailbox.MailboxTarget.from_url(url)
        done, found = mailbox_poll.process_mailbox(
            db.session,
            target,
            secret_key=secret_key,
            limit=limit,
            limits=autopause.Limits.from_config(config),
            paused=lambda issue_id: control.signal_send(issue_id, "pause"),
        )
        handled += done
        for kind, n in found.items():
            counts[kind] = counts.get(kind, 0) + n
    detail = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    return f"{handled} messages" + (f": {detail}" if detail else "")


def sweep_welcome_mails(batch: int = 1000) -> int:
    """Queue the welcome mails whose time has come, batch by batch (run every 2 s by the clock). Safe to
    run twice and on several hosts: rows are claimed."""
    return mail_outbox.sweep_all(
        db.session, lambda limit: welcome.queue_due_welcome_mails(db.session, limit=limit), batch=batch
    )


def send_welcome_mail(welcome_mail_id: int) -> str:
    """One reader's welcome to one newsletter (see ``welcome.send_welcome_mail``); safe to run twice."""
    db.session.rollback()
    return welcome.send_welcome_mail(db.session, welcome_mail_id, current_app.config)


def send_welcome_test(newsletter_id: int, to: str, locale: str = "de", variant: str = "default") -> str:
    """An editor's test of a newsletter's welcome mail, to their own address."""
    db.session.rollback()
    return welcome.send_test(db.session, newsletter_id, to, locale, variant, current_app.config)
