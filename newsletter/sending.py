"""Sending an issue to its readers: the ledger (one ``Delivery`` row per reader), batches for the
``mail`` queue, and the worker's side of a batch. Plain functions; the caller (view, job, CLI) commits.

1. :func:`prepare_send` writes every eligible reader's ledger row in one ``INSERT ... SELECT`` (unique on
   issue and reader: pressing Send twice adds nothing) and says which id ranges the batch jobs cover.
2. :func:`send_batch` claims the due ``queued`` rows of one range, checks each reader again, fills the
   issue's pre-encoded skeleton (``mime``) and hands it to the relay over one reused connection
   (``delivery.Relay``), recording outcomes in small committed chunks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

import redis
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, exists, func, literal, or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, object_session

from db import utcnow

from . import bounces, clicks, delivery, gate, issues, links, mime, rendering, signing, subscribers
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
CLAIM_SIZE = 50  # rows a worker claims at once and records in one commit
LEASE = timedelta(minutes=2)  # a claimed chunk whose worker vanished is decided after this (plus pacing)
DB_PATIENCE = 120.0  # seconds a worker keeps trying to record outcomes while the database is away
RATE_WINDOW = 60  # seconds of sent rows the progress rate looks at
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


def prepare_send(
    session: Session, issue: Issue, *, now: datetime | None = None, count_clicks: bool = False,
    base_url: str | None = None,
) -> PreparedSend:  # fmt: skip
    """Turn the issue to ``sending`` and write one ledger row per eligible reader: active, on one of the
    issue's newsletters, not paused. Safe to run again: existing rows stay as they are. With
    ``count_clicks`` (and the ``base_url`` links are made for) the issue's links are numbered for click
    counting (``clicks.register_links``); the workers then rewrite them in every variant."""
    now = now or utcnow()
    if issue.state not in (IssueState.DRAFT, IssueState.SCHEDULED, IssueState.SENDING):
        raise SendError(_l("an issue that is %(state)s cannot be sent", state=issue.state.value))
    _check_sendable(issue)
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
    if count_clicks and base_url:
        clicks.register_links(session, issue, base_url=base_url)
    assign_ask_variants(session, issue)
    issue.state = IssueState.SENDING
    return PreparedSend(issue.id, count, batch_ranges(session, issue.id))


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


def _check_sendable(issue: Issue) -> None:
    if not issue.newsletters:
        raise SendError(_l("choose at least one newsletter to send the issue to"))
    if not issue.items:
        raise SendError(_l("add at least one article before sending"))


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


# -- the worker's side ---------------------------------------------------------------------------------


@dataclass
class SendContext:
    """What a worker needs beyond the database: settings and the relay, passed in by the job."""

    base_url: str
    secret_key: str
    smtp: delivery.SMTPTarget
    unsubscribe_mailbox: str
    redis: redis.Redis
    rate: gate.Rate = field(default_factory=gate.Rate)
    lease: timedelta = LEASE
    job_id: str = "send"
    feedback_tag: str = "beitrag"
    dkim: signing.DKIMKey | None = None  # sign every message when set
    bounce_domain: str | None = None  # envelope sender bounces+<signed issue and row>@ this domain


_skeletons: dict[tuple[int, str, Any], mime.Skeleton] = {}


def _skeleton(issue: Issue, variant: str, base_url: str, secret_key: str | None = None) -> mime.Skeleton:
    """The issue's variant encoded once per worker process (and again only when the issue changed). When
    the send counted the issue's links (``issue_links``), they are rewritten here, once per variant."""
    key = (issue.id, variant, issue.updated_at)
    skeleton = _skeletons.get(key)
    if skeleton is None:
        rendered = issues.render_issue(issue, variant, base_url=base_url)
        session = object_session(issue)
        if secret_key and session is not None:
            numbers = clicks.link_numbers(session, issue.id)
            rendered = clicks.rewrite_links(
                rendered, numbers, issue_id=issue.id, base_url=base_url, secret_key=secret_key
            )
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


def _still_wanted(reader: Any, now: datetime) -> bool:
    """Checked again right before the message: an unsubscribe or a pause during the send is honoured."""
    return (
        reader is not None
        and reader.status is SubscriberStatus.ACTIVE
        and (reader.paused_until is None or reader.paused_until <= now)
    )


