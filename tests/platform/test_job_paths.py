"""The jobs Redis holds by their dotted paths: every kind of job the app queues names a function that exists,
and jobs queued by an earlier version under ``newsletter.jobs.*`` (a scheduled issue may wait a year) still
run, through the aliases in ``newsletter.jobs``, with the same effect as a job queued today.

Tried: a transactional mail and a scheduled issue stored under their old paths, each run by a worker; every
old path and every job kind resolved.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq.utils import import_attribute
from sqlalchemy import select

from db import utcnow
from newsletter.editorial.models import IssueState
from newsletter.platform import clock, queues
from newsletter.platform.queues import get_queue
from newsletter.sending.models import Delivery, DeliveryStatus
from tests.sending.factories import issue_with_readers
from tests.support.worker import run_jobs

# What the previous layout stored in Redis, and where each job lives now.
OLD_PATHS = {
    "newsletter.jobs.send_transactional_mail": "newsletter.mail.tasks.send_transactional_mail",
    "newsletter.jobs.sweep_reader_mails": "newsletter.readers.tasks.sweep_reader_mails",
    "newsletter.jobs.expire_pending_signups": "newsletter.readers.tasks.expire_pending_signups",
    "newsletter.jobs.run_subscriber_import": "newsletter.readers.tasks.run_subscriber_import",
    "newsletter.jobs.send_import_opt_ins": "newsletter.readers.tasks.send_import_opt_ins",
    "newsletter.jobs.import_feed": "newsletter.editorial.tasks.import_feed",
    "newsletter.jobs.send_issue_test": "newsletter.sending.tasks.send_issue_test",
    "newsletter.jobs.send_issue_batch": "newsletter.sending.tasks.send_issue_batch",
    "newsletter.jobs.fire_scheduled_issue": "newsletter.sending.tasks.fire_scheduled_issue",
    "newsletter.jobs.sweep_sends": "newsletter.sending.tasks.sweep_sends",
    "newsletter.jobs.poll_bounce_mailbox": "newsletter.sending.tasks.poll_bounce_mailbox",
}


@pytest.mark.parametrize("old", OLD_PATHS)
def test_every_old_job_path_is_the_job_of_today(old):
    assert import_attribute(old) is import_attribute(OLD_PATHS[old])


@pytest.mark.parametrize("kind", queues.KINDS, ids=lambda kind: kind.function)
def test_every_job_kind_names_a_function_on_a_known_queue(kind):
    assert callable(import_attribute(kind.function))
    assert kind.queue in queues.QUEUE_NAMES


def test_the_clock_queues_only_known_kinds_every_package_registered(app):
    registered = {periodic.kind for periodic in clock.periodic_jobs(app)}
    assert registered == {
        queues.SWEEP_READER_MAILS, queues.SWEEP_DONOR_MAILS, queues.EXPIRE_PENDING_SIGNUPS,
        queues.POLL_BOUNCE_MAILBOX, queues.SWEEP_SENDS, queues.SWEEP_STRIPE_EVENTS, queues.SWEEP_IMPORTS,
        queues.PURGE_AUDIT_LOG, queues.SWEEP_WELCOME_MAILS, queues.BUILD_DIGESTS,
    }  # fmt: skip  (the daily reconciliation only where Stripe is configured)


def test_a_transactional_mail_stored_under_its_old_path_is_sent(app, relay):
    get_queue("transactional").enqueue("newsletter.jobs.send_transactional_mail", "test_message",
                                       "alt@example.org", {}, "en")  # fmt: skip
    run_jobs(app)
    [message] = relay.wait_for(1)
    assert relay.received[0].rcpt_tos == ["alt@example.org"] and "Test message" in message["Subject"]


def test_a_scheduled_issue_stored_under_its_old_path_is_sent_once(app, db, relay):
    issue = issue_with_readers(db, readers=("a@example.org", "b@example.org"))
    issue.state, issue.scheduled_at = IssueState.SCHEDULED, utcnow() - timedelta(minutes=1)
    db.session.commit()
    for _ in range(2):  # the old job and a duplicate of it: the second finds the issue sending
        get_queue("mail").enqueue("newsletter.jobs.fire_scheduled_issue", issue.id)
    run_jobs(app)
    relay.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in relay.received) == ["a@example.org", "b@example.org"]
    db.session.expire_all()
    assert issue.state is IssueState.SENT
    statuses = db.session.scalars(select(Delivery.status).where(Delivery.issue_id == issue.id)).all()
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.SENT]
