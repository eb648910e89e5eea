"""Send control: start a send, pause, resume, cancel, schedule and unschedule it.

Two layers. The state rules (``pause_send``, ``schedule_send``, ...) are plain functions in the caller's
transaction. The orchestration (:func:`start_send`, :func:`start_scheduled`, :func:`change_send`,
:func:`schedule`, :func:`unschedule`) is written once and called by the staff pages, the CLI and the clock
alike: it commits first and queues second, so that a Redis outage leaves the database right and the
clock's sweep queues the waiting rows once Redis is back. Each writes its audit entry in the transaction it
commits: an action refused or rolled back leaves none.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.platform import audit, queues
from newsletter.sending import autopause, gate
from newsletter.sending.ledger import (
    PreparedSend,
    SendError,
    batch_ranges,
    check_sendable,
    click_options,
    finish_if_done,
    prepare_send,
)
from newsletter.sending.models import Delivery, DeliveryStatus

log = logging.getLogger(__name__)

# -- the state rules ------------------------------------------------------------------------------------


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
    autopause.resumed(session, issue.id)
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


def schedule_send(
    session: Session, issue: Issue, when: datetime, *, now: datetime | None = None, config: Any = None
) -> None:
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
    check_sendable(issue, config)
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
    base_url: str | None = None, config: Any = None,
) -> PreparedSend | None:  # fmt: skip
    """Start a scheduled issue whose time has come (the scheduler's job and the clock's sweep both call
    this; the second finds the issue sending and adds nothing). The caller commits and queues."""
    now = now or utcnow()
    issue = session.get(Issue, issue_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if issue is None or issue.state is not IssueState.SCHEDULED:
        return None
    if issue.scheduled_at is None or issue.scheduled_at > now:
        return None  # moved to a later time: that time's job fires it
    return prepare_send(session, issue, now=now, count_clicks=count_clicks, base_url=base_url, config=config)


# -- queueing ---------------------------------------------------------------------------------------------


def queue_batches(issue_id: int, batches: Iterable[tuple[int, int]]) -> int:
    """One ``mail`` job per batch, in one round trip, with deterministic ids: queueing a batch again while
    its job waits adds nothing new to do (the claim sends each row once)."""
    calls = [((issue_id, a, b), queues.send_batch_id(issue_id, a, b)) for a, b in batches]
    queues.enqueue_many(queues.SEND_BATCH, calls)
    return len(calls)


def queue_batch_at(issue_id: int, first: int, last: int, when: datetime) -> None:
    """The batch again at ``when``: its rows wait for a retry after a temporary refusal."""
    job_id = queues.later_id(queues.send_batch_id(issue_id, first, last), when)
    queues.enqueue(queues.SEND_BATCH, issue_id, first, last, job_id=job_id, at=when)


def signal_send(issue_id: int, word: str | None) -> bool:
    """Tell the workers at once that an issue was paused or cancelled (or clear it on resume). Only a
    shortcut: the database already says so, and workers read it at their next chunk."""
    try:
        gate.set_control(queues.get_redis(), issue_id, word)
    except redis.RedisError:
        return False
    return True


# -- orchestration: commit, then queue ------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    added: int  # readers whose ledger row was written now
    batches: int  # batch jobs queued (0 when Redis was unreachable: the clock's sweep queues them later)
    queued: bool


def _queue(prepared: PreparedSend) -> Started:
    try:
        batches = queue_batches(prepared.issue_id, prepared.batches)
    except redis.RedisError:
        return Started(prepared.added, 0, False)
    return Started(prepared.added, batches, True)


def start_send(session: Session, issue: Issue, config: Any, *, actor: Any = None) -> Started:
    """Send now: every eligible reader's ledger row is written and committed, then the batches are queued.
    Raises :class:`SendError` (nothing written) when the issue cannot be sent. ``actor``: who the audit
    entry names (None: whoever acts now; ``audit.SYSTEM`` for an automatic digest)."""
    try:
        prepared = prepare_send(session, issue, config=config, **click_options(config))
        audit.record(session, "issue.send", actor=actor, target=issue,
                     detail={"readers_added": prepared.added})  # fmt: skip
        session.commit()
    except SendError:
        session.rollback()
        raise
    return _queue(prepared)


def start_scheduled(
    session: Session, issue_id: int, config: Any, *, now: datetime | None = None
) -> Started | None:
    """Start a scheduled issue whose time has come; None when there is nothing to start (see
    :func:`fire_scheduled`). An issue that can no longer be sent (its sender stopped aligning with the
    DKIM or bounce domain since it was scheduled) goes back to draft with an ``issue.schedule_failed``
    audit entry and an error in the log, and the issue page says why it cannot be sent."""
    try:
        prepared = fire_scheduled(session, issue_id, now=now, config=config, **click_options(config))
    except SendError as exc:
        session.rollback()
        _fail_scheduled(session, issue_id, str(exc))
        return None
    if prepared is not None:  # who scheduled it is the issue.schedule entry's actor
        audit.record(session, "issue.send", actor=audit.SYSTEM, target=("issue", issue_id),
                     detail={"scheduled": True, "readers_added": prepared.added})  # fmt: skip
    session.commit()
    return None if prepared is None else _queue(prepared)


def _fail_scheduled(session: Session, issue_id: int, reason: str) -> None:
    issue = session.get(Issue, issue_id)
    if issue is None or issue.state is not IssueState.SCHEDULED:
        return
    issue.state, issue.scheduled_at = IssueState.DRAFT, None
    audit.record(
        session, "issue.schedule_failed", actor=audit.SYSTEM, target=issue, detail={"reason": reason}
    )
    session.commit()
    log.error("scheduled issue %s was not sent and is a draft again: %s", issue_id, reason)


CHANGES = {"pause": (pause_send, "pause"), "resume": (resume_send, None), "cancel": (cancel_send, "cancel")}


def change_send(session: Session, issue: Issue, action: str) -> bool:
    """Pause, resume or cancel (``action``): the change is committed, the workers are told, and a resumed
    send's waiting rows are queued again. Raises :class:`SendError` (nothing changed) when the issue is not
    in a state for it. Returns False when the queue was unreachable (the clock's sweep queues them later)."""
    change, word = CHANGES[action]
    try:
        result = change(session, issue)
        detail = {"rows_cancelled": result} if action == "cancel" else {}
        audit.record(session, f"issue.{action}", target=issue, detail=detail)
        session.commit()
    except SendError:
        session.rollback()
        raise
    signal_send(issue.id, word)
    queued = True
    if isinstance(result, PreparedSend):
        queued = _queue(result).queued
        finish_if_done(session, issue.id)  # resumed with nothing left to send: it is sent
    return queued


def schedule(session: Session, issue: Issue, when: datetime, config: Any = None) -> None:
    """Schedule the issue for ``when`` and commit, then put its job on RQ's scheduler. Without Redis the
    clock's sweep starts it on time all the same (the database is the truth)."""
    try:
        schedule_send(session, issue, when, config=config)
        at = issue.scheduled_at.isoformat()
        audit.record(session, "issue.schedule", target=issue, detail={"send_at": at})
        session.commit()
    except SendError:
        session.rollback()
        raise
    with contextlib.suppress(redis.RedisError):
        queues.enqueue(queues.SCHEDULED_ISSUE, issue.id, job_id=queues.scheduled_issue_id(issue.id, when),
                       at=issue.scheduled_at)  # fmt: skip


def unschedule(session: Session, issue: Issue) -> None:
    """Back to draft, committed; the scheduler's job finds nothing to do when it fires."""
    try:
        unschedule_send(session, issue)
        audit.record(session, "issue.unschedule", target=issue)
        session.commit()
    except SendError:
        session.rollback()
        raise