class RecipientSlots:
    """The per-recipient slot values of one chunk of a send (what :meth:`mime.Skeleton.assemble` takes):
    the reader's two signed links, List-Unsubscribe (https and mailto), To, Date and Message-ID.

    Everything that does not change from reader to reader is made once: the link keys and addresses,
    the Date header (again only when the second changes, so a chunk slowed by the rate limit keeps a
    true Date) and the Message-ID's random part, ``<issue.row.random@domain>``: unique because a row is
    sent once per chunk, and a row sent again in a later chunk gets that chunk's random part."""

    __slots__ = ("_date", "_links", "_mailto", "_message_id", "_second")

    def __init__(
        self, *, base_url: str, secret_key: str, unsubscribe_mailbox: str, issue_id: int, domain: str
    ):
        self._links = links.ReaderLinks(base_url, secret_key)
        self._mailto = f">, <mailto:{unsubscribe_mailbox}?subject=unsubscribe-"
        self._message_id = (f"<{int(issue_id)}.", f".{secrets.token_hex(6)}@{domain}>")
        self._second = -1
        self._date = ""

    def date(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._date = format_datetime(datetime.fromtimestamp(second, UTC))
        return self._date

    def __call__(self, to: str, subscriber_id: int, newsletter_id: int | None, row_id: int) -> dict[str, str]:
        unsubscribe, token = self._links.unsubscribe_url_and_token(subscriber_id, newsletter_id)
        prefix, suffix = self._message_id
        return {
            "to": to,
            "message_id": f"{prefix}{int(row_id)}{suffix}",
            "date": self.date(),
            "list_unsubscribe": f"<{unsubscribe}{self._mailto}{token}>",
            "unsubscribe_url": unsubscribe,
            "preferences_url": self._links.preferences_url(subscriber_id),
        }


def _after_refusal(row: Any, exc: delivery.DeliveryError, now: datetime) -> dict[str, Any]:
    """The ledger values after the relay said no: back in the queue with a backoff, or failed."""
    if exc.temporary and row.attempts < MAX_ATTEMPTS:
        retry_at = now + timedelta(seconds=BACKOFF[min(row.attempts, len(BACKOFF)) - 1])
        return {"status": DeliveryStatus.QUEUED, "next_attempt_at": retry_at, "reply": str(exc)[:300]}
    return {"status": DeliveryStatus.FAILED, "reply": str(exc)[:300]}


_OUTCOME_CODES = {
    DeliveryStatus.SENT: "s", DeliveryStatus.FAILED: "f", DeliveryStatus.QUEUED: "r",
    DeliveryStatus.SKIPPED: "k",
}  # fmt: skip
_DB_ERRORS = (OperationalError, InterfaceError)


def _retrying(session: Session, work: Callable[[], Any], *, patience: float = DB_PATIENCE) -> Any:
    """Run ``work`` (which ends in a commit) again while the database is unreachable, up to ``patience``
    seconds: a worker that holds outcomes the relay already gave keeps them until the ledger takes them."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return work()
        except _DB_ERRORS:
            session.rollback()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _claim(session: Session, issue_id: int, first: int, last: int, claim: str, lease: timedelta) -> list[Any]:
    """Claim the next few due rows of the range, in id order, while the issue is being sent."""
    now = utcnow()
    due = (
        select(Delivery.id)
        .where(
            Delivery.issue_id == issue_id,
            Delivery.id.between(first, last),
            Delivery.status == DeliveryStatus.QUEUED,
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            exists().where(Issue.id == issue_id, Issue.state == IssueState.SENDING),
        )
        .order_by(Delivery.id)
        .limit(CLAIM_SIZE)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()), Delivery.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.SENDING, lease_until=now + lease, claim=claim,
                attempts=Delivery.attempts + 1)
        .returning(
            Delivery.id, Delivery.subscriber_id, Delivery.newsletter_id, Delivery.variant, Delivery.attempts
        )
        .execution_options(synchronize_session=False)
    ).all()  # fmt: skip
    session.commit()  # the claim is visible to every other worker before any message leaves
    return sorted(claimed, key=lambda row: row.id)


def _still_sending(session: Session, issue_id: int) -> bool:
    state = session.scalar(select(Issue.state).where(Issue.id == issue_id))
    session.commit()
    return state is IssueState.SENDING


def _release(session: Session, issue_id: int, ids: list[int], claim: str) -> None:
    """Rows a worker claimed but did not send go back to the queue (or are cancelled with the issue)."""
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.SENDING, Delivery.claim == claim)
            .values(
                status=DeliveryStatus.QUEUED, lease_until=None, claim=None, attempts=Delivery.attempts - 1
            )
            .execution_options(synchronize_session=False)
        )
    _cancel_waiting_if_cancelled(session, issue_id)


def _cancel_waiting_if_cancelled(session: Session, issue_id: int) -> None:
    cancelled = exists().where(Issue.id == issue_id, Issue.state == IssueState.CANCELLED)
    session.execute(
        update(Delivery)
        .where(Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.QUEUED, cancelled)
        .values(status=DeliveryStatus.CANCELLED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


def send_batch(
    session: Session,
    issue_id: int,
    first: int,
    last: int,
    context: SendContext,
    *,
    on_retry: Callable[[datetime], None] | None = None,
) -> dict[str, int]:
    """Send the due rows of one batch, claimed a few at a time. Returns counts of this run's outcomes.

    Before each message the gate (Redis) books its slot under the shared rate limit, journals which row
    is in flight and says whether an editor paused or cancelled the send. A 4xx puts the row back in the
    queue with a backoff and calls ``on_retry`` with the earliest retry time."""
    outcome = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0, "released": 0}
    issue = session.get(Issue, issue_id)
    if issue is None or issue.state is not IssueState.SENDING:
        return outcome
    sender, domain = issue.sender_address, mime.sender_domain(issue.sender_address)
    lease = context.lease + timedelta(seconds=CLAIM_SIZE * context.rate.interval())
    doorway = gate.Gate(context.redis, context.rate, issue_id=issue_id, job_id=context.job_id,
                        heartbeat=int(lease.total_seconds()))  # fmt: skip
    retries: list[datetime] = []
    with delivery.Relay(context.smtp) as relay:
        while True:
            claim = secrets.token_hex(8)
            try:
                doorway.open_journal(claim)
            except redis.RedisError:
                break  # no journal, no rate limit: leave the rows to the sweeper once Redis is back
            rows = _retrying(session, lambda: _claim(session, issue_id, first, last, claim, lease))  # noqa: B023
            if not rows:
                doorway.close_journal(claim)
                break
            stopped = _send_chunk(session, issue, rows, claim, lease, context, doorway, relay, domain, sender,
                                  outcome, retries)  # fmt: skip
            try:
                doorway.close_journal(claim)
            except redis.RedisError:
                stopped = True
            if stopped:
                break
    if retries and on_retry is not None:
        on_retry(min(retries))
    _retrying(session, lambda: finish_if_done(session, issue_id))
    return outcome


def _send_chunk(session, issue, rows, claim, lease, context, doorway, relay, domain, sender, outcome,
                retries) -> bool:  # fmt: skip
    """Send one claimed chunk and record it in one commit. True when the batch should stop here."""
    now = utcnow()
    readers = {
        r.id: r
        for r in session.execute(
            select(Subscriber.id, Subscriber.email, Subscriber.status, Subscriber.paused_until).where(
                Subscriber.id.in_([row.subscriber_id for row in rows if row.subscriber_id is not None])
            )
        )
    }
    session.commit()  # no transaction stays open while messages go out
    slots = RecipientSlots(
        base_url=context.base_url, secret_key=context.secret_key,
        unsubscribe_mailbox=context.unsubscribe_mailbox, issue_id=issue.id, domain=domain,
    )  # fmt: skip
    pending: list[dict[str, Any]] = []
    unsent: list[int] = []
    previous, previous_code = None, ""
    stop = False
    for index, row in enumerate(rows):
        reader = readers.get(row.subscriber_id)
        to = _header_address(reader.email) if reader is not None else None
        if not _still_wanted(reader, now):
            values = {"status": DeliveryStatus.SKIPPED}
        elif to is None:
            values = {"status": DeliveryStatus.FAILED, "reply": "the address needs SMTPUTF8"}
        else:
            try:
                passage = doorway.enter(previous, previous_code, row.id)
            except redis.RedisError:
                passage = None
            if passage is not None and passage.control is not None and _still_sending(session, issue.id):
                # A stale signal (resumed while Redis was away): the database says go on.
                with contextlib.suppress(redis.RedisError):
                    gate.set_control(context.redis, issue.id, None)
                passage = dataclasses.replace(passage, control=None)
            if passage is None or passage.control is not None or passage.journal_lost:
                # Stopped (pause, cancel), Redis away, or the claim taken over by the sweeper: this row
                # and the rest never reached the relay.
                unsent = [r.id for r in rows[index:]]
                stop = True
                break
            if passage.wait > 0:
                if passage.wait > 1:
                    _extend_lease(session, claim, lease + timedelta(seconds=passage.wait))
                time.sleep(passage.wait)
            slot_values = slots(to, reader.id, row.newsletter_id, row.id)
            message_id = slot_values["message_id"]
            try:
                skeleton = _skeleton(issue, row.variant, context.base_url, context.secret_key)
                message = skeleton.assemble(slot_values)
                if context.dkim is not None:
                    message = signing.sign(message, context.dkim)
                envelope = sender if context.bounce_domain is None else \
                    bounces.return_path(context.secret_key, context.bounce_domain, issue.id, row.id)
                reply = relay.send(envelope, to, message, smtp_safe=True)
            except mime.HeaderInjection as exc:
                values = {"status": DeliveryStatus.FAILED, "reply": f"not sent: {exc}"[:300]}
            except delivery.DeliveryError as exc:
                values = _after_refusal(row, exc, now)
                if values["status"] is DeliveryStatus.QUEUED:
                    retries.append(values["next_attempt_at"])
                elif exc.code is not None and str(exc).startswith(f"{exc.code} 5.1."):
                    values["hard_bounce"] = reader.id
            else:
                values = {"status": DeliveryStatus.SENT, "sent_at": utcnow(), "reply": reply[:300],
                          "message_id": message_id}  # fmt: skip
            previous, previous_code = row.id, _OUTCOME_CODES[values["status"]]
        pending.append({"id": row.id, "lease_until": None, "claim": None, **values})
        key = "retry" if values["status"] is DeliveryStatus.QUEUED else values["status"].value
        outcome[key] = outcome.get(key, 0) + 1
    outcome["released"] += len(unsent)

    def record() -> None:
        bounced = [values.pop("hard_bounce") for values in pending if "hard_bounce" in values]
        # One UPDATE by primary key per shape of row (executemany), not a statement per reader.
        for shape in {tuple(sorted(values)) for values in pending}:
            session.execute(update(Delivery), [v for v in pending if tuple(sorted(v)) == shape])
        for subscriber_id in bounced:
            _hard_bounce(session, subscriber_id)
        _release(session, issue.id, unsent, claim)
        session.commit()

    _retrying(session, record)
    return stop


def _extend_lease(session: Session, claim: str, lease: timedelta) -> None:
    """A long wait for a rate-limit slot must not let the sweeper take the claim's rows."""
    session.execute(
        update(Delivery)
        .where(Delivery.claim == claim, Delivery.status == DeliveryStatus.SENDING)
        .values(lease_until=utcnow() + lease)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _hard_bounce(session: Session, subscriber_id: int) -> None:
    """A 5.1.x (no such mailbox): the address is never mailed again."""
    reader = session.get(Subscriber, subscriber_id)
    if reader is not None and reader.status is SubscriberStatus.ACTIVE:
        reader.status = SubscriberStatus.BOUNCED
        subscribers.suppress(session, reader.email, SuppressionReason.BOUNCED)
        subscribers.record_event(session, reader, "bounced", via="relay")


def finish_if_done(session: Session, issue_id: int) -> bool:
    """Mark the issue sent once no row is queued or being sent: one statement, so a row that is open at
    that moment always keeps the issue from being marked sent."""
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
        from .stats import tally_issue

        tally_issue(session, issue_id)  # the statistics' counts, in the transaction that makes it sent
    session.commit()
    return bool(done.rowcount)


# -- control: pause, resume, cancel, schedule ------------------------------------------------------------


def pause_send(session: Session, issue: Issue) -> None:
    """Workers stop claiming the issue's rows; a message on its way finishes and is recorded."""
    if issue.state is not IssueState.SENDING:
        raise SendError(_l("only an issue that is being sent can be paused"))
    issue.state = IssueState.PAUSED
    session.flush()


def resume_send(session: Session, issue: Issue) -> PreparedSend:
    """Back to sending; the caller queues the batches of the rows still waiting."""
    if issue.state is not IssueState.PAUSED:
        raise SendError(_l("only a paused issue can be resumed"))
    issue.state = IssueState.SENDING
    session.flush()
    return PreparedSend(issue.id, 0, batch_ranges(session, issue.id))


def cancel_send(session: Session, issue: Issue) -> int:
    """Stop for good: waiting rows become cancelled, nothing sent is touched. Returns the rows cancelled.
    Rows a worker holds at this moment are cancelled when it lets go of them."""
    if issue.state not in (IssueState.DRAFT, IssueState.SCHEDULED, IssueState.SENDING, IssueState.PAUSED):
        raise SendError(_l("an issue that is %(state)s cannot be cancelled", state=issue.state.value))
    issue.state = IssueState.CANCELLED
    issue.scheduled_at = None
    session.flush()
    cancelled = session.execute(
        update(Delivery)
        .where(Delivery.issue_id == issue.id, Delivery.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.CANCELLED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return cancelled.rowcount or 0


def schedule_send(session: Session, issue: Issue, when: datetime, *, now: datetime | None = None) -> None:
    """Send at ``when`` (aware; stored in UTC). A scheduled issue may be given a new time."""
    now = now or utcnow()
    if issue.state not in (IssueState.DRAFT, IssueState.SCHEDULED):
        raise SendError(_l("only a draft can be scheduled"))
    if when.tzinfo is None:
        raise SendError(_l("the time has no time zone"))
    if when <= now + timedelta(minutes=1):
        raise SendError(_l("choose a time at least a minute from now"))
    if when > now + timedelta(days=366):
        raise SendError(_l("choose a time within the next year"))
    _check_sendable(issue)
    issue.state = IssueState.SCHEDULED
    issue.scheduled_at = when.astimezone(UTC)
    session.flush()


def unschedule_send(session: Session, issue: Issue) -> None:
    """Back to draft; the scheduler's job, when it fires, finds nothing to do."""
    if issue.state is not IssueState.SCHEDULED:
        raise SendError(_l("only a scheduled issue can be unscheduled"))
    issue.state = IssueState.DRAFT
    issue.scheduled_at = None
    session.flush()


def due_scheduled_issues(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(Issue.id)
            .where(Issue.state == IssueState.SCHEDULED, Issue.scheduled_at <= now)
            .order_by(Issue.scheduled_at)
        )
    )


def fire_scheduled(
    session: Session, issue_id: int, *, now: datetime | None = None, count_clicks: bool = False,
    base_url: str | None = None,
) -> PreparedSend | None:  # fmt: skip
    """Start a scheduled issue whose time has come (the scheduler's job and the clock's sweep both call
    this; the second finds the issue sending and adds nothing). The caller commits and queues."""
    now = now or utcnow()
    issue = session.get(Issue, issue_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if issue is None or issue.state is not IssueState.SCHEDULED:
        return None
    if issue.scheduled_at is None or issue.scheduled_at > now:
        return None  # moved to a later time: that time's job fires it
    return prepare_send(session, issue, now=now, count_clicks=count_clicks, base_url=base_url)


# -- the sweeper: rows a dead worker left, batches Redis lost ------------------------------------------------


def decide_lost_rows(
    session: Session, connection: redis.Redis, *, now: datetime | None = None
) -> dict[str, int]:
    """Decide rows still ``sending`` after their lease ran out (their worker died), from its journal:

    * a row whose outcome the journal holds gets that outcome (sent, failed, queued again, skipped);
    * the row that was in flight, with no outcome, may have been accepted by the relay: ``uncertain``,
      never sent again (at most one per killed connection);
    * every other row never reached the relay: ``queued`` again;
    * if the journal was lost with Redis, no row can be told apart: all are ``uncertain``.
    """
    now = now or utcnow()
    decided = {"queued": 0, "sent": 0, "failed": 0, "skipped": 0, "uncertain": 0}
    active = select(Issue.id).where(
        Issue.state.in_([IssueState.SENDING, IssueState.PAUSED, IssueState.CANCELLED])
    )
    stale = session.execute(
        select(Delivery.id, Delivery.claim, Delivery.issue_id)
        .where(
            Delivery.issue_id.in_(active.scalar_subquery()),
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.lease_until < now,
        )
        .order_by(Delivery.id)
    ).all()
    claims: dict[str | None, list[Any]] = {}
    for row in stale:
        claims.setdefault(row.claim, []).append(row)
    issue_ids = {row.issue_id for row in stale}
    for claim, rows in claims.items():
        journal = gate.read_journal(connection, claim) if claim else None
        for row in rows:
            values = _decision(row.id, journal, now)
            status = values["status"]
            changed = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == row.id, Delivery.status == DeliveryStatus.SENDING, Delivery.claim == claim
                )
                .values(lease_until=None, claim=None, **values)
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed:
                decided[status.value] += 1
        session.commit()
        if claim:
            connection.delete(gate.journal_key(claim))
    for issue_id in issue_ids:
        _cancel_waiting_if_cancelled(session, issue_id)
        session.commit()
        finish_if_done(session, issue_id)
    return decided


def _decision(row_id: int, journal: dict[str, str] | None, now: datetime) -> dict[str, Any]:
    if journal is None or "lost" in journal:
        return {"status": DeliveryStatus.UNCERTAIN, "reply": "worker lost; the relay may have accepted it"}
    code = journal.get(str(row_id))
    if code == "s":
        return {"status": DeliveryStatus.SENT, "sent_at": now, "reply": "accepted (recorded by the sweeper)"}
    if code == "f":
        return {"status": DeliveryStatus.FAILED, "reply": "refused (recorded by the sweeper)"}
    if code == "k":
        return {"status": DeliveryStatus.SKIPPED}
    if code == "r":
        return {"status": DeliveryStatus.QUEUED, "next_attempt_at": now + timedelta(seconds=BACKOFF[0])}
    if journal.get("flight") == str(row_id):
        return {"status": DeliveryStatus.UNCERTAIN, "reply": "worker died while the relay had it"}
    return {"status": DeliveryStatus.QUEUED, "attempts": Delivery.attempts - 1}


def orphaned_batches(
    session: Session, live_job_ids: set[str], *, now: datetime | None = None
) -> list[tuple[int, int, int, datetime | None]]:
    """Batches to queue again for rows that wait while no live job covers them (Redis restarted or was
    flushed, or a worker died holding the job): ``(issue, first, last, not before)``. ``live_job_ids``
    are the ids of the jobs that are waiting, scheduled or running with a heartbeat."""
    now = now or utcnow()
    covered: dict[int, list[tuple[int, int]]] = {}
    for job_id in live_job_ids:
        parts = job_id.split("-")
        if len(parts) >= 4 and parts[0] == "send" and all(p.isdigit() for p in parts[1:4]):
            covered.setdefault(int(parts[1]), []).append((int(parts[2]), int(parts[3])))
    result = []
    for issue_id in session.scalars(select(Issue.id).where(Issue.state == IssueState.SENDING)):
        ranges = covered.get(issue_id, [])
        waiting = session.execute(
            select(Delivery.id, Delivery.next_attempt_at)
            .where(Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.QUEUED)
            .order_by(Delivery.id)
        ).all()
        loose = [row for row in waiting if not any(a <= row.id <= b for a, b in ranges)]
        for i in range(0, len(loose), BATCH_SIZE):
            chunk = loose[i : i + BATCH_SIZE]
            later = [
                r.next_attempt_at for r in chunk if r.next_attempt_at is not None and r.next_attempt_at > now
            ]
            not_before = min(later) if len(later) == len(chunk) else None
            result.append((issue_id, chunk[0].id, chunk[-1].id, not_before))
    return result


def progress(session: Session, issue_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Rows by status, the rate over the last minute (messages a second) and the time left at that rate:
    the same numbers in the page, the CLI and the API."""
    now = now or utcnow()
    counts: dict[str, Any] = dict.fromkeys((s.value for s in DeliveryStatus), 0)
    rows = session.execute(
        select(Delivery.status, func.count()).where(Delivery.issue_id == issue_id).group_by(Delivery.status)
    ).all()
    for status, count in rows:
        counts[DeliveryStatus(status).value] = count
    counts["total"] = sum(counts.values())
    recent = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.issue_id == issue_id,
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at >= now - timedelta(seconds=RATE_WINDOW),
        )
    )
    rate = (recent or 0) / RATE_WINDOW
    open_rows = counts["queued"] + counts["sending"]
    counts["rate"] = round(rate, 2)
    counts["eta_seconds"] = round(open_rows / rate) if rate and open_rows else (0 if not open_rows else None)
    return counts
