"""Sending an issue to its readers: the ledger (one ``Delivery`` row per reader), batches for the
``mail`` queue, and the worker's side of a batch. Plain functions; the caller (view, job, CLI) commits.

1. :func:`prepare_send` writes every eligible reader's ledger row in one ``INSERT ... SELECT`` (unique on
   issue and reader: pressing Send twice adds nothing) and says which id ranges the batch jobs cover.
2. :func:`send_batch` claims the due ``queued`` rows of one range, checks each reader again, fills the
   issue's pre-encoded skeleton (``mime``) and hands it to the relay over one reused connection
   (``delivery.Relay``), recording outcomes in small committed chunks.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, update
from sqlalchemy.orm import Session

from db import utcnow

from . import bounces, delivery, issues, links, mime, rendering, signing, subscribers
from .models import (
    AskFrequency,
    Delivery,
    DeliveryStatus,
    Issue,
    IssueState,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SuppressionReason,
    issue_newsletters,
)

BATCH_SIZE = 500
LEASE = timedelta(minutes=10)  # a claimed row whose worker vanished is decided after this
MAX_ATTEMPTS = 6
BACKOFF = (60, 300, 900, 3600, 4 * 3600)  # seconds before the 2nd, 3rd ... attempt after a 4xx
RECORD_EVERY = 50  # outcomes are committed in chunks this size


class SendError(ValueError):
    """The issue cannot be sent as asked; the message is meant for the editor."""


@dataclass(frozen=True)
class PreparedSend:
    issue_id: int
    added: int  # ledger rows written now (0 when Send was pressed before)
    batches: list[tuple[int, int]]  # (first id, last id) of each batch job


def _insert_ignoring_duplicates(session: Session, columns: list[str], rows: Select):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(Delivery).from_select(columns, rows).on_conflict_do_nothing()


def prepare_send(session: Session, issue: Issue, *, now: datetime | None = None) -> PreparedSend:
    """Turn the issue to ``sending`` and write one ledger row per eligible reader: active, on one of the
    issue's newsletters, not paused. Safe to run again: existing rows stay as they are."""
    now = now or utcnow()
    if issue.state not in (IssueState.DRAFT, IssueState.SCHEDULED, IssueState.SENDING):
        raise SendError(f"an issue that is {issue.state.value} cannot be sent")
    if not issue.newsletters:
        raise SendError("choose at least one newsletter to send the issue to")
    if not issue.items:
        raise SendError("add at least one article before sending")
    eligible = (
        select(
            literal(issue.id, Delivery.issue_id.type),
            Subscriber.id,
            func.min(Subscription.newsletter_id),
            literal("default", Delivery.variant.type),
            literal(DeliveryStatus.QUEUED, Delivery.status.type),
            literal(0, Delivery.attempts.type),
            literal(now, Delivery.created_at.type),
        )
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .join(issue_newsletters, issue_newsletters.c.newsletter_id == Subscription.newsletter_id)
        .where(
            issue_newsletters.c.issue_id == issue.id,
            Subscriber.status == SubscriberStatus.ACTIVE,
            or_(Subscriber.paused_until.is_(None), Subscriber.paused_until <= now),
        )
        .group_by(Subscriber.id)
    )
    columns = ["issue_id", "subscriber_id", "newsletter_id", "variant", "status", "attempts", "created_at"]
    added = session.scalars(_insert_ignoring_duplicates(session, columns, eligible).returning(Delivery.id))
    count = len(added.all())
    assign_ask_variants(session, issue)
    issue.state = IssueState.SENDING
    return PreparedSend(issue.id, count, batch_ranges(session, issue.id))


def ask_variant(state: str | None, ask_frequency: AskFrequency, issue_id: int) -> str:
    """The ask block a reader gets: thanks for monthly supporters, a private "update your card" when their
    payment fails, nothing for readers who asked never to be asked (and, for "less often", in two issues
    of three), an invitation to go monthly after a one-time gift, the plain ask for everyone else."""
    if state in ("failing", "monthly"):
        return state
    if ask_frequency is AskFrequency.NEVER or (ask_frequency is AskFrequency.LESS and issue_id % 3):
        return "no_ask"
    return "one_time" if state == "one_time" else "default"


def assign_ask_variants(session: Session, issue: Issue, *, chunk: int = 1000) -> None:
    """Choose each queued reader's variant of the issue at send time: readers who asked to be asked less
    or never, in one UPDATE; donors (few beside the readers) by their supporter state from the donations
    side (``api.donor_states``), by primary key in bulk."""
    from .api import donor_states

    quiet = [AskFrequency.NEVER] + ([AskFrequency.LESS] if issue.id % 3 else [])
    session.execute(
        update(Delivery)
        .where(
            Delivery.issue_id == issue.id,
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.subscriber_id.in_(select(Subscriber.id).where(Subscriber.ask_frequency.in_(quiet))),
        )
        .values(variant="no_ask"),
        execution_options={"synchronize_session": False},
    )
    states = donor_states(session)
    emails = list(states)
    for start in range(0, len(emails), chunk):
        rows = session.execute(
            select(Delivery.id, func.lower(Subscriber.email), Subscriber.ask_frequency)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(
                Delivery.issue_id == issue.id,
                Delivery.status == DeliveryStatus.QUEUED,
                func.lower(Subscriber.email).in_(emails[start : start + chunk]),
            )
        ).all()
        changes = [
            {"id": delivery_id, "variant": ask_variant(states[email], frequency, issue.id)}
            for delivery_id, email, frequency in rows
        ]
        if changes:
            session.execute(update(Delivery), changes)


