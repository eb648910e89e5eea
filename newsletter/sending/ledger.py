"""The send ledger: one ``Delivery`` row per reader of an issue, written in one ``INSERT ... SELECT`` when
the send starts (unique on issue and reader: pressing Send twice adds nothing), each reader's variant of the
ask block, the batches the workers get, and the moment the issue becomes sent. Plain functions; the caller
owns the transaction, except :func:`finish_if_done`, which commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from db import dialect_insert, utcnow
from newsletter.editorial.issues import seal_for_sending
from newsletter.editorial.models import Issue, IssueState, issue_newsletters
from newsletter.mail import alignment
from newsletter.ports import donor_states
from newsletter.readers.models import AskFrequency, Subscriber, SubscriberStatus, Subscription
from newsletter.sending import clicks
from newsletter.sending.models import Delivery, DeliveryStatus
from newsletter.sending.tallies import tally_issue

BATCH_SIZE = 500


class SendError(ValueError):
    """The issue cannot be sent as asked; the message is meant for the editor."""


@dataclass(frozen=True)
class PreparedSend:
    issue_id: int
    added: int  # ledger rows written now (0 when Send was pressed before)
    batches: list[tuple[int, int]]  # (first id, last id) of each batch job


def prepare_send(
    session: Session, issue: Issue, *, now: datetime | None = None, count_clicks: bool = False,
    base_url: str | None = None, config: Any = None,
) -> PreparedSend:  # fmt: skip
    """Turn the issue to ``sending`` and write one ledger row per eligible reader: active, on one of the
    issue's newsletters, not paused. In the same transaction the issue's content is sealed
    (``issues.seal_for_sending``): every batch sends, and the archive shows, the articles as they are
    now. Safe to run again: existing rows and the sealed content stay as they are. With
    ``count_clicks`` (and the ``base_url`` links are made for) the issue's links are numbered for click
    counting (``clicks.register_links``); the workers then rewrite them in every variant. Given the app's
    ``config``, a sender that does not align with the DKIM and bounce domains is refused too."""
    now = now or utcnow()
    if issue.state not in (IssueState.DRAFT, IssueState.SCHEDULED, IssueState.SENDING):
        raise SendError(_l("an issue that is %(state)s cannot be sent", state=issue.state.value))
    check_sendable(issue, config)
    eligible = eligible_readers(
        issue.id, now,
        literal(issue.id, Delivery.issue_id.type),
        Subscriber.id,
        func.min(Subscription.newsletter_id),
        literal("default", Delivery.variant.type),
        delivery_locale(),
        literal(DeliveryStatus.QUEUED, Delivery.status.type),
        literal(0, Delivery.attempts.type),
        literal(now, Delivery.created_at.type),
    )  # fmt: skip
    columns = [
        "issue_id", "subscriber_id", "newsletter_id", "variant", "locale", "status", "attempts", "created_at"
    ]  # fmt: skip
    insert = dialect_insert(session, Delivery).from_select(columns, eligible).on_conflict_do_nothing()
    added = session.scalars(insert.returning(Delivery.id))
    count = len(added.all())
    seal_for_sending(issue)  # before the links are counted: they are the links of what is sent
    if count_clicks and base_url:
        clicks.register_links(session, issue, base_url=base_url)
    assign_ask_variants(session, issue)
    issue.state = IssueState.SENDING
    return PreparedSend(issue.id, count, batch_ranges(session, issue.id))


def eligible_readers(issue_id: int, now: datetime, *columns: Any) -> Select:
    """``columns`` of each reader the issue goes to, one row per reader: active, on at least one of the
    issue's newsletters, not paused at ``now``. Suppressed addresses are not active (an unsubscribe, a hard
    bounce or a complaint changes the status with the suppression); the worker checks suppression again
    before each message. The send's ``INSERT ... SELECT`` and the confirmation page's count both use this
    one query, so the number the editor confirms is the number of rows the send writes."""
    return (
        select(*columns)
        .select_from(Subscriber)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .join(issue_newsletters, issue_newsletters.c.newsletter_id == Subscription.newsletter_id)
        .where(
            issue_newsletters.c.issue_id == issue_id,
            Subscriber.status == SubscriberStatus.ACTIVE,
            or_(Subscriber.paused_until.is_(None), Subscriber.paused_until <= now),
        )
        .group_by(Subscriber.id)
    )


def delivery_locale() -> Any:
    """The language an issue reaches the reader in: English for readers who chose it, German for everyone
    else (also for a value no mail exists in). Grouped by ``Subscriber.id``, the reader's own column is
    one value per group on SQLite and PostgreSQL alike."""
    return case((Subscriber.locale == "en", literal("en")), else_=literal("de"))


def count_recipients_by_locale(
    session: Session, issue: Issue, *, now: datetime | None = None
) -> dict[str, int]:
    """How many readers a send started now would write to the ledger (before any row exists), per
    language: ``{"de": 812, "en": 40}``."""
    readers = eligible_readers(issue.id, now or utcnow(), delivery_locale().label("locale")).subquery()
    rows = session.execute(select(readers.c.locale, func.count()).group_by(readers.c.locale))
    counts = {"de": 0, "en": 0}
    counts.update({locale: count for locale, count in rows})
    return counts


def click_options(config: Any) -> dict[str, Any]:
    """``prepare_send``'s click-counting arguments from the app's settings (``CLICK_COUNTING``)."""
    return {"count_clicks": bool(config.get("CLICK_COUNTING")), "base_url": config.get("BASE_URL")}


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
    side (``ports.donor_states``), by primary key in bulk."""
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


