"""The send path's write-time summaries, kept in the transaction of the change they count: an issue's
ledger counted once when it becomes sent (``IssueTally``) and moved by a later bounce, and a leaving
reader blamed on the issue they last got (``SubscriberEvent.issue_id``), in the flush that records the
leaving (:func:`register_hooks`), so that the statistics count instead of searching. A reader who left
from an issue's own mail (its one-click link or POST, its mailto address: the signed token names the
issue, and the event's details keep it) is counted for that issue, whenever they left."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Interval, case, delete, func, literal, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from db import UTCDateTime, utcnow
from newsletter.editorial.models import Issue
from newsletter.readers.models import SubscriberEvent
from newsletter.sending.models import Delivery, DeliveryStatus, IssueTally

UNSUBSCRIBE_WINDOW = timedelta(days=7)  # an unsubscribe is blamed on the last issue sent within this
LEAVING_KINDS = ("unsubscribed",)  # a reader leaving everything: the readers' monthly figures
# What an issue's statistics count as "unsubscribed": leaving everything or one newsletter, because of it.
ISSUE_LEAVING_KINDS = ("unsubscribed", "left_newsletter")
BOUNCE_KINDS = ("bounced", "complained")
ACCEPTED = (DeliveryStatus.SENT, DeliveryStatus.BOUNCED)  # the relay took it (a bounce came later)


def _days_before(session: Session, column, delta: timedelta):
    if session.get_bind().dialect.name == "sqlite":
        return func.datetime(column, f"-{int(delta.total_seconds())} seconds")
    return column - literal(delta, Interval())


def last_issue(session: Session, subscriber_id, moment):
    """The issue last sent to the reader at or before ``moment`` and within the 7 days before it: the one
    a reader leaving at ``moment`` is blamed on (a scalar subquery; None when there is none)."""
    return (
        select(Delivery.issue_id)
        .where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.sent_at.is_not(None),
            Delivery.sent_at <= moment,
            Delivery.sent_at >= _days_before(session, moment, UNSUBSCRIBE_WINDOW),
        )
        .order_by(Delivery.sent_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def named_issue(subscriber_id, named):
    """The issue a leaving event names (the one whose mail the reader left from), when that reader was
    sent it (a scalar subquery; None otherwise): a token for an issue since deleted blames no issue."""
    return (
        select(Delivery.issue_id)
        .where(Delivery.issue_id == named, Delivery.subscriber_id == subscriber_id)
        .limit(1)
        .scalar_subquery()
    )


def blamed_issue(session: Session, event=SubscriberEvent):
    """The issue a leaving event is counted for, in SQL: the issue it names, else the last one sent to the
    reader in the 7 days before (:func:`last_issue`)."""
    named = named_issue(event.subscriber_id, event.detail["issue_id"].as_integer())
    return func.coalesce(named, last_issue(session, event.subscriber_id, event.created_at))


def blame_unsubscribes(session: Session) -> int:
    """Set the blamed issue on every leaving event that has none yet, set-based (the migration that added
    the column, the demo data and the benchmark's bulk load; events written through the ORM are blamed as
    they are flushed, by :func:`_blame_on_flush`). Returns the number of events looked at."""
    event = SubscriberEvent
    return session.execute(
        update(event)
        .where(event.kind.in_(ISSUE_LEAVING_KINDS), event.issue_id.is_(None))
        .values(issue_id=blamed_issue(session, event))
        .execution_options(synchronize_session=False)
    ).rowcount


def _blame_on_flush(session: Session, flush_context, instances) -> None:
    """A reader leaving is blamed on an issue in the same flush that writes the event (the same
    transaction): one index look-up then, instead of one per leaver each time the statistics are read."""
    leaving = [o for o in session.new if isinstance(o, SubscriberEvent) and o.kind in ISSUE_LEAVING_KINDS
               and o.issue_id is None]  # fmt: skip
    if not leaving:
        return
    with session.no_autoflush:
        for event in leaving:
            reader = (
                event.subscriber_id
                if event.subscriber_id is not None
                else getattr(event.subscriber, "id", None)
            )
            if reader is None:  # a reader written in this same flush has been sent nothing yet
                continue
            if event.created_at is None:
                event.created_at = utcnow()
            named = (event.detail or {}).get("issue_id")
            if isinstance(named, int) and named > 0:
                event.issue_id = session.scalar(select(named_issue(reader, named)))
                if event.issue_id is not None:
                    continue
            event.issue_id = session.scalar(
                select(last_issue(session, reader, literal(event.created_at, UTCDateTime())))
            )


def ledger_counts(ids):
    def count(*statuses):
        return func.sum(case((Delivery.status.in_(statuses), 1), else_=0))

    return (
        select(Delivery.issue_id, func.count(), count(*ACCEPTED), count(DeliveryStatus.FAILED),
               count(DeliveryStatus.BOUNCED))
        .where(Delivery.issue_id.in_(ids))
        .group_by(Delivery.issue_id)
    )  # fmt: skip


def tally_issue(session: Session, issue_id: int) -> None:
    """Count the issue's send ledger into ``issue_tallies`` (once, when it has become sent: in the same
    transaction, see ``ledger.finish_if_done``); later bounces bump it (:func:`count_bounce`)."""
    counts = session.execute(ledger_counts([issue_id])).first()
    recipients, accepted, failed, bounced = (int(v or 0) for v in counts[1:]) if counts else (0, 0, 0, 0)
    session.execute(delete(IssueTally).where(IssueTally.issue_id == issue_id))
    session.add(IssueTally(issue_id=issue_id, recipients=recipients, accepted=accepted, failed=failed,
                           bounced=bounced))  # fmt: skip
    session.flush()


def count_bounce(session: Session, delivery: Delivery, old_status: DeliveryStatus) -> None:
    """A delivery row became bounced: move it in the issue's tally, if the issue has one. The issue row
    is locked first, so a tally being written by a concurrent ``finish_if_done`` is committed (and then
    bumped here) or is written after this transaction (and then counts this row itself)."""
    session.execute(select(Issue.id).where(Issue.id == delivery.issue_id).with_for_update())
    accepted = 0 if old_status in ACCEPTED else 1
    session.execute(
        update(IssueTally)
        .where(IssueTally.issue_id == delivery.issue_id)
        .values(bounced=IssueTally.bounced + 1, accepted=IssueTally.accepted + accepted)
        .execution_options(synchronize_session=False)
    )


def register_hooks() -> None:
    """Blame leavers in every session's flush (once per process, whatever the number of apps)."""
    if not sa_event.contains(Session, "before_flush", _blame_on_flush):
        sa_event.listen(Session, "before_flush", _blame_on_flush)
