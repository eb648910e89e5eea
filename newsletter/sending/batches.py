"""The worker's side of a send: a batch's due rows claimed a few at a time, each reader checked again, the
issue's skeleton filled and signed, handed to the relay over one reused connection, and the outcomes
recorded in small committed chunks (this module commits; see ``send_batch``). The gate in Redis paces
every message, journals the one in flight and carries an editor's pause or cancel."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.mail import mime, return_paths, signing, smtp
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import Subscriber, SubscriberStatus, SuppressionReason
from newsletter.sending import autopause, gate
from newsletter.sending.ledger import finish_if_done
from newsletter.sending.models import Delivery, DeliveryStatus
from newsletter.sending.slots import RecipientSlots, header_address, reader_message, skeleton_for

CLAIM_SIZE = 50  # rows a worker claims at once and records in one commit
LEASE = timedelta(minutes=2)  # a claimed chunk whose worker vanished is decided after this (plus pacing)
DB_PATIENCE = 120.0  # seconds a worker keeps trying to record outcomes while the database is away
MAX_ATTEMPTS = 6
BACKOFF = (60, 300, 900, 3600, 4 * 3600)  # seconds before the 2nd, 3rd ... attempt after a 4xx


@dataclass
class SendContext:
    """What a worker needs beyond the database: settings and the relay, passed in by the job."""

    base_url: str
    secret_key: str
    smtp: smtp.SMTPTarget
    unsubscribe_mailbox: str | None  # None: List-Unsubscribe names the https link only
    redis: redis.Redis
    rate: gate.Rate = field(default_factory=gate.Rate)
    lease: timedelta = LEASE
    job_id: str = "send"
    feedback_tag: str = "beitrag"
    dkim: signing.DKIMKey | None = None  # sign every message when set
    bounce_domain: str | None = None  # envelope sender bounces+<signed issue and row>@ this domain
    resend_uncertain: bool = False  # MAIL_RESEND_UNCERTAIN: at least once instead of at most once
    auto_pause: autopause.Limits = field(default_factory=autopause.Limits)  # AUTO_PAUSE_*


def _still_wanted(reader: Any, now: datetime) -> bool:
    """Checked again right before the message: an unsubscribe or a pause during the send is honoured."""
    return (
        reader is not None
        and reader.status is SubscriberStatus.ACTIVE
        and (reader.paused_until is None or reader.paused_until <= now)
    )


def _after_refusal(row: Any, exc: smtp.DeliveryError, now: datetime) -> dict[str, Any]:
    """The ledger values after the relay said no: back in the queue with a backoff, or failed."""
    if exc.temporary and row.attempts < MAX_ATTEMPTS:
        retry_at = now + timedelta(seconds=BACKOFF[min(row.attempts, len(BACKOFF)) - 1])
        return {"status": DeliveryStatus.QUEUED, "next_attempt_at": retry_at, "reply": str(exc)[:300]}
    return {"status": DeliveryStatus.FAILED, "reply": str(exc)[:300]}


_OUTCOME_CODES = {
    DeliveryStatus.SENT: "s", DeliveryStatus.FAILED: "f", DeliveryStatus.QUEUED: "r",
    DeliveryStatus.SKIPPED: "k", DeliveryStatus.UNCERTAIN: "u",
}  # fmt: skip
UNCERTAIN_REPLY = "the connection broke after the message was handed over; the relay may have accepted it"


def database_now(session: Session) -> datetime:
    """The database server's clock: leases are set and judged by one clock for every host, so a worker
    whose own clock is behind does not hand out leases that have run out already."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(select(func.clock_timestamp()))
    return utcnow()  # SQLite lives on this machine: its clock is ours


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
    now = database_now(session)
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
            Delivery.id, Delivery.subscriber_id, Delivery.newsletter_id, Delivery.variant, Delivery.locale,
            Delivery.attempts,
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
    cancel_waiting_if_cancelled(session, issue_id)