def batch_ranges(session: Session, issue_id: int, size: int = BATCH_SIZE) -> list[tuple[int, int]]:
    """Consecutive id ranges of the issue's queued rows, ``size`` rows each."""
    ids = session.scalars(
        select(Delivery.id)
        .where(Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.QUEUED)
        .order_by(Delivery.id)
    ).all()
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def batch_job_id(issue_id: int, first: int, last: int) -> str:
    return f"send-{issue_id}-{first}-{last}"


def progress(session: Session, issue_id: int) -> dict[str, int]:
    """Rows by status: the same numbers in the page, the CLI and the API."""
    counts = dict.fromkeys((s.value for s in DeliveryStatus), 0)
    rows = session.execute(
        select(Delivery.status, func.count()).where(Delivery.issue_id == issue_id).group_by(Delivery.status)
    ).all()
    for status, count in rows:
        counts[DeliveryStatus(status).value] = count
    counts["total"] = sum(counts.values())
    return counts


# -- the worker's side ---------------------------------------------------------------------------------


@dataclass
class SendContext:
    """What a worker needs beyond the database: settings and the relay, passed in by the job."""

    base_url: str
    secret_key: str
    smtp: delivery.SMTPTarget
    unsubscribe_mailbox: str
    feedback_tag: str = "beitrag"
    dkim: signing.DKIMKey | None = None  # sign every message when set
    bounce_domain: str | None = None  # envelope sender bounces+<signed issue and row>@ this domain


_skeletons: dict[tuple[int, str, Any], mime.Skeleton] = {}


def _skeleton(issue: Issue, variant: str, base_url: str) -> mime.Skeleton:
    """The issue's variant encoded once per worker process (and again only when the issue changed)."""
    key = (issue.id, variant, issue.updated_at)
    skeleton = _skeletons.get(key)
    if skeleton is None:
        rendered = issues.render_issue(issue, variant, base_url=base_url)
        first = issue.newsletters[0] if issue.newsletters else None
        list_name = first.name if first is not None else "Newsletter"
        list_key = first.slug if first is not None else "newsletter"
        domain = mime.sender_domain(issue.sender_address)
        skeleton = mime.build_skeleton(
            rendered, sender_name=issue.sender_name, sender_address=issue.sender_address,
            list_id=f"{list_name} <{list_key}.{domain}>", feedback_id=f"{issue.id}:{list_key}:beitrag",
            slot_tokens=rendering.SLOTS,
        )  # fmt: skip
        if len(_skeletons) > 32:
            _skeletons.clear()
        _skeletons[key] = skeleton
    return skeleton


@lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str | None:
    """IDNA form of a domain, once per domain per process (readers share a handful of domains)."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _header_address(email: str) -> str | None:
    """The address for the To header: the domain IDNA-encoded; None when the local part is not ASCII
    (that needs SMTPUTF8, which the relay may not offer)."""
    local, _, domain = email.rpartition("@")
    ascii_domain = _ascii_domain(domain)
    if not local.isascii() or ascii_domain is None:
        return None
    return f"{local}@{ascii_domain}"


def _claim(session: Session, issue_id: int, first: int, last: int, now: datetime) -> list[Any]:
    due = and_(
        Delivery.issue_id == issue_id,
        Delivery.id.between(first, last),
        Delivery.status == DeliveryStatus.QUEUED,
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )
    claimed = session.execute(
        update(Delivery)
        .where(due)
        .values(status=DeliveryStatus.SENDING, lease_until=now + LEASE, attempts=Delivery.attempts + 1)
        .returning(
            Delivery.id, Delivery.subscriber_id, Delivery.newsletter_id, Delivery.variant, Delivery.attempts
        )
    ).all()
    session.commit()  # the claim is visible to every other worker before any message leaves
    return sorted(claimed, key=lambda row: row.id)


def _still_wanted(reader: Any, now: datetime) -> bool:
    """Checked again right before the message: an unsubscribe or a pause during the send is honoured."""
    return (
        reader is not None
        and reader.status is SubscriberStatus.ACTIVE
        and (reader.paused_until is None or reader.paused_until <= now)
    )


def _slot_values(context: SendContext, reader: Any, to: str, row: Any, message_id: str, date: str) -> dict:
    unsubscribe = links.unsubscribe_url(context.base_url, context.secret_key, reader.id, row.newsletter_id)
    mailto = f"mailto:{context.unsubscribe_mailbox}?subject=unsubscribe-{unsubscribe.rsplit('/', 1)[1]}"
    return {
        "to": to,
        "message_id": message_id,
        "date": date,
        "list_unsubscribe": f"<{unsubscribe}>, <{mailto}>",
        "unsubscribe_url": unsubscribe,
        "preferences_url": links.preferences_url(context.base_url, context.secret_key, reader.id),
    }


def _after_refusal(row: Any, exc: delivery.DeliveryError, now: datetime) -> dict[str, Any]:
    """The ledger values after the relay said no: back in the queue with a backoff, or failed."""
    if exc.temporary and row.attempts < MAX_ATTEMPTS:
        retry_at = now + timedelta(seconds=BACKOFF[min(row.attempts, len(BACKOFF)) - 1])
        return {"status": DeliveryStatus.QUEUED, "next_attempt_at": retry_at, "reply": str(exc)[:300]}
    return {"status": DeliveryStatus.FAILED, "reply": str(exc)[:300]}


def send_batch(
    session: Session,
    issue_id: int,
    first: int,
    last: int,
    context: SendContext,
    *,
    on_retry: Callable[[datetime], None] | None = None,
) -> dict[str, int]:
    """Send the due rows of one batch. Returns counts of this run's outcomes. A 4xx puts the row back in
    the queue with a backoff and calls ``on_retry`` with the earliest retry time."""
    now = utcnow()
    issue = session.get(Issue, issue_id)
    outcome = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
    if issue is None or issue.state is not IssueState.SENDING:
        return outcome
    rows = _claim(session, issue_id, first, last, now)
    if not rows:
        return outcome
    wanted_ids = [row.subscriber_id for row in rows if row.subscriber_id is not None]
    readers = {
        r.id: r
        for r in session.execute(
            select(Subscriber.id, Subscriber.email, Subscriber.status, Subscriber.paused_until).where(
                Subscriber.id.in_(wanted_ids)
            )
        )
    }
    date = format_datetime(now)
    domain = mime.sender_domain(issue.sender_address)
    pending: list[tuple[int, dict[str, Any]]] = []
    retries: list[datetime] = []

    def record() -> None:
        # One UPDATE by primary key for the whole chunk (executemany), not a statement per reader.
        if pending:
            rows = [{"id": delivery_id, "lease_until": None, **values} for delivery_id, values in pending]
            session.execute(update(Delivery), rows)
        session.commit()
        pending.clear()

    with delivery.Relay(context.smtp) as relay:
        for row in rows:
            reader = readers.get(row.subscriber_id)
            to = _header_address(reader.email) if reader is not None else None
            if not _still_wanted(reader, now):
                values = {"status": DeliveryStatus.SKIPPED}
            elif to is None:
                values = {"status": DeliveryStatus.FAILED, "reply": "the address needs SMTPUTF8"}
            else:
                message_id = f"<{issue_id}.{row.id}.{secrets.token_hex(6)}@{domain}>"
                try:
                    skeleton = _skeleton(issue, row.variant, context.base_url)
                    message = skeleton.assemble(_slot_values(context, reader, to, row, message_id, date))
                    if context.dkim is not None:
                        message = signing.sign(message, context.dkim)
                    envelope = issue.sender_address if context.bounce_domain is None else \
                        bounces.return_path(context.secret_key, context.bounce_domain, issue_id, row.id)
                    reply = relay.send(envelope, to, message)
                except mime.HeaderInjection as exc:
                    values = {"status": DeliveryStatus.FAILED, "reply": f"not sent: {exc}"[:300]}
                except delivery.DeliveryError as exc:
                    values = _after_refusal(row, exc, now)
                    if values["status"] is DeliveryStatus.QUEUED:
                        retries.append(values["next_attempt_at"])
                    elif exc.code is not None and str(exc).startswith(f"{exc.code} 5.1."):
                        _hard_bounce(session, reader.id)
                else:
                    values = {"status": DeliveryStatus.SENT, "sent_at": utcnow(), "reply": reply[:300],
                              "message_id": message_id}  # fmt: skip
            pending.append((row.id, values))
            key = "retry" if values["status"] is DeliveryStatus.QUEUED else values["status"].value
            outcome[key] = outcome.get(key, 0) + 1
            if len(pending) >= RECORD_EVERY:
                record()
    record()
    if retries and on_retry is not None:
        on_retry(min(retries))
    finish_if_done(session, issue_id)
    return outcome


def _hard_bounce(session: Session, subscriber_id: int) -> None:
    """A 5.1.x (no such mailbox): the address is never mailed again."""
    reader = session.get(Subscriber, subscriber_id)
    if reader is not None and reader.status is SubscriberStatus.ACTIVE:
        reader.status = SubscriberStatus.BOUNCED
        subscribers.suppress(session, reader.email, SuppressionReason.BOUNCED)
        subscribers.record_event(session, reader, "bounced", via="relay")


def finish_if_done(session: Session, issue_id: int) -> bool:
    """Mark the issue sent once no row is queued or being sent."""
    open_rows = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.issue_id == issue_id,
            Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
        )
    )
    if open_rows:
        return False
    done = session.execute(
        update(Issue)
        .where(Issue.id == issue_id, Issue.state == IssueState.SENDING)
        .values(state=IssueState.SENT, sent_at=utcnow())
    )
    session.commit()
    return bool(done.rowcount)
