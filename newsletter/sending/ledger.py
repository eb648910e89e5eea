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
from newsletter.ports import supporter_state_query
from newsletter.readers import segments
from newsletter.readers.models import AskFrequency, Segment, Subscriber, SubscriberStatus, Subscription
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
    zone = _zone(config)
    states = supporter_states(now)
    eligible = eligible_readers(
        issue.id, now,
        literal(issue.id, Delivery.issue_id.type),
        Subscriber.id,
        func.min(Subscription.newsletter_id),
        ask_variant_sql(states, issue.id),
        delivery_locale(),
        literal(DeliveryStatus.QUEUED, Delivery.status.type),
        literal(0, Delivery.attempts.type),
        literal(now, Delivery.created_at.type),
        literal(issue.segment_id, Delivery.segment_id.type),
        segment=issue.segment, states=states, zone=zone,
    )  # fmt: skip
    columns = [
        "issue_id", "subscriber_id", "newsletter_id", "variant", "locale", "status", "attempts", "created_at",
        "segment_id",
    ]  # fmt: skip
    insert = dialect_insert(session, Delivery).from_select(columns, eligible).on_conflict_do_nothing()
    added = session.scalars(insert.returning(Delivery.id))
    count = len(added.all())
    seal_for_sending(issue)  # before the links are counted: they are the links of what is sent
    if count_clicks and base_url:
        clicks.register_links(session, issue, base_url=base_url)
    issue.state = IssueState.SENDING
    return PreparedSend(issue.id, count, batch_ranges(session, issue.id))


def eligible_readers(
    issue_id: int, now: datetime, *columns: Any, segment: Segment | None = None, states: Any = None,
    zone: str | None = None,
) -> Select:  # fmt: skip
    """``columns`` of each reader the issue goes to, one row per reader: active, on at least one of the
    issue's newsletters, not paused at ``now``; with a ``segment``, only the readers of the segment (on its
    newsletter, matching its terms). Suppressed addresses are not active (an unsubscribe, a hard bounce or
    a complaint changes the status with the suppression); the worker checks suppression again before each
    message. ``states`` (:func:`supporter_states`) is LEFT JOINed by address, for :func:`ask_variant_sql`.
    The send's ``INSERT ... SELECT`` and the confirmation page's count both use this one query, so the
    number the editor confirms is the number of rows the send writes."""
    query = (
        select(*columns)
        .select_from(Subscriber)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .join(issue_newsletters, issue_newsletters.c.newsletter_id == Subscription.newsletter_id)
        .where(
            issue_newsletters.c.issue_id == issue_id,
            Subscriber.status == SubscriberStatus.ACTIVE,
            or_(Subscriber.paused_until.is_(None), Subscriber.paused_until <= now),
        )
    )
    if segment is not None:
        query = query.where(
            Subscription.newsletter_id == segment.newsletter_id,
            *segments.conditions(segments.terms_of(segment), zone=zone, now=now),
        )
    if states is not None:
        query = query.outerjoin(states, states.c.email == func.lower(Subscriber.email))
    return query.group_by(Subscriber.id)


def supporter_states(now: datetime) -> Any:
    """The donations side's supporter state of every donor address, as a subquery ``(email, state)`` to
    join by address; None while no donations side is registered."""
    query = supporter_state_query(now)
    return query.subquery("supporter_states") if query is not None else None


def ask_variant_sql(states: Any, issue_id: int) -> Any:
    """:func:`ask_variant` in SQL, over a row of :func:`eligible_readers` with ``states`` joined: the
    variant is chosen in the statement that writes the ledger."""
    quiet = [AskFrequency.NEVER] + ([AskFrequency.LESS] if issue_id % 3 else [])
    if states is None:  # no donations side: nobody's support is known
        return case((Subscriber.ask_frequency.in_(quiet), literal("no_ask")), else_=literal("default"))
    state = func.max(states.c.state)  # one row per address: max() only satisfies GROUP BY
    return case(
        (state == "failing", literal("failing")),
        (state == "monthly", literal("monthly")),
        (Subscriber.ask_frequency.in_(quiet), literal("no_ask")),
        (state == "one_time", literal("one_time")),
        (state == "lapsed", literal("lapsed")),
        else_=literal("never_gave"),
    )


def _zone(config: Any) -> str | None:
    return config.get("BABEL_DEFAULT_TIMEZONE") if config is not None else None


def delivery_locale() -> Any:
    """The language an issue reaches the reader in: English for readers who chose it, German for everyone
    else (also for a value no mail exists in). Grouped by ``Subscriber.id``, the reader's own column is
    one value per group on SQLite and PostgreSQL alike."""
    return case((Subscriber.locale == "en", literal("en")), else_=literal("de"))


def count_recipients_by_locale(
    session: Session, issue: Issue, *, now: datetime | None = None, config: Any = None
) -> dict[str, int]:
    """How many readers a send started now would write to the ledger (before any row exists), per
    language: ``{"de": 812, "en": 40}``; only the segment's readers when the issue goes to one."""
    readers = eligible_readers(
        issue.id, now or utcnow(), delivery_locale().label("locale"),
        segment=issue.segment, zone=_zone(config),
    ).subquery()  # fmt: skip
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
    of three), an invitation to go monthly after a one-time gift, a "welcome back" when their support
    lapsed, the first ask for readers who never gave, the plain ask when support is not known (no
    donations side). :func:`ask_variant_sql` is the same rule in the ledger's SQL."""
    if state in ("failing", "monthly"):
        return state
    if ask_frequency is AskFrequency.NEVER or (ask_frequency is AskFrequency.LESS and issue_id % 3):
        return "no_ask"
    if state is None:
        return "default"
    return state if state in ("one_time", "lapsed") else "never_gave"


def count_by_variant(session: Session, issue_id: int) -> dict[str, int]:
    """The issue's ledger rows per ask variant: how many readers got each ask."""
    rows = session.execute(
        select(Delivery.variant, func.count()).where(Delivery.issue_id == issue_id).group_by(Delivery.variant)
    )
    return dict(rows.all())


def recorded_segment(session: Session, issue_id: int) -> Segment | None:
    """The segment the ledger says the issue went to (None: its whole newsletters)."""
    segment_id = session.scalar(
        select(Delivery.segment_id)
        .where(Delivery.issue_id == issue_id, Delivery.segment_id.is_not(None))
        .limit(1)
    )
    return session.get(Segment, segment_id) if segment_id is not None else None


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
