"""The events' jobs: looking up at Stripe what a parked event is about, and the clock's sweep of parked
events whose lookup was lost (Redis away, a worker killed)."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy.orm import Session

from db import db, utcnow
from newsletter.platform import queues
from payments.events import parking, reconcile
from payments.settings import stripe_settings

log = logging.getLogger(__name__)


def look_up_later(session: Session, event_id: str, *, base_url: str) -> None:
    """After a parked event's commit: apply it if its payment became known meanwhile (a concurrent
    delivery), else queue its lookup at Stripe. Redis being away only delays it until the sweep."""
    try:
        if parking.settle(session, event_id, base_url=base_url):
            return
    except Exception as exc:  # the event is stored; the sweep or the lookup applies it
        session.rollback()
        log.warning("parked Stripe event %s not settled yet: %s", event_id, exc)
    try:
        delay = timedelta(seconds=current_app.config["STRIPE_LOOKUP_DELAY_SECONDS"])
        queues.enqueue(queues.RESOLVE_STRIPE_EVENT, event_id, job_id=queues.stripe_event_id(event_id),
                       after=delay)  # fmt: skip
    except Exception as exc:
        log.warning("lookup of Stripe event %s not queued yet: %s", event_id, exc)


def resolve_stripe_event(event_id: str) -> str:
    """The job: see :func:`payments.events.parking.resolve`."""
    settings = stripe_settings()
    if settings is None:
        return "Stripe is not configured"
    return parking.resolve(
        db.session, event_id, settings.for_lookups(), base_url=current_app.config["BASE_URL"]
    )


def sweep_parked_events() -> int:
    """The clock's sweep: queue the lookup of every parked event that is due (see ``parking.due``)."""
    due = parking.due(db.session)
    db.session.commit()
    for event_id in due:
        queues.enqueue(queues.RESOLVE_STRIPE_EVENT, event_id, job_id=queues.stripe_event_id(event_id))
    return len(due)


RECONCILE_DAYS = 4  # Stripe retries for three days: the clock's daily run looks at a day more


def reconcile_recent() -> str:
    """The clock's daily reconciliation of the last :data:`RECONCILE_DAYS` days (see
    :mod:`payments.events.reconcile`); differences are logged for the operator."""
    settings = stripe_settings()
    if settings is None:
        return "Stripe is not configured"
    report = reconcile.reconcile(
        db.session, settings.for_lookups(), since=utcnow() - timedelta(days=RECONCILE_DAYS),
        base_url=current_app.config["BASE_URL"],
    )  # fmt: skip
    for line in report.repaired:
        log.warning("reconciliation repaired %s", line)
    for line in report.differences:
        log.error("reconciliation difference: %s", line)
    return f"{report.seen} compared, {len(report.repaired)} repaired, {len(report.differences)} differences"