def cancel_waiting_if_cancelled(session: Session, issue_id: int) -> None:
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
    with smtp.Relay(context.smtp) as relay:
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
    in_flight: _Message | None = None  # handed to the relay, its reply not read yet

    def done(row_id: int, values: dict[str, Any]) -> None:
        pending.append({"id": row_id, "lease_until": None, "claim": None, **values})
        key = "retry" if values["status"] is DeliveryStatus.QUEUED else values["status"].value
        outcome[key] = outcome.get(key, 0) + 1

    extended = time.monotonic()  # the claim's lease was set a moment ago
    for index, row in enumerate(rows):
        if time.monotonic() - extended > lease.total_seconds() / 2:  # a slow relay: keep the claim alive
            _retrying(session, lambda: _extend_lease(session, claim, lease))
            extended = time.monotonic()
        reader = readers.get(row.subscriber_id)
        to = header_address(reader.email) if reader is not None else None
        if not _still_wanted(reader, now):
            done(row.id, {"status": DeliveryStatus.SKIPPED})
            continue
        if to is None:
            done(row.id, {"status": DeliveryStatus.FAILED, "reply": "the address needs SMTPUTF8"})
            continue
        # Made while the relay reads and judges the message before it; the gate below journals that
        # message's outcome, so its reply is read first.
        message = _prepare(issue, row, reader.id, to, context, slots, sender)
        if in_flight is not None:
            done(in_flight.row.id, _outcome(in_flight, relay.reply, context, now, retries))
            previous, previous_code = in_flight.row.id, _OUTCOME_CODES[pending[-1]["status"]]
            in_flight = None
        if isinstance(message, dict):  # not sendable (a header injection): nothing reaches the relay
            done(row.id, message)
            continue
        if not _pass_gate(session, issue, row, claim, lease, context, doorway, previous, previous_code):
            # Stopped (pause, cancel), Redis away, or the claim taken over by the sweeper: this row
            # and the rest never reached the relay.
            unsent = [r.id for r in rows[index:]]
            break
        try:
            relay.hand_over(message.envelope, to, message.data, smtp_safe=True)
        except smtp.DeliveryError as exc:
            done(row.id, _outcome(message, exc, context, now, retries))
            previous, previous_code = row.id, _OUTCOME_CODES[pending[-1]["status"]]
            continue
        in_flight = message
    if in_flight is not None:
        done(in_flight.row.id, _outcome(in_flight, relay.reply, context, now, retries))
    outcome["released"] += len(unsent)
    bounced = [values.pop("hard_bounce") for values in pending if "hard_bounce" in values]
    paused = _retrying(session, lambda: _record(session, issue.id, pending, bounced, unsent, claim,
                                                context.auto_pause))  # fmt: skip
    if paused:  # the other workers learn it at once; this one stops here
        with contextlib.suppress(redis.RedisError):
            gate.set_control(context.redis, issue.id, "pause")
    return bool(unsent) or paused


def _pass_gate(session, issue, row, claim, lease, context, doorway, previous, previous_code) -> bool:
    """Through the gate before a message: the slot under the shared rate limit booked (and waited for),
    the row journalled as in flight. False when the send must stop here (an editor's pause or cancel,
    Redis away, the journal taken over by the sweeper)."""
    try:
        passage = doorway.enter(previous, previous_code, row.id)
    except redis.RedisError:
        return False
    if passage.control is not None and _still_sending(session, issue.id):
        # A stale signal (resumed while Redis was away): the database says go on.
        with contextlib.suppress(redis.RedisError):
            gate.set_control(context.redis, issue.id, None)
        passage = dataclasses.replace(passage, control=None)
    if passage.control is not None or passage.journal_lost:
        return False
    if passage.wait > 0:
        if passage.wait > 1:
            _extend_lease(session, claim, lease + timedelta(seconds=passage.wait))
        time.sleep(passage.wait)
    return True


@dataclass(frozen=True, slots=True)
class _Message:
    """One reader's message, ready for the relay."""

    row: Any
    reader_id: int
    envelope: str
    data: bytes
    message_id: str


def _prepare(issue, row, reader_id, to, context, slots, sender) -> _Message | dict[str, Any]:
    """One reader's message: the skeleton filled and signed; or the ledger values of a message that
    cannot be made."""
    slot_values = slots(to, reader_id, row.newsletter_id, row.id)
    try:
        skeleton = skeleton_for(issue, row.variant, context.base_url, context.secret_key, locale=row.locale)
        data = reader_message(skeleton, slot_values, context.dkim)
    except mime.HeaderInjection as exc:
        return {"status": DeliveryStatus.FAILED, "reply": f"not sent: {exc}"[:300]}
    envelope = sender if context.bounce_domain is None else \
        return_paths.return_path(context.secret_key, context.bounce_domain, issue.id, row.id)
    return _Message(row, reader_id, envelope, data, slot_values["message_id"])