def send_blocker(issue: Issue, config: Any = None) -> str | None:
    """Why the issue cannot be sent (for the issue page, which then offers no Send), or None."""
    try:
        check_sendable(issue, config)
    except SendError as exc:
        return str(exc)
    return None


def check_sendable(issue: Issue, config: Any = None) -> None:
    """Refuses an issue without newsletters or articles and, given the app's settings, one whose sender
    address does not align with the DKIM and bounce domains (``mail.alignment``): receivers would reject
    it under DMARC."""
    if not issue.newsletters:
        raise SendError(_l("choose at least one newsletter to send the issue to"))
    if not issue.items and not (issue.sent_content or {}).get("articles"):  # sealed: its articles are kept
        raise SendError(_l("add at least one article before sending"))
    if config is not None:
        check_sender(issue.sender_address, config)


def check_sender(sender_address: str, config: Any) -> None:
    """Raises :class:`SendError` with what to change when the sender does not align (see
    ``mail.alignment``)."""
    try:
        result = alignment.check_config(sender_address, config)
    except alignment.AddressError:
        raise SendError(_l("the sender address %(address)s is not an e-mail address",
                           address=sender_address)) from None  # fmt: skip
    if not result.ok:
        raise SendError(result.problem())


def batch_ranges(session: Session, issue_id: int, size: int = BATCH_SIZE) -> list[tuple[int, int]]:
    """Consecutive id ranges of the issue's queued rows, ``size`` rows each. The database numbers the
    rows and hands back each range's first and last id, so a million readers' ids never come into this
    process (the web process, when Send is pressed)."""
    numbered = (
        select(
            Delivery.id.label("id"),
            ((func.row_number().over(order_by=Delivery.id) - 1) // size).label("chunk"),
        )
        .where(Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.QUEUED)
        .subquery()
    )
    ranges = session.execute(
        select(func.min(numbered.c.id), func.max(numbered.c.id))
        .group_by(numbered.c.chunk)
        .order_by(numbered.c.chunk)
    ).all()
    return [(first, last) for first, last in ranges]


def finish_if_done(session: Session, issue_id: int) -> bool:
    """Mark the issue sent once no row is queued or being sent, with its tally, and commit: one statement,
    so a row that is open at that moment always keeps the issue from being marked sent."""
    open_rows = exists().where(
        Delivery.issue_id == issue_id, Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING])
    )
    done = session.execute(
        update(Issue)
        .where(Issue.id == issue_id, Issue.state == IssueState.SENDING, ~open_rows)
        .values(state=IssueState.SENT, sent_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount:
        tally_issue(session, issue_id)  # the statistics' counts, in the transaction that makes it sent
    session.commit()
    return bool(done.rowcount)