def _outcome(message: _Message, reply: Callable[[], str] | smtp.DeliveryError, context: SendContext,
             now: datetime, retries: list[datetime]) -> dict[str, Any]:  # fmt: skip
    """The ledger values of a handed-over message once the relay's ``reply`` is read, or of one the relay
    refused while it was handed over."""
    row = message.row
    try:
        if isinstance(reply, smtp.DeliveryError):
            raise reply
        text = reply()
    except smtp.DeliveryUncertain as exc:
        if context.resend_uncertain and row.attempts < MAX_ATTEMPTS:
            retry_at = now + timedelta(seconds=BACKOFF[min(row.attempts, len(BACKOFF)) - 1])
            retries.append(retry_at)
            return {"status": DeliveryStatus.QUEUED, "next_attempt_at": retry_at, "reply": str(exc)[:300]}
        return {"status": DeliveryStatus.UNCERTAIN, "reply": UNCERTAIN_REPLY}
    except smtp.DeliveryError as exc:
        values = _after_refusal(row, exc, now)
        if values["status"] is DeliveryStatus.QUEUED:
            retries.append(values["next_attempt_at"])
        elif exc.code is not None and str(exc).startswith(f"{exc.code} 5.1."):
            values["hard_bounce"] = message.reader_id
        return values
    return {"status": DeliveryStatus.SENT, "sent_at": utcnow(), "reply": text[:300],
            "message_id": message.message_id}  # fmt: skip


def _record(session: Session, issue_id: int, pending: list[dict[str, Any]], bounced: list[int],
            unsent: list[int], claim: str, limits: autopause.Limits | None = None) -> bool:  # fmt: skip
    """The chunk's outcomes in one commit (run again by ``_retrying`` while the database is away): one
    UPDATE per shape of row (executemany), not a statement per reader; the hard-bounced readers
    suppressed; the rows never tried back in the queue. True when the hard bounces paused the send
    (``autopause``, the same commit).

    Fenced: a row takes the outcome only while it is still ``sending`` under this claim. A worker that
    was stalled past its lease finds its rows decided by the sweeper (and perhaps sent by another worker
    since) and changes none of them."""
    table = Delivery.__table__
    for shape in {tuple(sorted(values)) for values in pending}:
        columns = [name for name in shape if name != "id"]
        fenced = (
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.claim == claim,
                   table.c.status == DeliveryStatus.SENDING)
            .values({name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns})
        )  # fmt: skip
        rows = [{"row_id": v["id"], **{f"new_{name}": v[name] for name in columns}}
                for v in pending if tuple(sorted(v)) == shape]  # fmt: skip
        session.execute(fenced, rows)
    for subscriber_id in bounced:
        _hard_bounce(session, subscriber_id)
    _release(session, issue_id, unsent, claim)
    # Addresses refused for good count as hard bounces: the send may have to pause (in this commit).
    pause = None
    if bounced:
        pause = autopause.check(session, issue_id, autopause.HARD, limits or autopause.Limits())
    session.commit()
    return pause is not None


def _extend_lease(session: Session, claim: str, lease: timedelta) -> None:
    """A long wait for a rate-limit slot must not let the sweeper take the claim's rows."""
    session.execute(
        update(Delivery)
        .where(Delivery.claim == claim, Delivery.status == DeliveryStatus.SENDING)
        .values(lease_until=database_now(session) + lease)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _hard_bounce(session: Session, subscriber_id: int) -> None:
    """A 5.1.x (no such mailbox): the address is never mailed again."""
    reader = session.get(Subscriber, subscriber_id)
    if reader is not None and reader.status is SubscriberStatus.ACTIVE:
        reader.status = SubscriberStatus.BOUNCED
        addresses.suppress(session, reader.email, SuppressionReason.BOUNCED)
        subscribers.record_event(session, reader, "bounced", via="relay")
